"""``runguard serve``: the simulated gateway's HTTP API on 127.0.0.1.

    runguard serve --config tensorzero.toml [--world world.toml] [--seed 0]
                   [--port 3000] [--ledger calls.jsonl]

Point agent code at it exactly as at a real gateway:
``TensorZeroGateway.build_http(gateway_url="http://127.0.0.1:3000")`` or the
OpenAI SDK with ``base_url="http://127.0.0.1:3000/openai/v1"``.  On Ctrl-C
the ledger's totals and digest are printed (and written with ``--ledger``).
"""

from __future__ import annotations

import argparse
import glob
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", required=True, help="tensorzero.toml (or a glob) to simulate"
    )
    parser.add_argument(
        "--world", help="world TOML file (default: the built-in default world)"
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="simulation seed (default: 0)"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=3000,
        help="port on 127.0.0.1 (default: 3000, the gateway's; 0 = any free port)",
    )
    parser.add_argument(
        "--ledger", help="on exit, write one JSON line per provider attempt here"
    )


def run(args: argparse.Namespace) -> int:
    from simulator import Simulation
    from simulator.serve import GatewayServer, config_hash

    sim = Simulation.from_config(args.config, world=args.world, seed=args.seed)
    files = sorted(glob.glob(args.config, recursive=True)) or [args.config]
    server = GatewayServer(
        sim,
        port=args.port,
        config_hash=config_hash(p for p in files if Path(p).is_file()),
    )
    server.start()
    print(f"runguard serve: gateway on {server.url} (seed {args.seed})", flush=True)
    print(f"runguard serve: OpenAI base_url {server.openai_base_url}", flush=True)
    try:
        server.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    ledger = sim.ledger
    print(
        f"runguard serve: {len(ledger.inferences)} inferences, "
        f"{ledger.provider_calls} provider calls, billed ${ledger.billed_usd}, "
        f"digest {ledger.digest()}"
    )
    if args.ledger:
        ledger.to_jsonl(args.ledger)
        print(f"runguard serve: ledger written to {args.ledger}")
    for exc in server.internal_errors:
        print(
            f"runguard serve: a request failed inside the simulator: {exc}",
            file=sys.stderr,
        )
    return 1 if server.internal_errors else 0
