"""`GcPacing`: after a full collection the next one is held back, and stopping restores the
collector exactly as it was. No timing is asserted: the interval is long, and the release is
the timer's job (`_release` is called directly)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from src.core.gc_pacing import HELD, GcPacing


@pytest.fixture
def thresholds() -> Iterator[tuple[int, int, int]]:
    before = gc.get_threshold()
    yield before
    gc.set_threshold(*before)


def test_a_full_collection_holds_the_next_back_until_released(
    thresholds: tuple[int, int, int],
) -> None:
    pacing = GcPacing(3600.0)
    pacing.start()
    try:
        assert not pacing.holding
        gc.collect(1)  # a young collection changes nothing
        assert not pacing.holding and pacing.full_passes == 0
        gc.collect()
        assert pacing.holding and pacing.full_passes == 1
        assert gc.get_threshold() == (thresholds[0], thresholds[1], HELD)
        assert pacing.last_hold >= 3600.0  # at least the interval
        pacing._release()  # what the timer does after the interval
        assert gc.get_threshold() == thresholds
        assert pacing.full_passes == 1  # no young collection since: no pass was held back
    finally:
        pacing.stop()


def test_the_full_pass_held_back_runs_when_the_hold_ends(
    thresholds: tuple[int, int, int],
) -> None:
    pacing = GcPacing(3600.0)
    pacing.start()
    try:
        gc.collect()
        for _ in range(thresholds[2] + 1):
            gc.collect(1)  # what a busy server's young collections count up
        assert pacing.full_passes == 1 and pacing.holding
        pacing._release()
        assert pacing.full_passes == 2  # the deferred one, now
        assert pacing.holding  # and it holds the next back in turn
    finally:
        pacing.stop()


def test_the_last_stop_restores_the_collector(thresholds: tuple[int, int, int]) -> None:
    pacing = GcPacing(3600.0)
    pacing.start()
    pacing.start()  # a second app in the process
    gc.collect()
    pacing.stop()
    assert pacing.holding  # the other app still paces
    assert pacing._collected in gc.callbacks
    pacing.stop()
    assert gc.get_threshold() == thresholds
    assert pacing._collected not in gc.callbacks
    gc.collect()
    assert gc.get_threshold() == thresholds


def test_an_interval_of_zero_leaves_the_collector_alone(thresholds: tuple[int, int, int]) -> None:
    pacing = GcPacing(0.0)
    pacing.start()
    try:
        gc.collect()
        assert gc.get_threshold() == thresholds and pacing.full_passes == 1
    finally:
        pacing.stop()
