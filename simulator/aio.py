"""An asyncio event loop whose clock is the simulation's virtual clock.

When every task is waiting on a timer, the loop does not block: it moves
the virtual clock to the earliest timer and carries on.  Concurrent
simulated episodes (``asyncio.gather``) therefore overlap in virtual time
and a run takes as long as the computation, not the simulated latency.
"""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Coroutine
from typing import Any, TypeVar

from simulator.clock import VirtualClock
from simulator.errors import UsageError

_T = TypeVar("_T")

#: How long (real seconds) the loop waits for real I/O when no timer is
#: pending before deciding the agent waits for something that never comes.
IDLE_LIMIT_S = 30.0


class _VirtualSelector(selectors.DefaultSelector):
    def __init__(self, clock: VirtualClock) -> None:
        super().__init__()
        self._clock = clock

    def select(self, timeout: float | None = None) -> list[Any]:
        events: list[Any] = super().select(0)
        if events or timeout == 0:
            return events
        if timeout is None:
            events = super().select(IDLE_LIMIT_S)
            if not events:
                raise UsageError(
                    "runguard: the agent is waiting for something that never "
                    "happens in the simulation (no timer is pending and no I/O "
                    "arrived); real network calls and threads do not run on "
                    "virtual time"
                )
            return events
        self._clock.advance_to(self._clock.now + timeout)
        return events


class VirtualEventLoop(asyncio.SelectorEventLoop):
    """A selector loop reading :class:`VirtualClock` instead of the host's."""

    def __init__(self, clock: VirtualClock) -> None:
        self.virtual_clock = clock
        super().__init__(selector=_VirtualSelector(clock))

    def time(self) -> float:
        return self.virtual_clock.now


def run(clock: VirtualClock, coro: Coroutine[Any, Any, _T]) -> _T:
    """Run ``coro`` to completion on a fresh virtual-time loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        coro.close()
        raise UsageError(
            "runguard: sim.run() was called from inside a running event loop; "
            "await the agent directly there instead"
        )
    loop = VirtualEventLoop(clock)
    asyncio.set_event_loop(loop)
    try:
        return loop.run_until_complete(coro)
    finally:
        try:
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            asyncio.set_event_loop(None)
            loop.close()
