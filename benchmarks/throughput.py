"""Sequential inferences per second: simulator vs. the real gateway.

    python benchmarks/throughput.py [--rounds 7] [--seconds 0.5]
                                    [--world FILE] [--provider process|thread]

Measures, in one run, one thread, sequential ``client.inference`` calls:

* the simulator (``Simulation.client()``), for a ``chat_completion`` variant
  and a best-of-5 variant (5 candidates + evaluator = 6 provider calls);
* the real embedded TensorZero gateway in front of ``runguard provider``
  (the world-driven fake provider, in its own process by default), for the
  same two variants;
* a naive baseline: a plain ``http.client`` POST to the same fake provider
  (one keep-alive connection), i.e. one provider round trip with no gateway.

The five paths are measured in turns, ``--seconds`` each, for ``--rounds``
rounds after a warm-up, so a slow spell of a shared machine falls on every
path alike.  Each figure is the median over the rounds; each ratio is the
median of the ratios measured in the same round.
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


def rate(call: Callable[[], Any], seconds: float) -> float:
    """Calls per second over about ``seconds`` of calls, in batches of 20."""
    calls = 0
    start = time.perf_counter()
    while True:
        for _ in range(20):
            call()
        calls += 20
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return calls / elapsed


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
    parser.add_argument(
        "--rounds", type=int, default=7, help="measurements per path (median)"
    )
    parser.add_argument(
        "--seconds", type=float, default=0.5, help="length of one measurement"
    )
    parser.add_argument(
        "--world",
        type=Path,
        help="world file for the simulator and the fake provider (default: "
        "200 output tokens, no latency)",
    )
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
    world_file.write_text(
        WORLD if args.world is None else args.world.read_text(encoding="utf-8"),
        encoding="utf-8",
    )

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

        paths: dict[str, Callable[[], Any]] = {
            "simulator chat_completion": sim_call("chat"),
            "gateway chat_completion": gw_call("chat"),
            "simulator best-of-5": sim_call("bo5"),
            "gateway best-of-5": gw_call("bo5"),
            "baseline HTTP round trip": naive,
        }
        for call in paths.values():
            rate(call, min(0.2, args.seconds))
        rounds: list[dict[str, float]] = [
            {name: rate(call, args.seconds) for name, call in paths.items()}
            for _ in range(args.rounds)
        ]
    finally:
        provider.close()

    from rich.console import Console
    from rich.table import Table

    figures = {name: statistics.median(r[name] for r in rounds) for name in rounds[0]}

    def ratio(top: str, bottom: str) -> float:
        return statistics.median(r[top] / r[bottom] for r in rounds)

    table = Table(
        title=f"sequential inferences/s (median of {args.rounds} rounds "
        f"of {args.seconds:g} s)"
    )
    table.add_column("path")
    table.add_column("inferences/s", justify="right")
    for name, value in figures.items():
        table.add_row(name, f"{value:,.0f}")
    console = Console()
    console.print(table)
    chat_ratio = ratio("simulator chat_completion", "gateway chat_completion")
    bo5_ratio = ratio("simulator best-of-5", "gateway best-of-5")
    gw_vs_base = ratio("gateway chat_completion", "baseline HTTP round trip")
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
