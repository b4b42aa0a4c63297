"""Request model of `POST /api/notifications`."""

from __future__ import annotations

from pydantic import BaseModel, Field, StrictInt, model_validator

from src.core.db import MAX_INTEGER_ID
from src.events.schemas import NotificationAudience, NotificationLevel

# PostgreSQL text cannot hold NUL characters: refuse them here (422) rather than in the
# database (a 500).
NO_NUL = r"^[^\x00]*$"


class NotificationCreate(BaseModel):
    message: str = Field(min_length=1, max_length=2000, pattern=NO_NUL)
    level: NotificationLevel = "info"
    audience: NotificationAudience = "everyone"
    user_id: StrictInt | None = Field(default=None, ge=1, le=MAX_INTEGER_ID)
    """Strict: JSON `true` or `"1"` is refused (422), as the schema's integer says."""

    @model_validator(mode="after")
    def _user_needs_user_id(self) -> NotificationCreate:
        if self.audience == "user" and self.user_id is None:
            raise ValueError("user_id is required when audience is 'user'")
        return self


class NotificationAccepted(BaseModel):
    event_id: int
    audience: NotificationAudience
