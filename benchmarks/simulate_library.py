"""Wall time of ``runguard simulate`` over the whole shipped library.

    python benchmarks/simulate_library.py [--runs 300] [--budget-s 60]

Runs the command the README's first line runs, in a fresh process, and
prints how long it took; exits 1 when that is over ``--budget-s`` (the
target is one minute on a 2-core machine).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--budget-s", type=float, default=60.0)
    args = parser.parse_args()
    command = [
        sys.executable,
        "-c",
        "import sys; from pytest_runguard.cli import main; sys.exit(main())",
        "simulate",
        "--runs",
        str(args.runs),
    ]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    last = done.stdout.strip().splitlines()[-1:] or ["(no output)"]
    print(
        f"runguard simulate --runs {args.runs}: {elapsed:.1f} s "
        f"(exit {done.returncode})"
    )
    print(last[0])
    return 0 if elapsed <= args.budget_s and done.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
