"""Wall time of a simulated hour of 429 backoff.

    python benchmarks/virtual_backoff.py [--runs 3]

Eight concurrent workers call a provider limited to 2 requests a minute and
back off exponentially (1 s doubling to 64 s) on every 429, until the
virtual clock reaches one hour.  Nothing sleeps for real: the virtual-time
loop jumps from timer to timer.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "concurrency"))

from backoff_agent import CONFIG, WORLD, agent  # noqa: E402

from simulator import Simulation  # noqa: E402


def once() -> tuple[float, float, int, int]:
    os.environ.setdefault("RUNGUARD_FAKE_OPENAI_KEY", "placeholder")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "tensorzero.toml"
        path.write_text(CONFIG)
        sim = Simulation.from_config(path, world=WORLD, seed=0)
        start = time.perf_counter()
        sim.run(agent(sim.async_client(), sim))
        wall = time.perf_counter() - start
        return wall, sim.clock.now, sim.ledger.provider_calls, sim.ledger.count_429()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    results = [once() for _ in range(args.runs)]
    wall = statistics.median(r[0] for r in results)
    _, virtual, calls, refused = results[0]
    sys.stdout.write(
        f"simulated {virtual:,.0f} s ({virtual / 3600:.2f} h) of backoff: "
        f"{calls} provider calls, {refused} answered 429; "
        f"wall time {wall * 1000:.0f} ms (median of {args.runs})\n"
    )


if __name__ == "__main__":
    main()
