"""Request and response models of the auth routes."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from src.auth.email_rule import EmailAddress
from src.events.schemas import UserStatus, UTCTimestamp

# PostgreSQL text cannot hold NUL characters: refuse them here (422) rather than in the
# database (a 500).
NO_NUL = r"^[^\x00]*$"


class UserCreate(BaseModel):
    email: EmailAddress
    password: str = Field(min_length=8, max_length=128)
    display_name: str | None = Field(default=None, max_length=100, pattern=NO_NUL)


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    display_name: str | None
    is_admin: bool
    is_active: bool
    created_at: UTCTimestamp


class UserAccessUpdate(BaseModel):
    """An admin's change to a user's access: only the fields given change. Strict booleans:
    pydantic's lax `bool` would read `1` or `"yes"` as true, which the schema's boolean refuses."""

    model_config = ConfigDict(extra="forbid")

    is_active: StrictBool | None = Field(
        default=None, description="false disables the user: no sign-in, every token refused"
    )
    is_admin: StrictBool | None = Field(default=None, description="grant or withdraw admin rights")


class Token(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class StatusUpdate(BaseModel):
    status: UserStatus


class StatusPublic(BaseModel):
    user_id: int
    status: UserStatus
    changed_at: UTCTimestamp


class PresencePublic(BaseModel):
    """A user and their current status, for the admin's who-is-online view."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    display_name: str | None
    status: UserStatus
    status_changed_at: UTCTimestamp
