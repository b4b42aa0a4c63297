"""The replay records of a client manager (`HoldingManager`): when a socket's last replay
ends, only its own record is looked at (going through every socket's record at each end
made a storm of thousands of replays quadratic), and each record still goes once the live
stream has passed what its replays sent."""

from __future__ import annotations

from src.transport.holding import HoldingManager


class Counting(HoldingManager):
    def __init__(self) -> None:
        super().__init__()
        self.sweeps = 0

    def _forget_passed(self) -> None:
        self.sweeps += 1
        super()._forget_passed()


async def test_each_replay_end_forgets_its_own_record_without_a_sweep_of_all():
    manager = Counting()
    manager.live_through = 10
    sids = [f"s{n}" for n in range(200)]
    for sid in sids:
        manager.hold(sid)
        assert manager.claim(sid, 12 if sid == "s7" else 9, ["r"])  # s7 replayed one not live yet
    for sid in sids:
        await manager.release(sid)
    assert manager.sweeps == 0
    assert list(manager._replays) == ["s7"]  # its id 12 may still come live: kept to drop it
    assert not manager.claim("s7", 12, ["r"])  # a second replay of it skips it
    manager.live_through = 12  # the live stream passed it (`emit` then sweeps)
    manager._forget_passed()
    assert manager._replays == {}
