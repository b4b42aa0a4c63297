"""The grouped writes' own statements (`src/events/grouped_writes.py`) bind their parameters
as SQLAlchemy would: the same text for every time, by a cheaper path, and one INSERT for all
of an event's rooms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.dialects import sqlite

from src.core.db import sqlite_utc_text
from src.events.grouped_writes import Compiled, utc_text
from src.events.log import _EVENTS
from src.memory_logs.service import _INSERT_IF_HOLDER

TIMES = [
    datetime(2026, 12, 7, 18, 6, 16, 123456, tzinfo=UTC),
    datetime(2026, 12, 7, 18, 6, 16, tzinfo=UTC),  # no microseconds: still six digits
    datetime(2026, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=5, minutes=30))),  # day before
    datetime(2026, 12, 31, 20, 0, 0, 1, tzinfo=timezone(timedelta(hours=-8))),  # year after
    datetime(2026, 6, 1, 12, 0),  # naive: taken as UTC
    datetime(1, 1, 1, tzinfo=UTC),
    datetime(999, 3, 4, 5, 6, 7, 8),  # a year of three digits: padded to four
]


@pytest.fixture(scope="module")
def compiled() -> Compiled:
    return Compiled.of(_INSERT_IF_HOLDER, sqlite.dialect())


def test_times_bind_through_the_one_call_path(compiled: Compiled) -> None:
    processors = dict(compiled.binds)
    assert processors["created_at"] is utc_text
    assert processors["updated_at"] is utc_text


@pytest.mark.parametrize("when", TIMES, ids=str)
def test_a_time_binds_as_sqlalchemys_processor_binds_it(when: datetime) -> None:
    statement = _INSERT_IF_HOLDER.compile(dialect=sqlite.dialect())
    sqlalchemy_process = statement._bind_processors["created_at"]
    assert sqlite_utc_text(when) == sqlalchemy_process(when)
    assert utc_text(when) == sqlalchemy_process(when)
    assert utc_text(when) == sqlalchemy_process(when)  # the same time again: kept text


def test_times_given_in_turn_each_bind_as_themselves() -> None:
    """The text kept for the last time is only given for that very object."""
    equal_but_other = datetime(2026, 12, 7, 18, 6, 16, 123456, tzinfo=UTC)
    for when in [*TIMES, *reversed(TIMES), equal_but_other, TIMES[1], None, TIMES[1]]:
        assert utc_text(when) == sqlite_utc_text(when)


def test_times_of_one_second_and_the_next_bind_as_themselves() -> None:
    """The text kept for a second is only used within that very second, whatever the zone."""
    start = datetime(2026, 12, 31, 23, 59, 58, tzinfo=UTC)
    odd_zone = timezone(timedelta(hours=1, seconds=1, microseconds=1))
    times = [start + timedelta(microseconds=step * 250_001) for step in range(16)]
    times += [when.astimezone(odd_zone) for when in times] + [t.replace(tzinfo=None) for t in times]
    for when in times:
        assert utc_text(when) == sqlite_utc_text(when), when


def test_event_data_binds_as_sqlalchemys_json_processor_binds_it() -> None:
    from sqlalchemy import insert

    statement = insert(_EVENTS).compile(
        dialect=sqlite.dialect(), column_keys=["event_type", "data", "emitted_at"]
    )
    compiled = Compiled.of(insert(_EVENTS), sqlite.dialect(), ["event_type", "data", "emitted_at"])
    data = {"message": 'é ✓ \u2028 "quoted"', "n": [1, 2.5, None, True], "nested": {"a": ""}}
    params = {"event_type": "notification", "data": data, "emitted_at": TIMES[0]}
    processors = statement._bind_processors
    expected = [
        processors[name](params[name]) if name in processors else params[name]
        for name in statement.positiontup or ()
    ]
    assert compiled.args(params) == expected


def test_the_arguments_are_sqlalchemys(compiled: Compiled) -> None:
    statement = _INSERT_IF_HOLDER.compile(dialect=sqlite.dialect())
    processors = statement._bind_processors
    params = {
        "holder_id": 7,
        "holder_jti": "j",
        "content": "c",
        "created_at": TIMES[2],
        "updated_at": TIMES[3],
    }
    expected = [
        processors[name](params[name]) if name in processors else params[name]
        for name in statement.positiontup or ()
    ]
    assert compiled.args(params) == expected
