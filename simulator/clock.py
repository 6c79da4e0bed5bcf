"""The simulation's virtual clock.

Nothing in the simulator waits for real time: provider latency, retry
backoff and an agent's own ``sleep`` calls all move this clock forward.
``monotonic()`` counts seconds since the simulation started; ``time()`` is
that plus a fixed epoch, so UUIDv7 ids and wall-clock reads are the same in
every run.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time as _time
from collections.abc import Iterator
from typing import Any

from simulator.errors import UsageError

#: Where the virtual wall clock starts unless the world says otherwise.
DEFAULT_EPOCH = dt.datetime(2026, 6, 1, tzinfo=dt.timezone.utc)


class VirtualClock:
    """Seconds that pass only when the simulation says so."""

    __slots__ = ("_epoch", "now", "_patched")

    def __init__(self, epoch: dt.datetime = DEFAULT_EPOCH) -> None:
        if epoch.tzinfo is None:
            epoch = epoch.replace(tzinfo=dt.timezone.utc)
        self._epoch = epoch.timestamp()
        #: seconds since the start of the simulation; the engine moves it
        self.now = 0.0
        self._patched = False

    @property
    def epoch(self) -> float:
        """Unix time at which the simulation starts."""
        return self._epoch

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return self._epoch + self.now

    def time_ns(self) -> int:
        return round((self._epoch + self.now) * 1e9)

    def sleep(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("sleep length must be non-negative")
        self.now += seconds

    def advance_to(self, t: float) -> None:
        """Move to ``t`` if that is later than now (time never runs back)."""
        if t > self.now:
            self.now = t

    @contextlib.contextmanager
    def patch(self) -> Iterator[VirtualClock]:
        """Make ``time.monotonic``/``time.time``/``time.sleep`` and
        ``asyncio.sleep`` read and move this clock while the block runs.

        Inside :meth:`Simulation.run` ``asyncio.sleep`` is already virtual
        (the loop's clock is this one); outside a running loop the patched
        ``asyncio.sleep`` moves the clock and yields once.
        """
        if self._patched:
            raise UsageError(
                "runguard: sim.clock.patch() is already active; nest the agent "
                "inside the one block instead of patching twice"
            )
        saved = (
            _time.monotonic,
            _time.time,
            _time.sleep,
            _time.perf_counter,
            asyncio.sleep,
        )
        real_sleep = asyncio.sleep
        clock = self

        async def virtual_asyncio_sleep(delay: float, result: Any = None) -> Any:
            loop = asyncio.get_running_loop()
            if getattr(loop, "virtual_clock", None) is clock:
                return await real_sleep(delay, result)
            clock.sleep(max(0.0, delay))
            return await real_sleep(0, result)

        self._patched = True
        _time.monotonic = self.monotonic
        _time.time = self.time
        _time.perf_counter = self.monotonic
        _time.sleep = self.sleep  # type: ignore[assignment]
        asyncio.sleep = virtual_asyncio_sleep
        try:
            yield self
        finally:
            (
                _time.monotonic,
                _time.time,
                _time.sleep,
                _time.perf_counter,
                asyncio.sleep,
            ) = saved
            self._patched = False
