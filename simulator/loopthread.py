"""An asyncio event loop on a daemon thread, for the local HTTP servers.

The simulated gateway and the fake provider both serve from a background
thread so that synchronous callers (tests, the real gateway's client) can
talk to them from the main thread.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable


class LoopThread:
    """Runs ``open()`` on a fresh loop, serves until :meth:`stop`, then
    runs ``close()`` on the same loop."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.thread: threading.Thread | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    @property
    def running(self) -> bool:
        return self.thread is not None

    def start(
        self,
        open: Callable[[], Awaitable[None]],
        close: Callable[[], Awaitable[None]],
    ) -> BaseException | None:
        """Start serving; return what ``open()`` raised (the thread has then
        ended and nothing runs), else ``None`` once ``open()`` is done."""
        ready = threading.Event()
        failure: list[BaseException] = []
        loop = asyncio.new_event_loop()

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(open())
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(close())
                loop.close()

        thread = threading.Thread(target=run, name=self.name, daemon=True)
        thread.start()
        ready.wait()
        if failure:
            thread.join()
            return failure[0]
        self.thread, self.loop = thread, loop
        return None

    def stop(self, timeout: float | None = None) -> None:
        """Stop the loop, wait for ``close()`` (up to ``timeout`` seconds)."""
        thread, loop = self.thread, self.loop
        if thread is None or loop is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        self.thread = None
        self.loop = None

    def wait(self) -> None:
        """Block until the loop stops."""
        thread = self.thread
        if thread is not None:
            # A timeout keeps the main thread responsive to KeyboardInterrupt.
            while thread.is_alive():
                thread.join(timeout=0.5)
