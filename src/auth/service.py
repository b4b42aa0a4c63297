"""Users: registration, login, lookup and status changes."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from src.auth.email_rule import email_address, lookup_form
from src.auth.exceptions import EmailTaken, OwnAccessUnchangeable, PasswordCheckBusy
from src.auth.models import RevokedToken, User
from src.auth.schemas import StatusPublic, Token, UserAccessUpdate
from src.core.clock import utcnow
from src.core.db import MAX_INTEGER_ID
from src.core.security import (
    HashQueueFull,
    TokenClaims,
    create_access_token,
    hash_password_async,
    read_access_token,
    verify_password_async,
)
from src.events.emitters import EventEmitter
from src.events.schemas import UserStatus

_USER_BY_ID = (
    select(User).where(User.id == bindparam("user_id")).execution_options(populate_existing=True)
)
"""Built once: cheaper than `session.get` (which builds its query on every call)."""
_USER_EXISTS = select(User.id).where(User.id == bindparam("user_id"))
_TOKEN_HOLDER = (
    select(User)
    .where(
        User.id == bindparam("user_id"),
        User.is_active.is_(True),
        ~exists().where(RevokedToken.jti == bindparam("jti")),
    )
    .execution_options(populate_existing=True)
)
"""The user a token names unless the token was revoked or the user disabled: one query per
authenticated request
(a NULL `jti`, from a token signed before tokens had one, matches no revocation)."""


async def get_user(session: AsyncSession, user_id: int) -> User | None:
    """The user with this id, read from the database (never only from the session)."""
    result = await session.execute(_USER_BY_ID, {"user_id": user_id})
    return result.scalar_one_or_none()


async def user_exists(session: AsyncSession, user_id: int) -> bool:
    """Whether user `user_id` is in the database (a Core read: no ORM object to build)."""
    connection = await session.connection()
    found = await connection.execute(_USER_EXISTS, {"user_id": user_id})
    return found.first() is not None


async def get_user_by_email(session: AsyncSession, email: str) -> User | None:
    if "\x00" in email:  # no stored email has one, and PostgreSQL refuses NUL in a query
        return None
    return await session.scalar(select(User).where(User.email == lookup_form(email)))


async def create_user(
    session: AsyncSession,
    *,
    email: str,
    password: str,
    display_name: str | None = None,
    is_admin: bool = False,
    hash_queue: int | None = None,
) -> User:
    """Create and commit a user; raises `EmailTaken` when the email is in use, and
    `InvalidEmail` when the email rule (`src/auth/email_rule.py`) refuses it, and
    `PasswordCheckBusy` when `hash_queue` hashes are waiting already."""
    address = email_address(email)
    try:
        hashed_password = await hash_password_async(password, queue_limit=hash_queue)
    except HashQueueFull:
        raise PasswordCheckBusy() from None
    user = User(
        email=address,
        hashed_password=hashed_password,
        display_name=display_name,
        is_admin=is_admin,
    )
    session.add(user)
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise EmailTaken() from None
    return user


async def authenticate(
    session: AsyncSession, *, email: str, password: str, hash_queue: int | None = None
) -> User | None:
    """The user whose email and password match; unknown emails cost a full hash check too.
    `PasswordCheckBusy` when `hash_queue` hashes are waiting already."""
    user = await get_user_by_email(session, email)
    hashed = user.hashed_password if user else None
    try:
        matches = await verify_password_async(password, hashed, queue_limit=hash_queue)
    except HashQueueFull:
        raise PasswordCheckBusy() from None
    return user if matches else None


async def change_access(
    session: AsyncSession, user: User, change: UserAccessUpdate, *, by: User
) -> bool:
    """Apply an admin's change to `user`'s access and commit; True when it was cut down
    (disabled or demoted: their open sockets must be re-checked). `OwnAccessUnchangeable`
    when the admin `by` would disable or demote themselves."""
    cut = (change.is_active is False and user.is_active) or (
        change.is_admin is False and user.is_admin
    )
    if cut and user.id == by.id:
        raise OwnAccessUnchangeable()
    if change.is_active is not None:
        user.is_active = change.is_active
    if change.is_admin is not None:
        user.is_admin = change.is_admin
    await session.commit()
    return bool(cut)


def issue_token(user_id: int, *, secret_key: str, ttl_seconds: int) -> Token:
    """A fresh access token (new `jti`, full lifetime): the body of sign-in and of refresh."""
    token = create_access_token(user_id, secret_key=secret_key, ttl_seconds=ttl_seconds)
    return Token(access_token=token, expires_in=ttl_seconds)


async def set_status(
    session: AsyncSession, emitter: EventEmitter, *, user_id: int, status: UserStatus
) -> StatusPublic:
    """Store a user's status and emit `user_status_changed` in the same transaction."""
    user = await session.get(User, user_id)
    if user is None:
        raise LookupError(f"user {user_id} does not exist")
    user.status = status
    user.status_changed_at = utcnow()
    result = StatusPublic(user_id=user.id, status=status, changed_at=user.status_changed_at)
    await emitter.emit_user_status_changed(result, session=session)
    return result


async def list_online(session: AsyncSession) -> Sequence[User]:
    query = select(User).where(User.status != "offline").order_by(User.id)
    return (await session.scalars(query)).all()


async def admin_ids(session: AsyncSession, user_ids: set[int]) -> set[int]:
    """Those of `user_ids` who are admins now (deleted users are not)."""
    query = select(User.id).where(User.id.in_(user_ids), User.is_admin.is_(True))
    return set((await session.scalars(query)).all())


async def mark_all_offline(session: AsyncSession, emitter: EventEmitter) -> int:
    """At the start of a lone process no one is connected: clear statuses left by a crash."""
    stale = await list_online(session)
    for user in stale:
        await set_status(session, emitter, user_id=user.id, status="offline")
    return len(stale)


async def active_ids(session: AsyncSession, user_ids: set[int]) -> set[int]:
    """Those of `user_ids` still in the database and not disabled (the recheck of sockets)."""
    if not user_ids:
        return set()
    query = select(User.id).where(User.id.in_(user_ids), User.is_active.is_(True))
    return set((await session.scalars(query)).all())


async def holder_of_token(
    session: AsyncSession, token: str | None, *, secret_key: str
) -> tuple[User, TokenClaims] | None:
    """The user a bearer token names, and its claims; None when the token is invalid or
    revoked, or its user was deleted or disabled (the user is read from the database)."""
    claims = read_access_token(token, secret_key=secret_key) if token else None
    user = await user_for_claims(session, claims)
    return None if user is None or claims is None else (user, claims)


async def user_for_claims(session: AsyncSession, claims: TokenClaims | None) -> User | None:
    """The user verified token claims name, read from the database in one query with the
    token's revocation; None when the token was revoked or its user deleted or disabled."""
    if claims is None or not 1 <= claims.user_id <= MAX_INTEGER_ID:
        return None
    result = await session.execute(_TOKEN_HOLDER, {"user_id": claims.user_id, "jti": claims.jti})
    return result.scalar_one_or_none()
