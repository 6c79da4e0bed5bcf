"""The simulated gateway behind a URL.

Agent code that builds its own client from a URL
(``TensorZeroGateway.build_http(gateway_url=...)``, or the OpenAI SDK pointed
at ``<url>/openai/v1``) talks to :class:`GatewayServer`, which answers the
gateway's HTTP API (``/inference``, ``/feedback``, ``/health``, ``/status``,
``/openai/v1/chat/completions``) from a ``Simulation``::

    with GatewayServer(sim) as server:
        client = TensorZeroGateway.build_http(gateway_url=server.url)
        ...
    sim.ledger.digest()
"""

from __future__ import annotations

from simulator.serve.app import SimulationBackend, build_app, config_hash
from simulator.serve.server import HOST, GatewayServer

__all__ = ["HOST", "GatewayServer", "SimulationBackend", "build_app", "config_hash"]
