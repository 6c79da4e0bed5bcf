from __future__ import annotations

import asyncio
import time

from simulator.clock import VirtualClock


def test_clock_moves_only_when_told() -> None:
    clock = VirtualClock()
    assert clock.monotonic() == 0.0
    clock.sleep(2.5)
    assert clock.monotonic() == 2.5
    assert clock.time() == clock.epoch + 2.5
    clock.advance_to(1.0)
    assert clock.now == 2.5


def test_patch_routes_time_functions_and_restores_them() -> None:
    clock = VirtualClock()
    real_sleep = time.sleep
    with clock.patch():
        start = time.monotonic()
        time.sleep(30)
        assert time.monotonic() - start == 30
        assert time.time() == clock.epoch + 30

        async def agent() -> float:
            await asyncio.sleep(5)
            return time.monotonic()

        assert asyncio.run(agent()) == 35
    assert time.sleep is real_sleep
    assert clock.now == 35
