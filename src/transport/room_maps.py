"""The namespace's connected-set room and its named rooms, as dicts instead of `bidict`s.

python-socketio keeps every room as a `bidict` (sid <-> eio_sid): two dicts and the bidict,
and each write goes through bidict's duplicate checks and undo records in Python (~4% of a
10,000-client connect burst's samples: every connect enters the connected set, its user's
room and `notifications`). What python-socketio reads of a room (its 5.x `base_manager`):

- the connected set (room `None`): `room[sid]`, `get`, `in`, the inverse `_invm[eio_sid]`
  (`sid_from_eio_sid`) and the `ValueDuplicationError` a second sid for one Engine.IO socket
  raises (`pre_connect`: "already connected"). `ConnectedRoom` keeps that inverse and raises it.
- a named room: `in`, `len`, iteration, `room[sid] = eio_sid`, `del` and `_fwdm` (the
  sid -> eio_sid map `get_participants` copies). `NamedRoom` is that dict. Its eio_sids come
  from the connected set, where each Engine.IO socket has one sid, and a socket leaves every
  room when it leaves the connected set (`RoomIndex.basic_disconnect`), so no two of its sids
  share an eio_sid: the inverse check a `bidict` makes there never fires and is not kept.
"""

from __future__ import annotations

from typing import Any, NoReturn

from bidict import KeyAndValueDuplicationError, ValueDuplicationError


class NamedRoom(dict[str, str]):
    """A room other than the connected set and a socket's own: sid -> eio_sid."""

    __slots__ = ()

    @property
    def _fwdm(self) -> dict[str, str]:
        """The room itself, as python-socketio reads a bidict's forward map."""
        return self


class ConnectedRoom(dict[str, str]):
    """The namespace's connected sockets, sid -> eio_sid, with the inverse kept beside it.

    Written as a `bidict` with its default duplicate policy: a known sid takes the new
    eio_sid (the old one's inverse goes), an eio_sid another sid holds is refused.
    """

    __slots__ = ("_invm",)

    def __init__(self) -> None:
        super().__init__()
        self._invm: dict[str, str] = {}
        """eio_sid -> sid."""

    @property
    def _fwdm(self) -> dict[str, str]:
        return self

    def __setitem__(self, sid: str, eio_sid: str) -> None:
        owner = self._invm.get(eio_sid)
        if owner is not None and owner != sid:
            if sid in self:
                raise KeyAndValueDuplicationError(sid, eio_sid)
            raise ValueDuplicationError(eio_sid)
        old = self.get(sid)
        if old is not None and old != eio_sid:
            del self._invm[old]
        dict.__setitem__(self, sid, eio_sid)
        self._invm[eio_sid] = sid

    def __delitem__(self, sid: str) -> None:
        eio_sid = self[sid]
        dict.__delitem__(self, sid)
        del self._invm[eio_sid]

    def _unsupported(self, *_args: Any, **_kwargs: Any) -> NoReturn:
        """Writes python-socketio never makes, refused rather than let the inverse drift."""
        raise TypeError("the connected set is written item by item")

    pop = popitem = clear = update = setdefault = __ior__ = _unsupported
