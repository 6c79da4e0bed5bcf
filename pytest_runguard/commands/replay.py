"""``runguard replay FILE...``: rerun scenario files and check them.

Each file's run is redone from its config, world, seed, agent and ceilings;
the command reports the outcome and exits 0 when every file reproduced its
recorded outcome and ledger digest, 1 when one did not.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "files",
        nargs="+",
        type=Path,
        metavar="FILE",
        help="scenario files (.toml) written by a sweep or a property test",
    )


def run(args: argparse.Namespace) -> int:
    from pytest_runguard.scenario import load_scenario, replay

    # Agents recorded from a project's modules import as they did under
    # pytest when run from the project's root.
    if "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    status = 0
    for path in args.files:
        result = replay(load_scenario(path))
        print(result.describe())
        if not result.reproduced:
            status = 1
    return status
