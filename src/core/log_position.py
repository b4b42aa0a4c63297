"""What a list route answers besides its list: the event-log position it was read at.

A leaf module (no imports of the app), so that item schemas can use `PositionedList`;
`src/api/snapshot.py` reads the position.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

POSITION_HEADER = "X-Log-Position"
POSITION_DESCRIPTION = (
    "the event-log position the list was read at: the highest event id whose effect the list "
    "includes (events with a greater id are not in it); subscribe with `since` set to it"
)

POSITIONED: dict[int | str, dict[str, Any]] = {
    200: {
        "headers": {
            POSITION_HEADER: {"description": POSITION_DESCRIPTION, "schema": {"type": "integer"}}
        }
    }
}
"""The `responses=` entry of every list route: its 200 carries `X-Log-Position`."""


class PositionedList(BaseModel):
    """The body of a list route: its own fields, and the position it was read at."""

    position: int = Field(description=POSITION_DESCRIPTION, ge=0)
