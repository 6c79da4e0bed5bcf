"""Sequential inferences per second: in-process client vs. over HTTP.

    python benchmarks/http_throughput.py [--calls 2000] [--seed 0]

Both paths run the same call sequence on fresh simulations with the same
seed, in one process, one after the other; the HTTP path is the real
``tensorzero`` HTTP client against ``runguard serve``'s server.  The two
ledgers must have the same digest, or the figures are not comparable.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

CONFIG = """
[functions.chat]
type = "chat"

[functions.chat.variants.small]
type = "chat_completion"
model = "openai::gpt-4o-mini"
"""
INPUT = {"messages": [{"role": "user", "content": "Write a haiku about tests."}]}


def _run(client: Any, calls: int) -> float:
    for _ in range(50):  # warm-up, same for both paths
        client.inference(function_name="chat", input=INPUT, dryrun=True)
    start = time.perf_counter()
    for _ in range(calls):
        client.inference(function_name="chat", input=INPUT)
    return calls / (time.perf_counter() - start)


def main() -> int:
    import tensorzero

    from simulator import Simulation
    from simulator.serve import GatewayServer

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as directory:
        config = Path(directory) / "tensorzero.toml"
        config.write_text(CONFIG)
        local = Simulation.from_config(str(config), seed=args.seed)
        local_rate = _run(local.client(), args.calls)
        served = Simulation.from_config(str(config), seed=args.seed)
        with GatewayServer(served) as server:
            client = tensorzero.TensorZeroGateway.build_http(gateway_url=server.url)
            http_rate = _run(client, args.calls)
    same = local.ledger.digest() == served.ledger.digest()
    print(f"calls per path: {args.calls} sequential (after 50 warm-up)")
    print(
        f"in-process: {local_rate:8.0f} inferences/s ({1000 / local_rate:.3f} ms/call)"
    )
    print(f"over HTTP:  {http_rate:8.0f} inferences/s ({1000 / http_rate:.3f} ms/call)")
    print(f"ledger digests equal: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
