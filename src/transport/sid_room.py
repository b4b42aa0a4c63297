"""`SidRoom`: a socket's room of its own, as python-socketio's managers read it, in two slots.

python-socketio gives each socket a room named after its sid, holding that socket alone, as a
`bidict` like any room: two dicts and the bidict object, ~0.4 KiB per connection. No other
socket may enter it (`basic_enter_room` refuses), so it never holds more than one pair; this
is that pair, with what python-socketio's managers use of a room: item access, `in`, `len`,
`get`, iteration and the `_fwdm` / `_invm` maps it reads directly.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


class SidRoom:
    """A room of at most one (sid, eio_sid) pair, read like python-socketio's `bidict`."""

    __slots__ = ("_eio_sid", "_sid")

    def __init__(self) -> None:
        self._sid: str | None = None
        self._eio_sid: str | None = None

    def __setitem__(self, sid: str, eio_sid: str) -> None:
        if self._sid is not None and self._sid != sid:
            raise ValueError("a socket's own room holds that socket alone")
        self._sid, self._eio_sid = sid, eio_sid

    def __delitem__(self, sid: str) -> None:
        if self._sid is None or sid != self._sid:
            raise KeyError(sid)
        self._sid = self._eio_sid = None

    def __getitem__(self, sid: str) -> str:
        if self._sid is None or sid != self._sid:
            raise KeyError(sid)
        assert self._eio_sid is not None
        return self._eio_sid

    def get(self, sid: str, default: Any = None) -> Any:
        return self._eio_sid if self._sid is not None and sid == self._sid else default

    def __contains__(self, sid: object) -> bool:
        return self._sid is not None and sid == self._sid

    def __len__(self) -> int:
        return 0 if self._sid is None else 1

    def __iter__(self) -> Iterator[str]:
        return iter(() if self._sid is None else (self._sid,))

    def items(self) -> list[tuple[str, str]]:
        return list(self._fwdm.items())

    @property
    def _fwdm(self) -> dict[str, str]:
        """sid -> eio_sid, a fresh dict (python-socketio copies or reads it)."""
        if self._sid is None or self._eio_sid is None:
            return {}
        return {self._sid: self._eio_sid}

    @property
    def _invm(self) -> dict[str, str]:
        """eio_sid -> sid."""
        if self._sid is None or self._eio_sid is None:
            return {}
        return {self._eio_sid: self._sid}
