"""The pytest plugin: options, markers, fixtures and report hooks.

Kept thin on purpose: everything heavy is imported inside the hooks and
fixtures, so installing the plugin costs a test run nothing until a test asks
for the simulator.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_runguard.seeds import WORKER_KEY, parse_seed
from simulator.ceilings import CEILING_NAMES

if TYPE_CHECKING:
    from pytest_runguard.fixture import LoadCache, SimulationFactory
    from pytest_runguard.scenario import ReplayResult
    from pytest_runguard.summary import Summary

CEILING_KEYS = CEILING_NAMES
MARKER_KEYS = ("config", "world", "seed", *CEILING_KEYS)
DEFAULT_RUNS = 1000


@dataclass
class State:
    """What the plugin keeps for one pytest run (``config.stash``)."""

    seed: int
    record_dir: Path
    runs_override: int | None
    summary: Summary | None = None
    cache: LoadCache | None = None
    replays: list[ReplayResult] = field(default_factory=list)


STATE = pytest.StashKey[State]()
FACTORY = pytest.StashKey["SimulationFactory"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    from pytest_runguard.profiles import register_profiles

    # Hypothesis loads --hypothesis-profile in its own pytest_configure, which
    # may run before ours; options are added as each plugin registers, so the
    # profile exists by then whatever the plugin order.
    register_profiles()
    group = parser.getgroup("runguard", "spend ceilings for TensorZero agents")
    group.addoption(
        "--runguard-seed",
        dest="runguard_seed",
        type=parse_seed,
        default=None,
        metavar="SEED",
        help="Base seed of every simulation: an integer, 'random' or 'last' "
        "(default: the runguard_seed ini key, else 0).",
    )
    group.addoption(
        "--runguard-runs",
        dest="runguard_runs",
        type=_positive_int,
        default=None,
        metavar="N",
        help="Runs per sweep, overriding runs= in tests (default: runs= or the "
        f"runguard_runs ini key, else {DEFAULT_RUNS}).",
    )
    group.addoption(
        "--runguard-record",
        dest="runguard_record",
        default=None,
        metavar="DIR",
        help="Folder for the scenario files of breaching runs (default: the "
        "runguard_record ini key, else .runguard/ in the rootdir).",
    )
    group.addoption(
        "--runguard-replay",
        dest="runguard_replay",
        default=None,
        metavar="FILE",
        help="Replay one scenario file instead of collecting tests, and check "
        "its outcome and ledger digest (default: off).",
    )
    group.addoption(
        "--runguard-summary",
        dest="runguard_summary",
        action="store_true",
        default=False,
        help="Add a terminal section with runs, breaches and p50/p95/p99 billed "
        "spend per test (default: off).",
    )
    parser.addini(
        "runguard_config",
        "Default tensorzero.toml (path or glob, relative to the ini file) for "
        "runguard_sim.",
        default="",
    )
    parser.addini(
        "runguard_world",
        "Default world file (relative to the ini file) for runguard_sim.",
        default="",
    )
    parser.addini("runguard_seed", "Default for --runguard-seed.", default="0")
    parser.addini("runguard_runs", "Default runs per sweep.", default=str(DEFAULT_RUNS))
    parser.addini(
        "runguard_record", "Default for --runguard-record.", default=".runguard"
    )
    for key in CEILING_KEYS:
        parser.addini(
            f"runguard_{key}",
            f"Default {key} ceiling for every runguard_sim test.",
            default="",
        )


def _positive_int(value: str) -> int:
    import argparse

    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a positive integer")
    return number


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "runguard(config=None, world=None, seed=None, **ceilings): defaults for "
        "the runguard_sim fixture and the ceilings it checks when the test ends "
        "(max_billed_usd, max_provider_calls, max_input_tokens, "
        "max_output_tokens, max_call_input_tokens, max_elapsed_s, "
        "max_inferences_per_episode, max_feedback_per_episode).",
    )
    from pytest_runguard.seeds import resolve_seed
    from pytest_runguard.summary import Summary

    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None and WORKER_KEY in workerinput:
        seed = int(workerinput[WORKER_KEY])
    else:
        choice = config.getoption("runguard_seed")
        if choice is None:
            choice = _ini_seed(config)
        seed = resolve_seed(choice, getattr(config, "cache", None))
    record = config.getoption("runguard_record") or None
    if record is None:
        record_dir = config.rootpath / config.getini("runguard_record")
    else:
        record_dir = Path(record).absolute()
    summary = Summary()
    config.stash[STATE] = State(
        seed=seed,
        record_dir=record_dir,
        runs_override=config.getoption("runguard_runs"),
        summary=summary,
    )
    config.pluginmanager.register(summary, "runguard-summary")
    replay = config.getoption("runguard_replay")
    if replay:
        path = Path(replay)
        if not path.is_file():
            raise pytest.UsageError(
                f"runguard: --runguard-replay {replay}: no such scenario file"
            )
        # Collect the scenario and nothing else.
        config.args[:] = [str(path)]


def _ini_seed(config: pytest.Config) -> Any:
    import argparse

    value = str(config.getini("runguard_seed"))
    try:
        return parse_seed(value)
    except argparse.ArgumentTypeError as exc:
        raise pytest.UsageError(f"runguard: ini key runguard_seed: {exc}") from None


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    # xdist: every worker derives its tests' seeds from the controller's.
    node.workerinput[WORKER_KEY] = node.config.stash[STATE].seed


def pytest_report_header(config: pytest.Config) -> str:
    return f"runguard: --runguard-seed={config.stash[STATE].seed}"


@pytest.fixture
def runguard_sim(request: pytest.FixtureRequest) -> Iterator[SimulationFactory]:
    """A factory of simulations: ``runguard_sim(config=..., world=..., seed=...)``.

    Defaults come from ``@pytest.mark.runguard(...)`` and the ``runguard_*``
    ini keys; the marker's ceilings are checked when the test body ends.
    """
    from pytest_runguard.fixture import LoadCache, SimulationFactory
    from pytest_runguard.seeds import nodeid_seed

    state = request.config.stash[STATE]
    if state.cache is None:
        state.cache = LoadCache()
    defaults = _defaults(request)
    seed = defaults.seed
    if seed is None:
        seed = nodeid_seed(state.seed, request.node.nodeid)
    factory = SimulationFactory(
        nodeid=request.node.nodeid,
        seed=seed,
        base_seed=state.seed,
        defaults=defaults,
        record_dir=state.record_dir,
        default_runs=_ini_runs(request.config),
        runs_override=state.runs_override,
        cache=state.cache,
    )
    request.node.stash[FACTORY] = factory
    yield factory


def _defaults(request: pytest.FixtureRequest) -> Any:
    from pytest_runguard.fixture import Defaults, marker_defaults
    from simulator.errors import UsageError

    config = request.config
    kwargs: dict[str, Any] = {}
    where = f"{request.node.nodeid}: @pytest.mark.runguard"
    # Markers on the module, the class and the function merge; the closest
    # one wins for a key both set.
    for marker in reversed(list(request.node.iter_markers("runguard"))):
        if marker.args:
            raise UsageError(
                f"{where}: takes keyword arguments only, e.g. "
                '@pytest.mark.runguard(config="tensorzero.toml", max_billed_usd=0.05)'
            )
        unknown = sorted(set(marker.kwargs) - set(MARKER_KEYS))
        if unknown:
            raise UsageError(
                f"{where}: unknown argument {unknown[0]!r}; the arguments are "
                + ", ".join(MARKER_KEYS)
            )
        kwargs.update(marker.kwargs)
    ini_dir = config.inipath.parent if config.inipath else config.rootpath
    ini_ceilings = {
        key: config.getini(f"runguard_{key}") or None for key in CEILING_KEYS
    }
    config_default: Any = kwargs.get("config")
    if config_default is None and config.getini("runguard_config"):
        config_default = ini_dir / str(config.getini("runguard_config"))
    world_default: Any = kwargs.get("world")
    if world_default is None and config.getini("runguard_world"):
        world_default = ini_dir / str(config.getini("runguard_world"))
    seed = kwargs.get("seed")
    if seed is not None and (not isinstance(seed, int) or seed < 0):
        raise UsageError(f"{where}: seed={seed!r}; write a non-negative integer")
    return Defaults(
        config=config_default,
        world=world_default,
        seed=seed,
        ceilings=marker_defaults(kwargs, ini_ceilings, where),
        base_dir=request.node.path.parent,
    )


def _ini_runs(config: pytest.Config) -> int:
    value = str(config.getini("runguard_runs"))
    try:
        return _positive_int(value)
    except Exception:
        raise pytest.UsageError(
            f"runguard: ini key runguard_runs = {value!r}; write a positive integer"
        ) from None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    # A breach raised here is the test's failure, not the plugin's: keep this
    # frame out of the traceback.
    __tracebackhide__ = True
    from pytest_runguard.examples import forget

    forget()
    result = yield
    # The test body passed: now its simulations must be within the ceilings.
    factory = item.stash.get(FACTORY, None)
    if factory is not None:
        factory.check()
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when != "call":
        return report
    if report.failed:
        section = _record_example(item, call)
        if section:
            report.sections.append(("runguard scenario", section))
    factory = item.stash.get(FACTORY, None)
    if factory is None:
        return report
    if report.failed and (factory.simulations or factory.sweeps):
        report.sections.append(("runguard ledger", factory.report()))
    if not factory.checked:
        # The body failed before the ceilings were checked: count the runs.
        for sim in factory.simulations:
            factory.tally.add([sim.ledger.billed_nanousd], 0)
    worker = getattr(item.config, "workerinput", {}).get("workerid")
    report.user_properties.append(("runguard", factory.tally.to_property(worker)))
    return report


def _record_example(item: pytest.Item, call: pytest.CallInfo[None]) -> str | None:
    from pytest_runguard.examples import forget, last_example

    example = last_example()
    if example is None:
        return None
    forget()
    if example.agent is None:
        return (
            "the failing example ran no agent through "
            "pytest_runguard.agents.run_agent, so there is no scenario file to "
            "replay it"
        )
    from pytest_runguard.recording import record_example

    error = call.excinfo.value if call.excinfo is not None else None
    path = record_example(
        example, item.config.stash[STATE].record_dir, item.nodeid, error
    )
    return f"falsifying example written to {path}\nreplay: runguard replay {path}"


def pytest_terminal_summary(
    terminalreporter: Any, exitstatus: int, config: pytest.Config
) -> None:
    state = config.stash[STATE]
    for result in state.replays:
        terminalreporter.write_sep("=", "runguard replay")
        for line in result.describe().splitlines():
            terminalreporter.write_line(line)
    if not config.getoption("runguard_summary") or state.summary is None:
        return
    terminalreporter.write_sep("=", "runguard summary")
    for line in state.summary.lines():
        terminalreporter.write_line(line)
    terminalreporter.write_line(f"reproduce with: --runguard-seed={state.seed}")


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> Any:
    replay = parent.config.getoption("runguard_replay")
    if not replay or file_path.resolve() != Path(replay).resolve():
        return None
    from pytest_runguard.collect import ScenarioFile

    return ScenarioFile.from_parent(parent, path=file_path)


def replay_finished(config: pytest.Config, result: ReplayResult) -> None:
    config.stash[STATE].replays.append(result)
