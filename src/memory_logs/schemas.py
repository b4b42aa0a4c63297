"""Request and response models of the memory-log routes."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from src.events.schemas import UTCTimestamp


class MemoryLogCreate(BaseModel):
    content: str = Field(min_length=1, max_length=10000)


class MemoryLogUpdate(BaseModel):
    content: str = Field(min_length=1, max_length=10000)


class MemoryLogPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    user_id: int
    content: str
    created_at: UTCTimestamp
    updated_at: UTCTimestamp


class MemoryLogsPublic(BaseModel):
    items: list[MemoryLogPublic]
    total: int
