"""Settings read from the environment or `.env`; one object built per app, never at import."""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from pydantic import Field, PrivateAttr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

logger = logging.getLogger(__name__)

_RATE_PATTERN = re.compile(
    r"^\s*(?P<count>\d+)\s*/\s*(?P<seconds>\d+(?:\.\d+)?)?\s*s?\s*(?:burst\s*(?P<burst>\d+))?\s*$"
)
PLACEHOLDER_SECRETS = frozenset({"changethis", "changeme", "secret", "change-me"})


FanoutMode = Literal["tasks", "sequential", "direct"]
"""`tasks`: python-socketio's own fan-out (a task per recipient). `sequential`: the same queue,
without a task per recipient. `direct`: the fast path (falls back to `sequential`)."""


@dataclass(frozen=True)
class RateLimit:
    """A token bucket: `count` events per `seconds`, with up to `burst` in one go."""

    count: int
    seconds: float
    burst: int

    @property
    def per_second(self) -> float:
        return self.count / self.seconds


def parse_rate_limit(text: str) -> RateLimit:
    """Parse `20/1s`, `20/1s burst 40` or `5/2s`; the burst defaults to twice the count."""
    match = _RATE_PATTERN.match(text)
    if match is None:
        raise ValueError(f"rate limit {text!r} is not of the form '20/1s' or '20/1s burst 40'")
    count = int(match["count"])
    seconds = float(match["seconds"] or 1)
    burst = int(match["burst"]) if match["burst"] else 2 * count
    if count <= 0 or seconds <= 0 or burst <= 0:
        raise ValueError(f"rate limit {text!r} must be positive")
    return RateLimit(count=count, seconds=seconds, burst=burst)


class Settings(BaseSettings):
    """Every key of SPEC §1; `.env.example` lists them with their defaults."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///./data/mindwire.db"
    redis_url: str | None = None
    redis_channel: str = "mindwire"
    secret_key: str = ""
    access_token_ttl_seconds: int = Field(default=3600, gt=0)
    cors_origins: str = "http://127.0.0.1:8000,http://localhost:8000"
    event_retention_seconds: int = Field(default=86400, gt=0)
    socket_rate_limit: str = "20/1s"
    max_message_bytes: int = Field(default=65536, gt=0)
    max_subscriptions_per_socket: int = Field(default=100, gt=0)
    socket_transports: str = "polling,websocket"
    """Engine.IO transports offered; `websocket` alone when workers do not share sessions."""
    max_connections_per_user: int = Field(default=20, gt=0)
    admin_recheck_seconds: float = Field(default=10.0, gt=0)
    """How often the admin rights of connected admins are read again from the database."""
    socket_fanout: FanoutMode = "direct"
    """How a room event reaches its sockets; `src/events/fastpath.py` explains the modes."""
    socket_write_buffer_limit: int = Field(default=1024 * 1024, gt=0)
    """Bytes a slow reader may have waiting in its link before its connection is aborted."""
    socket_gc_freeze: bool = False
    """`gc.freeze()` once the app is built: start-up objects leave the collector's scans."""
    login_rate_limit: str = "10/60s burst 10"
    # Throttles (src/core/rate_limit.py, src/auth/throttle.py, src/core/limiters.py).
    login_known_address_days: float = Field(default=30, gt=0)
    """How long an address that signed in to an account is exempt from its failure limit."""
    register_rate_limit: str = "5/60s burst 5"
    """Registrations per client address."""
    write_rate_limit: str = "20/1s burst 40"
    """REST writes per user (memory logs, mental notes, status, notifications)."""
    max_concurrent_writes_per_user: int = Field(default=4, gt=0)
    """REST writes of one user under way at once, per process."""
    password_hash_queue: int = Field(default=16, gt=0)
    """Password hashes waiting for a thread past which sign-ins and registrations get 503."""
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"
    environment: Literal["development", "production"] = "development"
    _random_secret: bool = PrivateAttr(default=False)

    @field_validator("redis_url", mode="before")
    @classmethod
    def _empty_redis_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator(
        "socket_rate_limit", "login_rate_limit", "register_rate_limit", "write_rate_limit"
    )
    @classmethod
    def _valid_rate_limit(cls, value: str) -> str:
        parse_rate_limit(value)
        return value

    @field_validator("socket_transports")
    @classmethod
    def _valid_transports(cls, value: str) -> str:
        transports = [name.strip() for name in value.split(",") if name.strip()]
        if not transports or not set(transports) <= {"polling", "websocket"}:
            raise ValueError("SOCKET_TRANSPORTS lists 'polling' and/or 'websocket'")
        return ",".join(transports)

    @model_validator(mode="after")
    def _secret_key(self) -> Settings:
        if self.secret_key.lower() in PLACEHOLDER_SECRETS:
            if self.environment == "production":
                raise ValueError("SECRET_KEY is a placeholder: set a real secret in production")
            logger.warning("SECRET_KEY is a placeholder; fine for development only")
        if not self.secret_key:
            if self.environment == "production":
                raise ValueError("SECRET_KEY must be set in production")
            logger.warning(
                "SECRET_KEY is not set: using a random key for this process; "
                "tokens will not survive a restart or work across workers"
            )
            self.secret_key = secrets.token_urlsafe(32)
            self._random_secret = True
        return self

    @property
    def secret_key_from_env(self) -> str | None:
        """The configured key, or None when this process made up a random one."""
        return None if self._random_secret else self.secret_key

    @property
    def cors_origin_list(self) -> list[str]:
        return [origin.strip() for origin in self.cors_origins.split(",") if origin.strip()]

    @property
    def transports(self) -> list[str]:
        return self.socket_transports.split(",")

    @property
    def rate_limit(self) -> RateLimit:
        return parse_rate_limit(self.socket_rate_limit)

    @property
    def login_rate(self) -> RateLimit:
        """`LOGIN_RATE_LIMIT`: sign-in attempts per client address and per email."""
        return parse_rate_limit(self.login_rate_limit)

    @property
    def register_rate(self) -> RateLimit:
        return parse_rate_limit(self.register_rate_limit)

    @property
    def write_rate(self) -> RateLimit:
        return parse_rate_limit(self.write_rate_limit)


@lru_cache
def get_settings() -> Settings:
    """The process's settings, read once; `create_app` takes an explicit object instead."""
    return Settings()
