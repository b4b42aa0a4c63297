"""Bad settings as one line each (key, value given, what is allowed), not a traceback."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError


class SettingsError(Exception):
    """A setting that cannot be used; `str()` is the line to show, one per bad key."""


def _given(error: Any) -> str:
    value = error.get("input")
    return repr(value) if isinstance(value, str | int | float | bool) else ""


def _allowed(error: Any) -> str:
    """What the value should be: our own validators' words, or pydantic's in lower case."""
    if error["type"] == "value_error":
        return str(error["ctx"]["error"])
    message = str(error["msg"])
    return message[:1].lower() + message[1:]


def describe(exc: ValidationError) -> str:
    """One line per bad key, e.g. `LOG_FORMAT='xml' is not allowed: input should be ...`."""
    lines = []
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"]).upper()
        if not key:  # a rule over several keys: its message names them
            lines.append(f"invalid settings: {_allowed(error)}")
            continue
        given = _given(error)
        shown = f"{key}={given}" if given else key
        lines.append(f"invalid setting {shown}: {_allowed(error)}")
    return "\n".join(lines)
