"""What an error answer may say about a rejected value, for REST (422) and sockets alike.

An answer that echoed input whole would let a client make the server write back megabytes, or
fail to encode a lone surrogate. So strings are cut and made encodable, large or odd numbers
are described, and containers and binary only by their kind.
"""

from __future__ import annotations

import math
from typing import Any

MAX_ECHOED_CHARS = 100


def safe_text(text: str, limit: int = MAX_ECHOED_CHARS) -> str:
    """`text` cut to `limit` characters, lone surrogates replaced (valid UTF-8 on the wire)."""
    return text[:limit].encode("utf-8", "replace").decode("utf-8")


def echo(value: Any, *, keep_empty: bool = False) -> Any:
    """Small scalars as they are, anything else by its kind. With `keep_empty`, an empty list
    or object stays itself (FastAPI's `input` of a JSON decode error is `{}`)."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if abs(value) < 2**63 else f"<integer, {value.bit_length()} bits>"
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return safe_text(value)
    if isinstance(value, bytes | bytearray):
        return f"<binary, {len(value)} bytes>"
    if isinstance(value, dict):
        return {} if keep_empty and not value else "<object>"
    if isinstance(value, list | tuple):
        return [] if keep_empty and not value else "<list>"
    return f"<{type(value).__name__}>"
