"""Request and response models of the mental-note routes."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from src.core.log_position import PositionedList
from src.events.schemas import UTCTimestamp

# PostgreSQL text cannot hold NUL characters: refuse them here (422) rather than in the
# database (a 500).
NO_NUL = r"^[^\x00]*$"


class MentalNoteCreate(BaseModel):
    title: str = Field(min_length=1, max_length=200, pattern=NO_NUL)
    content: str = Field(default="", max_length=10000, pattern=NO_NUL)


class MentalNoteUpdate(BaseModel):
    """A partial update: only the fields given change."""

    title: str | None = Field(default=None, min_length=1, max_length=200, pattern=NO_NUL)
    content: str | None = Field(default=None, max_length=10000, pattern=NO_NUL)


class MentalNotePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    user_id: int
    title: str
    content: str
    created_at: UTCTimestamp
    updated_at: UTCTimestamp


class MentalNotesPublic(PositionedList):
    items: list[MentalNotePublic]
    total: int
