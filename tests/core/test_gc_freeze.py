"""`StartupFreeze`: what is alive at the first start leaves the collector's reach (garbage is
not frozen with it), the young threshold is raised, and the last stop undoes both."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from src.core.gc_freeze import StartupFreeze


class _Node:
    """A cyclic object a weak reference can watch."""

    def __init__(self) -> None:
        self.me = self


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_the_first_start_freezes_the_last_stop_unfreezes(unfrozen: None) -> None:
    freeze = StartupFreeze()
    kept = _Node()
    freeze.start()
    assert freeze.frozen > 0 and gc.get_freeze_count() == freeze.frozen
    frozen = freeze.frozen
    freeze.start()  # a second app in the same process: nothing more is frozen
    assert freeze.frozen == frozen
    freeze.stop()
    assert freeze.frozen == frozen  # one app still runs
    freeze.stop()
    assert freeze.frozen == 0
    assert kept.me is kept


def test_garbage_cycles_are_collected_before_the_freeze(unfrozen: None) -> None:
    garbage = _Node()
    watch = weakref.ref(garbage)
    del garbage
    freeze = StartupFreeze()
    freeze.start()
    try:
        assert watch() is None  # collected, not frozen with the live objects
    finally:
        freeze.stop()


def test_a_frozen_cycle_is_collectable_again_after_the_last_stop(unfrozen: None) -> None:
    freeze = StartupFreeze()
    alive = _Node()
    watch = weakref.ref(alive)
    freeze.start()
    del alive  # garbage now, but frozen: the collector does not see it
    gc.collect()
    assert watch() is not None
    freeze.stop()
    gc.collect()
    assert watch() is None


def test_the_young_and_middle_thresholds_are_raised_while_started_and_restored_after(
    unfrozen: None,
) -> None:
    before = gc.get_threshold()
    freeze = StartupFreeze(young=before[0] + 1000, middle=before[1] + 40)
    freeze.start()
    try:
        assert gc.get_threshold() == (before[0] + 1000, before[1] + 40, before[2])
    finally:
        freeze.stop()
    assert gc.get_threshold() == before


def test_the_defaults_raise_the_middle_threshold_to_50(unfrozen: None) -> None:
    before = gc.get_threshold()
    freeze = StartupFreeze()
    freeze.start()
    try:
        assert gc.get_threshold()[1] == max(50, before[1])
    finally:
        freeze.stop()
    assert gc.get_threshold() == before


def test_a_threshold_set_by_someone_else_meanwhile_is_left_alone(unfrozen: None) -> None:
    before = gc.get_threshold()
    freeze = StartupFreeze(young=before[0] + 1000)
    freeze.start()
    try:
        gc.set_threshold(before[0] + 5, *before[1:])
        freeze.stop()
        assert gc.get_threshold() == (before[0] + 5, *before[1:])  # the middle one restored
    finally:
        gc.set_threshold(*before)
