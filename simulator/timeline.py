"""Running simulated inferences in virtual-time order.

The engine computes an inference as plain synchronous code that knows the
virtual time of every provider attempt.  That is enough while nothing is
shared between inferences, but a rate limit is shared: whether an attempt
at t = 3 s is admitted depends on every attempt before 3 s, whichever
inference or best-of-N candidate sent it.  So when limits are declared the
engine runs each inference (and each candidate of a fan-out) in its own
greenlet, and an attempt first *waits until its start time* on the
simulation's virtual-time event loop.  Attempts are then admitted in
virtual-time order; equal times keep the loop's deterministic order.

Engine code calls :func:`wait_until` and :func:`run_concurrently`; outside a
driven greenlet (no limits, or a direct call in a test) both degrade to the
sequential behaviour.  :func:`drive` runs engine code from a coroutine on
the simulation's loop; :func:`run_blocking` does the same for the sync
client on a private loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import greenlet  # type: ignore[import-untyped]

from simulator.errors import UsageError

_T = TypeVar("_T")

_WAIT = "wait"
_SPAWN = "spawn"


class _Driven(greenlet.greenlet):
    """Engine code whose waits are served by :func:`drive`."""


def wait_until(t: float) -> None:
    """Suspend the current inference until the virtual clock reaches ``t``."""
    current = greenlet.getcurrent()
    if isinstance(current, _Driven):
        current.parent.switch((_WAIT, t))


def run_concurrently(thunks: Sequence[Callable[[], _T]]) -> list[_T]:
    """Run ``thunks`` side by side in virtual time; results in list order.

    The thunks must not raise expected errors (return them instead): one
    failing candidate must not cancel its siblings.
    """
    current = greenlet.getcurrent()
    if isinstance(current, _Driven):
        results: list[_T] = current.parent.switch((_SPAWN, thunks))
        return results
    return [thunk() for thunk in thunks]


async def drive(fn: Callable[[], _T], clock: Any) -> _T:
    """Run ``fn`` in a greenlet, sleeping on the running (virtual-time) loop
    whenever it waits, and return what it returns."""
    task = _Driven(fn)
    message = task.switch()
    while not task.dead:
        kind, argument = message
        if kind == _WAIT:
            delay = argument - clock.now
            if delay > 0:
                await asyncio.sleep(delay)
            message = task.switch()
        else:
            results = await asyncio.gather(*(drive(th, clock) for th in argument))
            message = task.switch(results)
    result: _T = message
    return result


def run_blocking(clock: Any, fn: Callable[[], _T]) -> _T:
    """:func:`drive` for the sync client: a private virtual-time loop that
    lives for one call."""
    if asyncio._get_running_loop() is not None:
        raise UsageError(
            "runguard: with rate limits declared, the sync client cannot be "
            "called from inside a running event loop; use sim.async_client() "
            "and sim.run(agent(...)) instead"
        )
    from simulator.aio import VirtualEventLoop

    loop = VirtualEventLoop(clock)
    try:
        return loop.run_until_complete(drive(fn, clock))
    finally:
        loop.close()
