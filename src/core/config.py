"""Settings read from the environment or `.env`; one object built per app, never at import."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from src.core.settings_errors import SettingsError, describe

_RATE_PATTERN = re.compile(
    r"^\s*(?P<count>\d+)\s*/\s*(?P<seconds>\d+(?:\.\d+)?)?\s*s?\s*(?:burst\s*(?P<burst>\d+))?\s*$"
)
ENGINEIO_HARD_LIMIT = 1024 * 1024
"""A connection whose message exceeds this is closed (docs/contract.md, "Oversized messages")."""
PLACEHOLDER_SECRETS = frozenset({"changethis", "changeme", "secret", "change-me"})
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
RATE_FORM = "COUNT/SECONDSs with an optional 'burst N', e.g. '20/1s' or '20/1s burst 40'"


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
    """Every setting; the README and `.env.example` lists them with their defaults."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    environment: Literal["development", "production"] = "development"
    """First: the check of `secret_key` reads it."""
    database_url: str = "sqlite+aiosqlite:///./data/mindwire.db"
    data_dir: Path = Path("data")
    """Files the service keeps besides the database: the development key (`secret_key`)."""
    redis_url: str | None = None
    redis_channel: str = "mindwire"
    secret_key: str = Field(default="", validate_default=True)
    """Empty in development: `src/core/secret_key.py` uses a key stored in `data_dir`."""
    access_token_ttl_seconds: int = Field(default=3600, gt=0)
    cors_origins: str = "http://127.0.0.1:8000,http://localhost:8000"
    event_retention_seconds: int = Field(default=86400, gt=0)
    socket_rate_limit: str = "20/1s"
    max_message_bytes: int = Field(default=65536, gt=0)
    max_subscriptions_per_socket: int = Field(default=100, gt=0)
    socket_transports: str = "polling,websocket"
    """Engine.IO transports offered; `websocket` alone when workers do not share sessions."""
    max_connections_per_user: int = Field(default=20, gt=0)
    max_attachments_per_message: int = Field(default=10, ge=0)
    """Binary attachments one Socket.IO message may announce; more closes the connection."""
    socket_connect_timeout_seconds: float = Field(default=10.0, gt=0)
    """An Engine.IO session without a completed Socket.IO CONNECT by then is closed."""
    max_pending_connections_per_address: int = Field(default=50, gt=0)
    """Engine.IO sessions one client address may hold open before their Socket.IO CONNECT."""
    admin_recheck_seconds: float = Field(default=10.0, gt=0)
    """How often open sockets are checked again against the database: admin rights, deleted
    users, revoked (signed-out) tokens."""
    token_refresh_grace_seconds: float = Field(default=30.0, ge=0)
    """How long a socket whose access token expired may send `refresh_token` before it closes."""
    socket_fanout: FanoutMode = "direct"
    """How a room event reaches its sockets; `src/transport/fastpath.py` explains the modes."""
    socket_write_buffer_limit: int = Field(default=1024 * 1024, gt=0)
    """Bytes that may wait for one socket (its Engine.IO queue, its WebSocket link, the live
    events held during its replay) before it is closed; a replay waits below half of it."""
    socket_flush_pause_ms: float = Field(default=10.0, ge=0)
    """The most a link flush waits after the previous one, gathering a burst's events into one
    write per socket (`src/transport/hub.py`); 0 writes at the end of every loop pass."""
    socket_drain_timeout_seconds: float = Field(default=20.0, gt=0)
    """How long a replay waits for a socket that reads nothing before closing it."""
    socket_recovery: bool = True
    """Socket.IO Connection State Recovery: `pid` in the CONNECT reply, offsets on room events,
    and resumed sessions (`src/transport/recovery.py`)."""
    socket_gc_freeze: bool = True
    """Once the app has started, `gc.freeze()` (start-up objects leave the collector's scans)
    and the collector's thresholds raised: 10,000 allocations between young collections, 50
    young collections between middle ones (`src/core/gc_freeze.py`: a connect burst's objects
    die young instead of triggering full passes)."""
    socket_gc_full_interval_seconds: float = Field(default=0.0, ge=0)
    """At least this long between two full passes of the cyclic collector, and at least 20
    times the last pass (`gc_pacing.py`: a connect storm otherwise runs one for every quarter
    the heap grows); 0: Python's own pacing."""
    login_rate_limit: str = "10/60s burst 10"
    max_request_body_bytes: int = Field(default=1024 * 1024, gt=0)
    """A REST request body past this is refused with 413 before it is read further (the
    largest valid body, a note with every character escaped as `\\uXXXX`, is ~62 kB)."""
    http_header_timeout_seconds: float = Field(default=10.0, gt=0)
    """An HTTP request line and headers not complete this long after the connection opened
    (or after the previous response) are answered 408 and the connection closed."""
    http_body_timeout_seconds: float = Field(default=30.0, gt=0)
    """A request body not complete this long after its headers is answered 408 and closed."""
    database_pool_size: int = Field(default=5, gt=0)
    """Connections each process keeps open to the database."""
    database_max_overflow: int = Field(default=10, ge=0)
    """Connections opened past `DATABASE_POOL_SIZE` under load, closed when returned."""
    database_pool_timeout_seconds: float = Field(default=10.0, gt=0)
    """How long a request waits for a free connection before it is answered 503."""
    # Throttles (src/core/rate_limit.py, src/auth/throttle.py, src/api/limiters.py).
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

    @field_validator("redis_url", mode="before")
    @classmethod
    def _empty_redis_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator(
        "socket_rate_limit", "login_rate_limit", "register_rate_limit", "write_rate_limit"
    )
    @classmethod
    def _valid_rate_limit(cls, value: str) -> str:
        try:
            parse_rate_limit(value)
        except ValueError:
            raise ValueError(f"expected {RATE_FORM}") from None
        return value

    @field_validator("log_level")
    @classmethod
    def _known_log_level(cls, value: str) -> str:
        if value.upper() not in LOG_LEVELS:
            raise ValueError(f"expected one of {', '.join(LOG_LEVELS)} (any case)")
        return value.upper()

    @field_validator("socket_transports")
    @classmethod
    def _valid_transports(cls, value: str) -> str:
        transports = [name.strip() for name in value.split(",") if name.strip()]
        if not transports or not set(transports) <= {"polling", "websocket"}:
            raise ValueError("expected 'polling', 'websocket' or 'polling,websocket'")
        return ",".join(transports)

    @field_validator("secret_key")
    @classmethod
    def _real_key_in_production(cls, value: str, info: ValidationInfo) -> str:
        """Production signs with a real secret; only development may leave it to us."""
        if info.data.get("environment") == "production" and (
            not value or value.lower() in PLACEHOLDER_SECRETS
        ):
            # The value is echoed in the error: only an empty one or a placeholder gets here.
            raise ValueError(
                "ENVIRONMENT=production needs a real secret, e.g. from "
                "python -c 'import secrets; print(secrets.token_urlsafe(32))'"
            )
        return value

    @property
    def has_placeholder_key(self) -> bool:
        return self.secret_key.lower() in PLACEHOLDER_SECRETS

    @property
    def cors_origin_list(self) -> list[str]:
        return [origin.strip() for origin in self.cors_origins.split(",") if origin.strip()]

    @property
    def transports(self) -> list[str]:
        return self.socket_transports.split(",")

    @property
    def max_inbound_message_bytes(self) -> int:
        """The largest inbound message, binary attachments included: past it the connection
        is closed while the message arrives. 1 MiB, or `MAX_MESSAGE_BYTES` if more.
        Also uvicorn's `ws_max_size`, so a WebSocket frame past it is refused as it arrives."""
        return max(ENGINEIO_HARD_LIMIT, self.max_message_bytes)

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
    """The process's settings, read once; `create_app` takes an explicit object instead.

    Raises `SettingsError` (one line per bad key) rather than pydantic's long report.
    """
    try:
        return Settings()
    except ValidationError as exc:
        raise SettingsError(describe(exc)) from None
