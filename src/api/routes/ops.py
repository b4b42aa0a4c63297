"""Health, readiness and Prometheus metrics."""

from __future__ import annotations

import logging

import redis.asyncio as aioredis
from fastapi import APIRouter, Response, status
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text

from src.api.deps import ServicesDep

router = APIRouter(tags=["operations"])
logger = logging.getLogger("mindwire.ops")


@router.get("/health")
async def health() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/ready", responses={503: {"description": "the database or Redis does not answer"}})
async def ready(services: ServicesDep) -> JSONResponse:
    """200 when the database (and Redis, if configured) answer; 503 otherwise."""
    checks: dict[str, str] = {}
    try:
        async with services.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        logger.warning("readiness: database check failed: %s", exc)
        checks["database"] = "unavailable"
    if services.redis is not None:
        checks["redis"] = await _redis_check(services.redis)
    ready_now = all(value == "ok" for value in checks.values())
    return JSONResponse(
        {"status": "ok" if ready_now else "unavailable", "checks": checks},
        status_code=status.HTTP_200_OK if ready_now else status.HTTP_503_SERVICE_UNAVAILABLE,
    )


async def _redis_check(redis: aioredis.Redis) -> str:
    """A PING on the app's one Redis client (`src/app/backend.py`)."""
    try:
        await redis.ping()
        return "ok"
    except Exception as exc:
        logger.warning("readiness: redis check failed: %s", exc)
        return "unavailable"


@router.get("/metrics", response_class=PlainTextResponse)
async def metrics(services: ServicesDep) -> Response:
    """Prometheus text format."""
    return Response(services.metrics.render(), media_type=CONTENT_TYPE_LATEST)
