"""Reading items that belong to one user: pages, single items, and who may see them.

Memory logs and mental notes share these rules: a user sees only their own items (someone
else's is a 404, so existence is not leaked); an admin sees anyone's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Protocol, TypeVar

from fastapi import Depends, HTTPException, Path, Query, status
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from src.api.deps import CurrentUser
from src.core.db import MAX_INTEGER_ID


class OwnedItem(Protocol):
    id: Any
    user_id: Any


Item = TypeVar("Item", bound=OwnedItem)
MAX_ID = MAX_INTEGER_ID
"""Larger ids are 422, and so is a larger `offset` (the databases refuse past 64 bits)."""
ItemId = Annotated[int, Path(ge=1, le=MAX_ID, description="the item's id")]


class PageQuery:
    """`?limit=50&offset=0&user_id=` of every list route; `user_id` is for admins only."""

    def __init__(
        self,
        user: CurrentUser,
        limit: Annotated[int, Query(ge=1, le=100)] = 50,
        offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
        user_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    ) -> None:
        if user_id is not None and user_id != user.id and not user.is_admin:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, "only admins may list other users' items"
            )
        self.limit = limit
        self.offset = offset
        self.owner_id = user.id if user_id is None else user_id


PageDep = Annotated[PageQuery, Depends()]


async def list_page(
    session: AsyncSession, model: type[Item], page: PageQuery
) -> tuple[Sequence[Item], int]:
    """One page of `page.owner_id`'s items, newest first, and how many there are in all."""
    owner_column: InstrumentedAttribute[int] = model.user_id
    id_column: InstrumentedAttribute[int] = model.id
    total = await session.scalar(
        select(func.count()).select_from(model).where(owner_column == page.owner_id)
    )
    query = (
        select(model)
        .where(owner_column == page.owner_id)
        .order_by(id_column.desc())
        .limit(page.limit)
        .offset(page.offset)
    )
    items = (await session.scalars(query)).all()
    return items, int(total or 0)


async def get_visible(
    session: AsyncSession, model: type[Item], item_id: int, *, user_id: int, is_admin: bool
) -> Item:
    """The item, if it exists and the caller may see it; else a 404 either way."""
    item = await session.get(model, item_id)
    if item is None or (item.user_id != user_id and not is_admin):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"{model.__name__} {item_id} not found")
    return item
