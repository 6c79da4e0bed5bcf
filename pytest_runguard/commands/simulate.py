"""``runguard simulate [SCENARIO_OR_CONFIG ...]``: sweep scenarios or an agent.

With no argument it sweeps every scenario of the shipped library, each one
unguarded and guarded over the same seeds, and prints a table per scenario.
An argument may be a library scenario's name, a library index (or a folder
holding ``library.toml``), a scenario file, or a ``tensorzero.toml`` to sweep
with ``--agent``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

DEFAULT_RUNS = 300


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "targets",
        nargs="*",
        metavar="SCENARIO_OR_CONFIG",
        help=(
            "library scenario names, scenario files, library.toml indexes or "
            "tensorzero.toml configs (default: the whole shipped library)"
        ),
    )
    parser.add_argument(
        "--runs",
        type=_positive,
        default=DEFAULT_RUNS,
        help=f"runs per agent and scenario (default: {DEFAULT_RUNS})",
    )
    parser.add_argument(
        "--seed",
        type=_non_negative,
        default=0,
        help="base seed; both agents of a scenario get the same run seeds (default: 0)",
    )
    parser.add_argument(
        "--agent",
        metavar="MODULE:FN",
        help=(
            "the agent to sweep a config with: module:function or "
            "path/to/file.py:function"
        ),
    )
    parser.add_argument(
        "--agent-kwargs",
        metavar="JSON",
        default=None,
        help="keyword arguments for --agent, as a JSON object (default: none)",
    )
    parser.add_argument(
        "--world",
        metavar="FILE",
        default=None,
        help="world file for a config sweep (default: the simulator's defaults)",
    )
    parser.add_argument(
        "--ceiling",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a ceiling for a config sweep, e.g. max_billed_usd=0.50 (repeatable)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print a JSON report instead of tables"
    )
    parser.add_argument(
        "--plot",
        metavar="FILE.png",
        default=None,
        help="also write a histogram of billed spend per run (needs matplotlib)",
    )


def _positive(text: str) -> int:
    value = _non_negative(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: write a positive integer")
    return value


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: write a non-negative integer")
    return value


# -- planning ------------------------------------------------------------------


class Arm:
    """One agent to sweep, with everything the sweep needs."""

    def __init__(
        self,
        label: str,
        agent: str,
        *,
        config: Any,
        world: Any,
        ceilings: Any,
        agent_kwargs: Any,
        agent_file: Path | None = None,
        error: Exception | None = None,
    ) -> None:
        self.label = label
        #: why this arm cannot run (its scenario file did not load)
        self.error = error
        self.agent = agent
        self.agent_file = agent_file
        self.config = config
        self.world = world
        self.ceilings = ceilings
        self.agent_kwargs = agent_kwargs


class Plan:
    def __init__(
        self,
        name: str,
        pattern: str,
        arms: list[Arm],
        *,
        summary: str = "",
        expected_rate: tuple[float, float] | None = None,
    ) -> None:
        self.name = name
        self.pattern = pattern
        self.arms = arms
        self.summary = summary
        self.expected_rate = expected_rate


def plan_targets(args: argparse.Namespace) -> list[Plan]:
    from pytest_runguard.library import load_library, select
    from simulator.errors import UsageError

    if not args.targets:
        if args.agent:
            raise UsageError(
                "--agent sweeps a config: name the tensorzero.toml to sweep, e.g. "
                "runguard simulate config/tensorzero.toml --agent my_agents:run"
            )
        return [_library_plan(e) for e in load_library()]
    plans: list[Plan] = []
    library: list[Any] | None = None
    for target in args.targets:
        path = Path(target)
        if (path.is_dir() and (path / "library.toml").is_file()) or (
            path.is_file() and path.name == "library.toml"
        ):
            plans.extend(_library_plan(e) for e in load_library(path))
        elif path.is_file() and _is_scenario_file(path):
            plans.append(_scenario_plan(path))
        elif path.is_file() or any(c in target for c in "*?["):
            plans.append(_config_plan(target, args))
        elif path.suffix in (".toml", ".py") or "/" in target:
            raise UsageError(
                f"{target}: no such file; give a tensorzero.toml, a scenario "
                "file, or the name of a shipped scenario"
            )
        else:
            if library is None:
                library = load_library()
            plans.extend(_library_plan(e) for e in select(library, [target]))
    return plans


def _is_scenario_file(path: Path) -> bool:
    if path.suffix != ".toml":
        return False
    head = path.read_text(encoding="utf-8", errors="replace")[:4096]
    return any(line.startswith("format_version") for line in head.splitlines())


def _library_plan(entry: Any) -> Plan:
    from simulator.errors import RunguardError

    arms = []
    for label, path in (("unguarded", entry.unguarded), ("guarded", entry.guarded)):
        try:
            arms.append(_scenario_arm(label, path))
        except RunguardError as exc:
            arms.append(_broken_arm(label, path, exc))
    return Plan(
        entry.name,
        entry.pattern,
        arms,
        summary=entry.summary,
        expected_rate=(
            entry.min_unguarded_breach_rate,
            entry.max_unguarded_breach_rate,
        ),
    )


def _broken_arm(label: str, path: Path, exc: Exception) -> Arm:
    return Arm(
        label, str(path), config=None, world=None, ceilings={}, agent_kwargs={},
        error=exc,
    )  # fmt: skip


def _scenario_arm(label: str, path: Path) -> Arm:
    from pytest_runguard.scenario import load_scenario

    scenario = load_scenario(path)
    if scenario.config is None:
        from simulator.errors import UsageError

        raise UsageError(
            f'{path}: runguard simulate sweeps scenarios with config = "path"; '
            "replay an inline-config scenario with runguard replay"
        )
    return Arm(
        label,
        scenario.agent,
        agent_file=scenario.agent_file,
        config=scenario.config,
        world=scenario.world,
        ceilings=dict(scenario.ceilings),
        agent_kwargs=dict(scenario.agent_kwargs),
    )


def _scenario_plan(path: Path) -> Plan:
    arm = _scenario_arm("agent", path)
    return Plan(path.stem, str(path), [arm])


def _config_plan(target: str, args: argparse.Namespace) -> Plan:
    from simulator.ceilings import normalize_ceilings
    from simulator.errors import UsageError

    if not args.agent:
        raise UsageError(
            f"{target}: a config is swept with an agent; add --agent "
            "module:function (e.g. --agent "
            "pytest_runguard.example_agents.batch:solve_batch)"
        )
    kwargs: dict[str, Any] = {}
    if args.agent_kwargs:
        try:
            kwargs = json.loads(args.agent_kwargs)
        except json.JSONDecodeError as exc:
            raise UsageError(f"--agent-kwargs: not valid JSON: {exc}") from None
        if not isinstance(kwargs, dict):
            raise UsageError(
                "--agent-kwargs: write a JSON object, e.g. '{\"queries\": 5}'"
            )
    ceilings: dict[str, str] = {}
    for item in args.ceiling:
        name, sep, value = item.partition("=")
        if not sep or not name or not value:
            raise UsageError(
                f"--ceiling {item!r}: write NAME=VALUE, e.g. max_billed_usd=0.5"
            )
        ceilings[name.strip()] = value.strip()
    limits = normalize_ceilings(ceilings, source="--ceiling")
    return Plan(
        _config_name(Path(target)),
        target,
        [
            Arm(
                "agent",
                args.agent,
                config=target,
                world=args.world,
                ceilings=dict(limits),
                agent_kwargs=kwargs,
            )
        ],
    )


def _config_name(path: Path) -> str:
    """``chess-puzzles`` for ``chess-puzzles/config/tensorzero.toml``, for
    ``config/tensorzero.toml`` run inside ``chess-puzzles`` and for a glob
    such as ``chess-puzzles/config/*.toml``; ``prod`` for ``prod.toml``."""
    import glob

    path = path.absolute()
    if path.name != "tensorzero.toml" and not glob.has_magic(path.name):
        return path.stem
    # Every config is called tensorzero.toml: name it after its project.
    folder = path.parent
    while glob.has_magic(folder.name) and folder != folder.parent:
        folder = folder.parent
    if folder.name == "config":
        folder = folder.parent
    return folder.name or str(path)


def resolve_agent(name: str, agent_file: Path | None = None) -> Callable[..., Any]:
    """``module:function`` or ``path/to/file.py:function``."""
    from pytest_runguard.agents import load_agent

    module, sep, function = name.rpartition(":")
    if sep and module.endswith(".py"):
        file = Path(module)
        if not file.is_file():
            from simulator.errors import UsageError

            raise UsageError(f"--agent {name}: {file} does not exist")
        return load_agent(f"{file.stem}:{function}", file=file.resolve())
    cwd = str(Path.cwd())
    if cwd not in sys.path:
        # The console script does not put the working directory on sys.path
        # the way `python -m` does, so `--agent my_agents:run` from the
        # project root would not import.  Appended: installed packages win.
        sys.path.append(cwd)
    return load_agent(name, file=agent_file)


# -- running -------------------------------------------------------------------


@contextmanager
def _progress(enabled: bool, total: int) -> Iterator[Callable[[str], None]]:
    if not enabled:
        yield lambda _label: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    columns = (
        TextColumn("{task.description:<32}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("simulating", total=total)

        def advance(label: str) -> None:
            bar.update(task, advance=1, description=label)

        yield advance


def run_plans(
    plans: Sequence[Plan],
    *,
    runs: int,
    seed: int,
    progress: Callable[[str], None] = lambda _label: None,
) -> list[Any]:
    """Sweep every arm of every plan; a plan that cannot run is reported,
    not fatal, so one known gap does not hide the rest of the library."""
    from pytest_runguard.report import ArmReport, ScenarioReport
    from pytest_runguard.sweep import sweep
    from simulator.errors import RunguardError

    reports = []
    for plan in plans:
        arms = []
        for arm in plan.arms:
            label = f"{plan.name} ({arm.label})"
            report = ArmReport(arm.label, arm.agent)
            arms.append(report)
            seen = _RunCounter(report, label, progress)
            try:
                if arm.error is not None:
                    raise arm.error
                report.result = sweep(
                    resolve_agent(arm.agent, arm.agent_file),
                    config=arm.config,
                    world=arm.world,
                    runs=runs,
                    seed=seed,
                    ceilings=arm.ceilings,
                    agent_kwargs=arm.agent_kwargs,
                    fail=False,
                    allow_errors=True,
                    on_run=seen,
                )
            except (RunguardError, NotImplementedError) as exc:
                report.skipped = _reason(exc)
                for _ in range(runs - seen.done):
                    progress(label)
        ceilings: Any = next((a.ceilings for a in plan.arms if a.error is None), {})
        reports.append(
            ScenarioReport(
                plan.name,
                plan.pattern,
                ceilings,
                arms,
                summary=plan.summary,
                expected_rate=plan.expected_rate,
            )
        )
    return reports


class _RunCounter:
    """The sweep's per-run hook: total the ledger, advance the progress bar."""

    def __init__(
        self, report: Any, label: str, progress: Callable[[str], None]
    ) -> None:
        self.report = report
        self.label = label
        self.progress = progress
        self.done = 0

    def __call__(self, _index: int, sim: Any, _outcome: Any) -> None:
        self.report.totals.add_run(sim)
        self.done += 1
        self.progress(self.label)


def _reason(exc: BaseException) -> str:
    text = str(exc)
    return text.removeprefix("runguard: ")


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from pytest_runguard.report import render, to_json

    if args.plot:
        from pytest_runguard.histogram import require_matplotlib

        require_matplotlib()
    plans = plan_targets(args)
    total = sum(len(p.arms) for p in plans) * args.runs
    started = time.perf_counter()
    show_progress = not args.json and sys.stderr.isatty()
    with _progress(show_progress, total) as advance:
        reports = run_plans(plans, runs=args.runs, seed=args.seed, progress=advance)
    elapsed = time.perf_counter() - started
    plot_path = None
    if args.plot:
        from pytest_runguard.histogram import write_histogram

        plot_path = write_histogram(reports, Path(args.plot))
    if args.json:
        document = to_json(reports, seed=args.seed, runs=args.runs, elapsed_s=elapsed)
        if plot_path is not None:
            document["plot"] = str(plot_path)
        print(json.dumps(document, indent=2))
    else:
        console = Console()
        render(reports, console)
        console.print(
            f"{sum(len(r.arms) for r in reports)} sweeps x {args.runs} runs "
            f"(seed {args.seed}) in {elapsed:.1f} s"
            + (f"; histogram: {plot_path}" if plot_path is not None else "")
        )
    if not any(arm.ran for report in reports for arm in report.arms):
        # Nothing was swept (an agent that does not import, a world that does
        # not load): a CI job must not read that as a pass.
        for report in reports:
            for arm in report.arms:
                reason = f"{report.name} ({arm.label}): {arm.skipped}"
                print(f"runguard: {reason}", file=sys.stderr)
        return 2
    return 1 if any(r.verdict() for r in reports) else 0
