"""Request model of `POST /api/notifications`."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, Field, model_validator

from src.core.db import MAX_INTEGER_ID
from src.events.schemas import NotificationAudience, NotificationLevel

# PostgreSQL text cannot hold NUL characters: refuse them here (422) rather than in the
# database (a 500).
NO_NUL = r"^[^\x00]*$"


def _a_json_number(value: Any) -> Any:
    """Pydantic's lax `int` reads JSON `true` and `"1"` as 1; the schema's integer takes
    neither (an integral number such as `2.0` it does take, and so does `int`)."""
    if isinstance(value, bool | str):
        raise ValueError("must be an integer")
    return value


UserId = Annotated[int, Field(ge=1, le=MAX_INTEGER_ID), BeforeValidator(_a_json_number)]


class NotificationCreate(BaseModel):
    message: str = Field(min_length=1, max_length=2000, pattern=NO_NUL)
    level: NotificationLevel = "info"
    audience: NotificationAudience = "everyone"
    user_id: UserId | None = None

    @model_validator(mode="after")
    def _user_needs_user_id(self) -> NotificationCreate:
        if self.audience == "user" and self.user_id is None:
            raise ValueError("user_id is required when audience is 'user'")
        return self


class NotificationAccepted(BaseModel):
    event_id: int
    audience: NotificationAudience
