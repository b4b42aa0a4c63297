"""`own_copy`, `fail_all`: one failure handed to many waiting callers, a copy each.

Grouped work (a shared read, a group of writes) fails once for all its callers. Raising the
same exception object in a thousand tasks would grow its traceback by each of them (and
logging each would cost all of it), so every caller gets a copy without the traceback.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Iterable
from typing import Any


def own_copy(failure: BaseException, what: str) -> BaseException:
    """A copy of `failure` for one caller; `what` failed, said in the `RuntimeError` given
    instead when the exception cannot be rebuilt from its arguments."""
    try:
        return copy.copy(failure).with_traceback(None)
    except Exception:
        return RuntimeError(f"{what} failed: {failure!r}")


def fail_all(waiting: Iterable[asyncio.Future[Any]], failure: BaseException, what: str) -> None:
    """Fail every future of a group whose grouped read or write failed, each with its own
    copy of `failure` (`own_copy`); one already done (a cancelled caller) is left as it is."""
    for done in waiting:
        if not done.done():
            done.set_exception(own_copy(failure, what))
