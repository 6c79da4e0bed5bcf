"""Sequential inferences per second: simulator vs. the real gateway.

    python benchmarks/throughput.py [--calls 2000] [--sim-calls 20000]
                                    [--runs 3] [--provider process|thread]

Measures, in one run, one thread, sequential ``client.inference`` calls:

* the simulator (``Simulation.client()``), for a ``chat_completion`` variant
  and a best-of-5 variant (5 candidates + evaluator = 6 provider calls);
* the real embedded TensorZero gateway in front of ``runguard provider``
  (the world-driven fake provider, in its own process by default), for the
  same two variants;
* a naive baseline: a plain ``http.client`` POST to the same fake provider
  (one keep-alive connection), i.e. one provider round trip with no gateway.

Each figure is the median of ``--runs`` runs after a warm-up.  The ratios
are simulator / gateway for the same variant, and gateway / baseline.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

CONFIG = """
[models.m]
routing = ["p"]

[models.m.providers.p]
type = "openai"
model_name = "gpt-4o-mini"
cost = [
  { pointer = "/usage/prompt_tokens", cost_per_million = 0.15, required = true },
  { pointer = "/usage/completion_tokens", cost_per_million = 0.6, required = true },
]

[functions.f]
type = "chat"

[functions.f.variants.chat]
type = "chat_completion"
model = "m"

[functions.f.variants.bo5]
type = "experimental_best_of_n_sampling"
candidates = ["chat", "chat", "chat", "chat", "chat"]

[functions.f.variants.bo5.evaluator]
model = "m"
"""
WORLD = "[defaults]\nlatency_s = 0\noutput_tokens = 200\n"
INPUT = {
    "system": "You are terse.",
    "messages": [{"role": "user", "content": "Write a haiku about tests."}],
}


def rate(call: Callable[[], Any], calls: int, warmup: int) -> float:
    for _ in range(warmup):
        call()
    start = time.perf_counter()
    for _ in range(calls):
        call()
    return calls / (time.perf_counter() - start)


def median_rate(call: Callable[[], Any], calls: int, runs: int) -> float:
    return statistics.median(rate(call, calls, min(50, calls)) for _ in range(runs))


class Provider:
    """``runguard provider`` in a subprocess, or the fake provider on a thread."""

    def __init__(self, world_file: Path, mode: str) -> None:
        self.proc: subprocess.Popen[str] | None = None
        self.harness: Any = None
        if mode == "process":
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "pytest_runguard.cli",
                    "provider",
                    "--world",
                    str(world_file),
                    "--no-latency",
                ],
                stdout=subprocess.PIPE,
                text=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
            assert self.proc.stdout is not None
            line = self.proc.stdout.readline()
            if "serving on" not in line:
                raise SystemExit(f"runguard provider did not start: {line!r}")
            self.base_url = line.rsplit(" ", 1)[1].strip()
        else:
            from simulator.fakeprovider.gateway import ProviderHarness

            self.harness = ProviderHarness(world_file).start()
            self.base_url = self.harness.base_url

    def close(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        if self.harness is not None:
            self.harness.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000, help="gateway calls per run")
    parser.add_argument(
        "--sim-calls", type=int, default=20000, help="simulator calls per run"
    )
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (median)")
    parser.add_argument(
        "--provider",
        choices=("process", "thread"),
        default="process",
        help="run the fake provider in its own process (default) or a thread",
    )
    args = parser.parse_args()
    os.environ.setdefault("RUST_LOG", "off")

    import tensorzero

    from simulator import Simulation
    from simulator.rewrite import rewrite_config

    workdir = Path(tempfile.mkdtemp(prefix="runguard-bench-"))
    config = workdir / "tensorzero.toml"
    config.write_text(CONFIG, encoding="utf-8")
    world_file = workdir / "world.toml"
    world_file.write_text(WORLD, encoding="utf-8")

    provider = Provider(world_file, args.provider)
    try:
        rewritten = rewrite_config(config, provider.base_url, out_dir=workdir / "gw")
        os.environ.update(rewritten.env)
        gateway = tensorzero.TensorZeroGateway.build_embedded(
            config_file=str(rewritten.path), clickhouse_url=None
        )

        def gw_call(variant: str) -> Callable[[], Any]:
            return lambda: gateway.inference(
                function_name="f", variant_name=variant, input=INPUT
            )

        sim = Simulation.from_config(str(config), world=str(world_file), seed=0)
        client = sim.client()

        def sim_call(variant: str) -> Callable[[], Any]:
            return lambda: client.inference(
                function_name="f", variant_name=variant, input=INPUT
            )

        host, port = provider.base_url.split("//")[1].split("/")[0].split(":")
        conn = http.client.HTTPConnection(host, int(port))
        body = json.dumps(
            {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
        ).encode()

        def naive() -> None:
            conn.request(
                "POST",
                "/v1/chat/completions",
                body=body,
                headers={"Content-Type": "application/json"},
            )
            conn.getresponse().read()

        figures = {
            "simulator chat_completion": median_rate(
                sim_call("chat"), args.sim_calls, args.runs
            ),
            "simulator best-of-5": median_rate(
                sim_call("bo5"), args.sim_calls // 5, args.runs
            ),
            "gateway chat_completion": median_rate(
                gw_call("chat"), args.calls, args.runs
            ),
            "gateway best-of-5": median_rate(
                gw_call("bo5"), args.calls // 4, args.runs
            ),
            "baseline HTTP round trip": median_rate(naive, args.calls, args.runs),
        }
    finally:
        provider.close()

    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"sequential inferences/s (median of {args.runs} runs)")
    table.add_column("path")
    table.add_column("inferences/s", justify="right")
    for name, value in figures.items():
        table.add_row(name, f"{value:,.0f}")
    console = Console()
    console.print(table)
    chat_ratio = (
        figures["simulator chat_completion"] / figures["gateway chat_completion"]
    )
    bo5_ratio = figures["simulator best-of-5"] / figures["gateway best-of-5"]
    gw_vs_base = (
        figures["gateway chat_completion"] / figures["baseline HTTP round trip"]
    )
    console.print(
        f"simulator / gateway, chat_completion: {chat_ratio:,.1f}x (target >= 100x)"
    )
    console.print(
        f"simulator / gateway, best-of-5:       {bo5_ratio:,.1f}x (target >= 50x)"
    )
    console.print(f"gateway / baseline HTTP round trip:   {gw_vs_base:,.2f}x")
    console.print(
        f"runguard provider serves the gateway at "
        f"{figures['gateway chat_completion']:,.0f} inferences/s (target >= 1,000)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
