"""The inbound size check measures a client event's arguments as compact JSON, binary
attachments by their length, whatever cannot be measured as nothing: as `json.dumps` did."""

from __future__ import annotations

import json
from typing import Any

import pytest

from src.transport.inbound import _binary_size_marker, _encoded_size


@pytest.mark.parametrize(
    "args",
    [
        ({"event_type": "notification_created", "note": "é\u2028"},),
        ("text", 3, 1.5, None, True, [1, {"a": [2, "b"]}]),
        ({"blob": b"\x00" * 40, "more": [bytearray(b"ab")]},),
        ({"nan": float("nan"), "big": 10**30},),
        (),
    ],
)
def test_the_size_is_the_compact_json_length(args: tuple[Any, ...]) -> None:
    expected = sum(
        len(json.dumps(arg, default=_binary_size_marker, separators=(",", ":"))) for arg in args
    )
    assert _encoded_size(args) == expected


def test_attachments_count_by_length_and_the_unmeasurable_as_nothing() -> None:
    assert _encoded_size((b"x" * 100, bytearray(7))) == 107
    assert _encoded_size(({"set": {1, 2}}, "ab")) == len('"ab"')
    circular: list[Any] = []
    circular.append(circular)
    assert _encoded_size((circular,)) == 0
