"""Request and response models of the mental-note routes."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from src.events.schemas import UTCTimestamp


class MentalNoteCreate(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    content: str = Field(default="", max_length=10000)


class MentalNoteUpdate(BaseModel):
    """A partial update: only the fields given change."""

    title: str | None = Field(default=None, min_length=1, max_length=200)
    content: str | None = Field(default=None, max_length=10000)


class MentalNotePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    user_id: int
    title: str
    content: str
    created_at: UTCTimestamp
    updated_at: UTCTimestamp


class MentalNotesPublic(BaseModel):
    items: list[MentalNotePublic]
    total: int
