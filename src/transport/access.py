"""The gateway's part that keeps a socket's access true over time (`AccessChecks`).

A token is checked once, at connect; a socket lives on. Its token expires (`token_expired`,
then closed after a grace unless refreshed in band), and it is closed when its token is
revoked or its user deleted or disabled; an admin who is no longer one loses the admin rooms.
`recheck_admins` and `recheck_access` run every `ADMIN_RECHECK_SECONDS`, and for the users of
an access notice.
"""

from __future__ import annotations

import logging
from datetime import datetime

from src.events.errors import SocketError
from src.events.rooms import Viewer
from src.events.schemas import ErrorCode, ErrorEvent
from src.transport.gateway_state import GatewayState

logger = logging.getLogger("mindwire.events")


class AccessChecks(GatewayState):
    """Token expiry and refresh, sign-outs, deleted or disabled users, withdrawn admin rights."""

    async def recheck_admins(self, only: set[int] | None = None) -> list[str]:
        """Withdraw admin rights from the sockets of users who are no longer admins.

        A token is checked once, at connect; a socket lives on. Each such socket leaves the
        rooms only admins may hold (and moves to its own scope of `memory_logs` and
        `mental_notes`), is told so with an `error` event (`forbidden`), and subscribes from
        then on as the user it now is. `only`: look at these users' sockets alone. Returns the
        sids changed.
        """
        admins = {
            sid: c.viewer.user_id
            for sid, c in self._clients.items()
            if c.viewer.is_admin and (only is None or c.viewer.user_id in only)
        }
        if not admins or self.current_admins is None:
            return []
        still_admins = await self.current_admins(set(admins.values()))
        demoted = [sid for sid, user_id in admins.items() if user_id not in still_admins]
        for sid in demoted:
            await self._withdraw_admin_rights(sid, admins[sid])
        return demoted

    async def _withdraw_admin_rights(self, sid: str, user_id: int) -> None:
        client = self._clients.get(sid)
        if client is None:  # disconnected meanwhile
            return
        viewer = Viewer(user_id, is_admin=False)
        client.viewer = viewer
        left: list[str] = []
        for room in self.service.rooms_of(sid):
            target = self.rooms.reassess(room, viewer)
            if target == room:
                continue
            await self.service.leave_room(sid, room)
            left.append(room)
            if target is not None:
                await self.service.enter_room(sid, target)
        logger.info("user %s is no longer an admin: socket %s left %s", user_id, sid, left)
        error = ErrorEvent(
            code=ErrorCode.FORBIDDEN,
            message="your admin rights were withdrawn: admin-only subscriptions were ended",
            details={"rooms": sorted(left)},
        )
        await self.emitter.emit_error(sid, error)

    @property
    def token_timers(self) -> int:
        """Expiry timers armed: one per open socket, none left behind by a closed one."""
        return len(self._timers)

    async def refresh(self, sid: str, token: str) -> datetime:
        """Swap the socket's token for `token` (`refresh_token`): a new expiry, a new timer.

        Raises `SocketError` (`unauthorized` for a token that is not valid now, `forbidden`
        for another user's) and changes nothing then. Returns the new expiry.
        """
        client = self._clients.get(sid)
        if client is None:
            raise SocketError(ErrorCode.UNAUTHORIZED, "the socket is closing")
        credentials = await self.authenticate(token)
        if credentials is None:
            raise SocketError(ErrorCode.UNAUTHORIZED, "the token is invalid, expired or revoked")
        if credentials.viewer.user_id != client.viewer.user_id:
            raise SocketError(ErrorCode.FORBIDDEN, "the token is another user's")
        if sid not in self._clients:  # closed while the token was checked
            raise SocketError(ErrorCode.UNAUTHORIZED, "the socket is closing")
        client.jti = credentials.jti
        self._timers.start(sid, credentials.expires_at)
        return credentials.expires_at

    def _token_expired(self, sid: str) -> None:
        if sid not in self._clients:
            return
        error = ErrorEvent(
            code=ErrorCode.TOKEN_EXPIRED,
            message="the access token expired: send refresh_token with a new one",
            details={"grace_seconds": self.token_grace_seconds},
        )
        self._spawn(self.emitter.emit_error(sid, error))

    def _token_grace_over(self, sid: str) -> None:
        if sid in self._clients:
            logger.info("socket %s closed: its token expired and was not refreshed", sid)
            self._spawn(self._close(sid))

    async def close_token(self, jti: str) -> int:
        """Close this worker's sockets that hold token `jti` (signed out). Returns how many."""
        sids = [sid for sid, client in self._clients.items() if client.jti == jti]
        for sid in sids:
            await self._close(sid, "the access token was revoked (signed out)")
        return len(sids)

    async def recheck_access(self, only: set[int] | None = None) -> list[str]:
        """Close the sockets whose token was revoked or whose user was deleted or disabled.

        Catches what other workers decided (a sign-out answered by another process) and
        deletions, which no request announces. `only`: look at these users' sockets alone.
        Returns the sids closed.
        """
        holders = {
            sid: (c.viewer.user_id, c.jti)
            for sid, c in self._clients.items()
            if only is None or c.viewer.user_id in only
        }
        if not holders:
            return []
        gone: set[int] = set()
        revoked: set[str] = set()
        if self.existing_users is not None:
            user_ids = {user_id for user_id, _jti in holders.values()}
            gone = user_ids - await self.existing_users(user_ids)
        if self.revoked_tokens is not None:
            jtis = {jti for _user_id, jti in holders.values() if jti is not None}
            revoked = await self.revoked_tokens(jtis)
        closed: list[str] = []
        for sid, (user_id, jti) in holders.items():
            if user_id in gone:
                await self._close(sid, "the user was deleted or disabled")
            elif jti is not None and jti in revoked:
                await self._close(sid, "the access token was revoked (signed out)")
            else:
                continue
            closed.append(sid)
        return closed

    async def _close(self, sid: str, reason: str | None = None) -> None:
        """Tell the socket why (an `unauthorized` error) when there is a reason, then close it."""
        client = self._clients.get(sid)
        if client is None:
            return
        if reason is not None:
            error = ErrorEvent(code=ErrorCode.UNAUTHORIZED, message=reason)
            await self.emitter.emit_error(sid, error)
        try:
            await self.sockets.sio.disconnect(sid)
        except Exception:
            logger.exception("could not close socket %s", sid)
