"""The five memory-log routes; each write emits its `memory_log_*` event after commit."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from src.api.deps import (
    BAD_BODY,
    UNAUTHORIZED,
    EmitterDep,
    Responses,
    SessionDep,
    TokenHolder,
    error,
)
from src.api.limiters import WRITE_LIMIT_RESPONSES, WRITE_LIMITED
from src.api.ownership import PageDep, list_page
from src.api.snapshot import ListSnapshotDep
from src.api.visible import VisibleMemoryLog
from src.auth.exceptions import NotAuthenticated
from src.core.log_position import POSITIONED
from src.core.strict_json import StrictJSONRoute
from src.memory_logs import service
from src.memory_logs.models import MemoryLog
from src.memory_logs.schemas import (
    MemoryLogCreate,
    MemoryLogPublic,
    MemoryLogsPublic,
    MemoryLogUpdate,
)

router = APIRouter(prefix="/api/memory-logs", tags=["memory logs"], route_class=StrictJSONRoute)

JSON = "application/json"
AUTH: Responses = {**UNAUTHORIZED}
WRITE: Responses = {**UNAUTHORIZED, **BAD_BODY, **WRITE_LIMIT_RESPONSES}
FOUND: Responses = {**UNAUTHORIZED, 404: error("no such log, or not yours (the same answer)")}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    dependencies=WRITE_LIMITED,
    response_model=MemoryLogPublic,
    responses=WRITE,
)
async def create_memory_log(
    data: MemoryLogCreate, claims: TokenHolder, session: SessionDep, emitter: EmitterDep
) -> Response:
    # The hot write: the bearer is checked in the INSERT itself (`src/auth/guard.py`, no read
    # of the user first) and the answer is serialised once, straight to JSON. (A comment: a
    # docstring would become the route's OpenAPI description.)
    log = await service.create_memory_log(session, emitter, holder=claims, data=data)
    if log is None:
        raise NotAuthenticated()
    return Response(log.model_dump_json(), status.HTTP_201_CREATED, media_type=JSON)


@router.get(
    "",
    response_model=MemoryLogsPublic,
    responses={
        **AUTH,
        **POSITIONED,
        403: error("`user_id` of someone else, and the caller is not an admin"),
    },
)
async def list_memory_logs(
    page: PageDep, session: SessionDep, snapshot: ListSnapshotDep
) -> MemoryLogsPublic:
    """One page of the owner's items, and the log position it was read at (one snapshot)."""
    items, total = await list_page(session, MemoryLog, page)
    return MemoryLogsPublic(
        items=[MemoryLogPublic.model_validate(i) for i in items],
        total=total,
        position=snapshot.position,
    )


@router.get("/{log_id}", response_model=MemoryLogPublic, responses=FOUND)
async def read_memory_log(log: VisibleMemoryLog) -> MemoryLogPublic:
    return MemoryLogPublic.model_validate(log)


@router.patch(
    "/{log_id}",
    response_model=MemoryLogPublic,
    dependencies=WRITE_LIMITED,
    responses={**FOUND, **BAD_BODY, **WRITE_LIMIT_RESPONSES},
)
async def update_memory_log(
    data: MemoryLogUpdate, log: VisibleMemoryLog, session: SessionDep, emitter: EmitterDep
) -> MemoryLogPublic:
    log = await service.update_memory_log(session, emitter, log=log, data=data)
    return MemoryLogPublic.model_validate(log)


@router.delete(
    "/{log_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=WRITE_LIMITED,
    responses={**FOUND, **WRITE_LIMIT_RESPONSES},
)
async def delete_memory_log(
    log: VisibleMemoryLog, session: SessionDep, emitter: EmitterDep
) -> Response:
    await service.delete_memory_log(session, emitter, log=log)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
