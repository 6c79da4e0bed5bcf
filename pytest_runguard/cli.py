"""The ``runguard`` command: a thin layer over the simulator and the plugin.

Each subcommand lives in its own module and is imported only when it runs, so
``runguard check`` does not pay for the HTTP server or the sweep machinery.
A module named here provides ``add_arguments(parser)`` and ``run(args) ->
int``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import warnings
from collections.abc import Sequence
from typing import TextIO

from simulator.errors import ConfigWarning, RunguardError

#: subcommand -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "check": (
        "pytest_runguard.commands.check",
        "load a tensorzero.toml and report calls and cost per inference",
    ),
    "simulate": (
        "pytest_runguard.commands.simulate",
        "run scenarios or sweep an agent against a config",
    ),
    "replay": (
        "pytest_runguard.commands.replay",
        "rerun a scenario file and check its outcome and ledger digest",
    ),
    "provider": (
        "pytest_runguard.commands.provider",
        "serve a simulated OpenAI-compatible provider on 127.0.0.1",
    ),
    "serve": (
        "pytest_runguard.commands.serve",
        "serve the simulated gateway's HTTP API on 127.0.0.1",
    ),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="runguard",
        description="Simulate the TensorZero gateway and check spend ceilings.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module_name, help_text) in COMMANDS.items():
        sub_parser = sub.add_parser(name, help=help_text, description=help_text)
        sub_parser.set_defaults(_module=module_name)
        # Building the parser for --help must not import every command, but
        # a command's own options need its module: import only the one asked.
        if _requested(name):
            importlib.import_module(module_name).add_arguments(sub_parser)
    return parser


def _requested(name: str) -> bool:
    return len(sys.argv) > 1 and sys.argv[1] == name


_python_show_warning = warnings.showwarning


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    # Our own warnings already say where the problem is (file and key), so
    # the Python source line that raised them is noise on a command line.
    if issubclass(category, ConfigWarning):
        print(f"warning: {message}", file=file or sys.stderr)
        return
    _python_show_warning(message, category, filename, lineno, file, line)


def main(argv: Sequence[str] | None = None) -> int:
    if argv is not None:
        sys.argv = ["runguard", *argv]
    parser = build_parser()
    args = parser.parse_args(sys.argv[1:])
    warnings.showwarning = _show_warning
    try:
        module = importlib.import_module(args._module)
        code = int(module.run(args))
        # Flush here, not at exit, so a closed pipe is caught below.
        sys.stdout.flush()
        return code
    except RunguardError as exc:
        # A user's mistake gets one clear line, never a traceback.
        print(exc, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader (``| head``) went away: stop quietly, as Unix tools do.
        # Python flushes stdout again at exit; point it at devnull so that
        # flush cannot raise a second time.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
