"""Config load time against the real gateway's build time, on the same file.

    python benchmarks/config_load.py [CONFIG_OR_GLOB ...] [--runs 5]

With no argument it times the largest config of TensorZero's own corpus
(``../shared/corpus/tensorzero/ui/fixtures/config/tensorzero.toml`` beside the
checkout) and the chess-puzzles example.  Each figure is the median of
``--runs`` loads; the gateway is ``TensorZeroGateway.build_embedded`` from the
``tensorzero`` package with placeholder credentials, so a config it refuses
for a missing service is still timed up to that refusal (its verdict is
printed beside the time).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from functools import partial
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "tensorzero"
DEFAULTS = (
    CORPUS / "ui" / "fixtures" / "config" / "tensorzero.toml",
    CORPUS / "examples" / "chess-puzzles" / "config" / "tensorzero.toml",
)
CREDENTIALS = (
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "AZURE_OPENAI_API_KEY",
    "FIREWORKS_API_KEY",
    "GOOGLE_AI_STUDIO_API_KEY",
    "MISTRAL_API_KEY",
    "OPENROUTER_API_KEY",
    "TOGETHER_API_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_REGION",
)


def median_seconds(action: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def build_gateway(path: str) -> str:
    import tensorzero

    try:
        tensorzero.TensorZeroGateway.build_embedded(
            config_file=path, clickhouse_url=None
        )
    except tensorzero.TensorZeroInternalError as exc:
        return "refused: " + str(exc).splitlines()[0][:100]
    return "accepted"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("configs", nargs="*", help="configs or globs to time")
    parser.add_argument("--runs", type=int, default=5, help="loads per figure")
    args = parser.parse_args()
    configs = args.configs or [str(p) for p in DEFAULTS if p.is_file()]
    if not configs:
        parser.error(f"no config given and no corpus at {CORPUS}")
    for name in CREDENTIALS:
        os.environ.setdefault(name, "placeholder")
    os.environ.setdefault("RUST_LOG", "error")
    warnings.simplefilter("ignore")

    from simulator.config import load_config

    for path in configs:
        load_config(path)  # imports and caches warmed before timing
        ours = median_seconds(partial(load_config, path), args.runs)
        verdict = build_gateway(path)
        theirs = median_seconds(partial(build_gateway, path), args.runs)
        print(f"{path}")
        print(f"  runguard load_config   {ours * 1000:8.1f} ms")
        print(f"  gateway build_embedded {theirs * 1000:8.1f} ms  ({verdict})")
        print(f"  ratio runguard/gateway {ours / theirs:8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
