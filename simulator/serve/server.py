"""Run the simulated gateway on 127.0.0.1 in a background thread.

The server owns its own event loop, so a test (sync or async) or the
``runguard serve`` command can start it, talk to it with any HTTP client and
still read ``sim.ledger`` directly: the served simulation is the very object
that was passed in.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from aiohttp import web

from simulator.errors import UsageError
from simulator.loopthread import LoopThread
from simulator.serve.app import SimulationBackend, build_app

__all__ = ["HOST", "GatewayServer"]

#: The simulated gateway never listens beyond the loopback interface.
HOST = "127.0.0.1"


class GatewayServer:
    """The gateway's HTTP API for ``sim``, on ``http://127.0.0.1:<port>``.

    ``port=0`` picks a free port.  Use as a context manager or call
    :meth:`start` / :meth:`stop`.
    """

    def __init__(self, sim: Any, *, port: int = 0, config_hash: str = "") -> None:
        if not 0 <= port <= 65535:
            raise UsageError(
                f"runguard: port {port} is not a TCP port; pass 0 for a free one "
                "or a number from 1 to 65535"
            )
        self.sim = sim
        self.backend = SimulationBackend(sim, config_hash=config_hash)
        self._requested_port = port
        self._port: int | None = None
        self._runner: web.AppRunner | None = None
        self._serving = LoopThread("runguard-gateway")

    @property
    def port(self) -> int:
        if self._port is None:
            raise UsageError(
                "runguard: the gateway server is not running; call start()"
            )
        return self._port

    @property
    def url(self) -> str:
        """The base URL, as ``TensorZeroGateway.build_http(gateway_url=...)``
        takes it."""
        return f"http://{HOST}:{self.port}"

    @property
    def openai_base_url(self) -> str:
        """The ``base_url`` for the OpenAI SDK."""
        return f"{self.url}/openai/v1"

    @property
    def internal_errors(self) -> list[BaseException]:
        """Exceptions (not gateway errors) the simulation raised while
        answering; each request that hit one got a 500."""
        return self.backend.internal_errors

    def start(self) -> str:
        if self._serving.running:
            raise UsageError("runguard: the gateway server is already running")
        failure = self._serving.start(self._open, self._close)
        if failure is not None:
            self.backend.close()
            raise UsageError(
                f"runguard: cannot serve the gateway on {HOST}:"
                f"{self._requested_port}: {failure}; pick another --port "
                "(0 = any free port)"
            ) from failure
        return self.url

    async def _open(self) -> None:
        runner = web.AppRunner(
            build_app(self.backend), access_log=None, handle_signals=False
        )
        await runner.setup()
        site = web.TCPSite(runner, HOST, self._requested_port, reuse_address=True)
        await site.start()
        self._runner = runner
        # aiohttp turns on TCP_NODELAY for every accepted connection, which
        # keeps small request/response pairs from waiting on delayed ACKs.
        self._port = int(runner.addresses[0][1])

    async def _close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def stop(self) -> None:
        if not self._serving.running:
            return
        self._serving.stop()
        self._port = None
        self.backend.close()

    def wait(self) -> None:
        """Block until the server stops (``runguard serve`` runs until Ctrl-C)."""
        self._serving.wait()

    def __enter__(self) -> GatewayServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
