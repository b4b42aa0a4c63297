"""Request and response models of the memory-log routes."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from src.core.log_position import PositionedList
from src.events.schemas import MemoryLogEvent, UTCTimestamp

# PostgreSQL text cannot hold NUL characters: refuse them here (422) rather than in the
# database (a 500).
NO_NUL = r"^[^\x00]*$"


class MemoryLogCreate(BaseModel):
    content: str = Field(min_length=1, max_length=10000, pattern=NO_NUL)


class MemoryLogUpdate(BaseModel):
    content: str = Field(min_length=1, max_length=10000, pattern=NO_NUL)


# A memory log as the API answers it, and (the same object) as its event carries it: an
# instance of the event's own payload model is taken as it is, not validated again. (A
# comment, not a docstring: the OpenAPI schema would show it.)
class MemoryLogPublic(MemoryLogEvent):
    model_config = ConfigDict(from_attributes=True)

    updated_at: UTCTimestamp


class MemoryLogsPublic(PositionedList):
    items: list[MemoryLogPublic]
    total: int
