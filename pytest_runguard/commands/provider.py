"""``runguard provider``: serve a simulated provider for the real gateway.

    runguard provider --world world.toml [--port 8787] [--ledger calls.jsonl]
                      [--config tensorzero.toml [--config-out DIR]]

With ``--config`` it also writes a copy of the team's config whose providers
all point at this server, and prints how to start the gateway on it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--world",
        required=True,
        help="world TOML file the answers come from (tokens, latency, outcomes)",
    )
    parser.add_argument(
        "--port", type=int, default=0, help="port on 127.0.0.1 (default: any free)"
    )
    parser.add_argument(
        "--ledger", help="write one JSON line per provider attempt to this file"
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the world's random draws (0)"
    )
    parser.add_argument(
        "--no-latency",
        action="store_true",
        help="answer at once instead of sleeping each call's simulated latency",
    )
    parser.add_argument(
        "--config",
        help="also write a copy of this tensorzero.toml (or glob) pointed here",
    )
    parser.add_argument(
        "--config-out",
        help="directory for the rewritten config (default: a new temp directory)",
    )


def run(args: argparse.Namespace) -> int:
    from simulator.fakeprovider import FakeProvider
    from simulator.fakeprovider.ledger import JsonlLedger
    from simulator.fakeprovider.worldbehaviour import WorldBehaviour
    from simulator.world import World

    behaviour = WorldBehaviour(World.load(args.world), seed=args.seed)
    ledger = JsonlLedger(args.ledger) if args.ledger else None
    provider = FakeProvider(
        behaviour, port=args.port, real_latency=not args.no_latency, sink=ledger
    )

    async def serve() -> None:
        await provider.start_async()
        print(f"runguard provider: serving on {provider.base_url}", flush=True)
        if args.config:
            from simulator.rewrite import rewrite_config

            rewritten = rewrite_config(
                args.config, provider.base_url, out_dir=args.config_out
            )
            env = " ".join(f"{k}={v}" for k, v in rewritten.env.items())
            print(f"runguard provider: rewritten config {Path(rewritten.path)}")
            print(f"runguard provider: start the gateway with {env}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            # A service manager stops us with SIGTERM; end as cleanly as ^C.
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        try:
            await stop.wait()
        finally:
            await provider.stop_async()

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        pass
    finally:
        if ledger is not None:
            ledger.close()
    return 0
