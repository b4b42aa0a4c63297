"""Errors of the auth domain, as the HTTP errors FastAPI answers with."""

from __future__ import annotations

from fastapi import HTTPException, status


class EmailTaken(HTTPException):
    def __init__(self) -> None:
        super().__init__(status.HTTP_409_CONFLICT, "a user with this email already exists")


class InvalidCredentials(HTTPException):
    def __init__(self) -> None:
        super().__init__(
            status.HTTP_401_UNAUTHORIZED,
            "incorrect email or password",
            headers={"WWW-Authenticate": "Bearer"},
        )


class NotAuthenticated(HTTPException):
    def __init__(self) -> None:
        super().__init__(
            status.HTTP_401_UNAUTHORIZED,
            "not authenticated: a valid bearer token is required",
            headers={"WWW-Authenticate": "Bearer"},
        )


class AdminRequired(HTTPException):
    def __init__(self) -> None:
        super().__init__(status.HTTP_403_FORBIDDEN, "admins only")


class PasswordCheckBusy(HTTPException):
    """`503`: `PASSWORD_HASH_QUEUE` hashes wait already; refused at once, not queued."""

    def __init__(self) -> None:
        super().__init__(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "too many password checks are waiting (PASSWORD_HASH_QUEUE): try again shortly",
            headers={"Retry-After": "1"},
        )


class AccountDisabled(HTTPException):
    """`403` at sign-in: the password is right, but an admin disabled the account."""

    def __init__(self) -> None:
        super().__init__(status.HTTP_403_FORBIDDEN, "this account is disabled")


class UserNotFound(HTTPException):
    def __init__(self) -> None:
        super().__init__(status.HTTP_404_NOT_FOUND, "no such user")


class OwnAccessUnchangeable(HTTPException):
    """`409`: an admin who disabled or demoted themselves could lock every admin out."""

    def __init__(self) -> None:
        super().__init__(
            status.HTTP_409_CONFLICT, "admins cannot disable or demote their own account"
        )
