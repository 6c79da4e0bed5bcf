"""What the ``runguard_sim`` fixture gives a test: a simulation factory.

``runguard_sim(config=..., world=..., seed=...)`` builds a ``Simulation``;
anything left out comes from the test's ``@pytest.mark.runguard(...)`` marker,
then from the ``runguard_*`` ini keys.  The factory keeps every simulation it
built so the plugin can check the declared ceilings when the test body ends
and show their ledgers when it fails.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_runguard.runs import new_simulation
from pytest_runguard.seeds import derive_seed
from pytest_runguard.summary import RunTally
from simulator.ceilings import (
    DECIMAL_CEILINGS,
    Breach,
    Limit,
    breach_error,
    check_ceilings,
    elapsed_s,
    format_nanousd,
    normalize_ceilings,
)
from simulator.errors import CeilingBreached, UsageError

if TYPE_CHECKING:
    from pytest_runguard.agents import Agent
    from pytest_runguard.sweep import SweepResult
    from simulator import Simulation
    from simulator.config.model import Config
    from simulator.world import World


@dataclass
class LoadCache:
    """Configs and worlds loaded once per pytest session, by resolved path."""

    configs: dict[str, Config] = field(default_factory=dict)
    worlds: dict[str, World] = field(default_factory=dict)


@dataclass(frozen=True)
class Defaults:
    """A test's settings after the marker and the ini keys are merged."""

    config: Any = None
    world: Any = None
    seed: int | None = None
    ceilings: Mapping[str, Limit] = field(default_factory=dict)
    #: folder that relative ``config=``/``world=`` paths in the test start from
    base_dir: Path = Path()


class SimulationFactory:
    """``runguard_sim``: call it for a ``Simulation``, or ``.sweep(agent, ...)``."""

    def __init__(
        self,
        *,
        nodeid: str,
        seed: int,
        base_seed: int,
        defaults: Defaults,
        record_dir: Path,
        default_runs: int,
        runs_override: int | None,
        cache: LoadCache,
    ) -> None:
        #: the seed of this test: the first simulation's, and the sweep's
        self.seed = seed
        self.nodeid = nodeid
        self.base_seed = base_seed
        self.defaults = defaults
        self.ceilings: dict[str, Limit] = dict(defaults.ceilings)
        self.record_dir = record_dir
        self.default_runs = default_runs
        self.runs_override = runs_override
        self.simulations: list[Simulation] = []
        self.sweeps: list[SweepResult] = []
        self.tally = RunTally()
        #: the simulations were counted and checked when the body ended
        self.checked = False
        self._cache = cache

    def __call__(
        self, config: Any = None, world: Any = None, seed: int | None = None
    ) -> Simulation:
        """A fresh simulation; the first one of a test gets the test's seed."""
        __tracebackhide__ = True
        if seed is None:
            count = len(self.simulations)
            seed = self.seed if count == 0 else derive_seed(self.seed, "sim", count)
        sim = new_simulation(self.config(config), self.world(world), seed)
        self.simulations.append(sim)
        return sim

    @property
    def sim(self) -> Simulation:
        """The test's simulation: the first one built (built from the defaults
        on first use), so ``runguard_sim.client()`` just works."""
        __tracebackhide__ = True
        if not self.simulations:
            self()
        return self.simulations[0]

    def __getattr__(self, name: str) -> Any:
        # Anything else a Simulation has (client(), ledger, clock,
        # assert_within, ...) is the test's simulation's.
        if name.startswith("_") or "simulations" not in self.__dict__:
            raise AttributeError(name)
        return getattr(self.sim, name)

    def sweep(
        self,
        agent: Agent,
        *,
        runs: int | None = None,
        ceilings: Mapping[str, Any] | None = None,
        config: Any = None,
        world: Any = None,
        seed: int | None = None,
        agent_kwargs: Mapping[str, Any] | None = None,
        record: int = 1,
        fail: bool = True,
        allow_errors: bool = False,
    ) -> SweepResult:
        """Run ``agent`` on many fresh simulations (:func:`~.sweep.sweep`).

        ``ceilings`` defaults to the marker's; ``runs`` to ``--runguard-runs``
        (which, given on the command line, wins over ``runs=``), then the
        ``runguard_runs`` ini key.
        """
        __tracebackhide__ = True
        from pytest_runguard.sweep import sweep

        if self.runs_override is not None:
            runs = self.runs_override
        elif runs is None:
            runs = self.default_runs
        limits = self.ceilings if ceilings is None else ceilings
        if not limits:
            raise UsageError(
                "runguard_sim.sweep: no ceilings to check; pass ceilings="
                "{'max_billed_usd': 0.05} or set them on @pytest.mark.runguard"
            )
        try:
            result = sweep(
                agent,
                config=self._config_source(config),
                world=self.world(world),
                runs=runs,
                seed=self.seed if seed is None else seed,
                ceilings=limits,
                agent_kwargs=agent_kwargs,
                record_dir=self.record_dir,
                record=record,
                fail=fail,
                allow_errors=allow_errors,
                test=self.nodeid,
            )
        except CeilingBreached as exc:
            failed: SweepResult | None = getattr(exc, "result", None)
            if failed is not None:
                self._count(failed)
            raise
        self._count(result)
        return result

    def _count(self, result: SweepResult) -> None:
        self.sweeps.append(result)
        self.tally.add(result.billed_nanousd, result.breaches)

    # -- defaults ---------------------------------------------------------

    def _path(self, value: str | Path) -> Path:
        path = Path(value)
        return path if path.is_absolute() else self.defaults.base_dir / path

    def _config_source(self, config: Any) -> Any:
        """What to load, kept as a path when it is one (scenario files name it)."""
        from simulator.config.model import Config

        chosen = self.defaults.config if config is None else config
        if chosen is None:
            raise UsageError(
                'runguard_sim: no config; pass runguard_sim(config="tensorzero.'
                'toml"), set @pytest.mark.runguard(config=...), or the '
                "runguard_config ini key"
            )
        if isinstance(chosen, Config):
            return chosen
        if config is None and isinstance(self.defaults.config, Path):
            return self.defaults.config
        return self._path(chosen)

    def config(self, config: Any = None) -> Config:
        """The loaded config a simulation will use (loaded once per session)."""
        from simulator.config import load_config
        from simulator.config.model import Config

        source = self._config_source(config)
        if isinstance(source, Config):
            return source
        key = str(Path(source).absolute())
        loaded = self._cache.configs.get(key)
        if loaded is None:
            loaded = self._cache.configs[key] = load_config(source)
        return loaded

    def world(self, world: Any = None) -> Any:
        """The world a simulation will use: a ``World``, a dict or ``None``."""
        chosen = self.defaults.world if world is None else world
        if chosen is None or isinstance(chosen, Mapping):
            return chosen
        from simulator.world import World

        if isinstance(chosen, World):
            return chosen
        path = (
            chosen if world is None and isinstance(chosen, Path) else self._path(chosen)
        )
        key = str(Path(path).absolute())
        loaded = self._cache.worlds.get(key)
        if loaded is None:
            loaded = self._cache.worlds[key] = World.load(path)
        return loaded

    # -- at the end of the test -------------------------------------------

    def check(self) -> None:
        """Count every simulation as a run and raise if one crossed a ceiling."""
        __tracebackhide__ = True
        self.checked = True
        failures: list[tuple[int, Simulation, list[Breach]]] = []
        for index, sim in enumerate(self.simulations):
            breaches = check_ceilings(sim, **self.ceilings) if self.ceilings else []
            self.tally.add([sim.ledger.billed_nanousd], 1 if breaches else 0)
            if breaches:
                failures.append((index, sim, breaches))
        if not failures:
            return
        breaches = [b for _, _, found in failures for b in found]
        which = ", ".join(
            f"simulation #{i} (seed {sim.seed})" for i, sim, _ in failures
        )
        raise breach_error(breaches, f"in {which}\nreplay: {self.replay_command()}")

    def replay_command(self) -> str:
        return f"pytest '{self.nodeid}' --runguard-seed={self.base_seed}"

    def report(self) -> str:
        """The ledger summary added to a failing test's report."""
        lines = []
        for index, sim in enumerate(self.simulations):
            lines.append(f"simulation #{index} (seed {sim.seed}):")
            lines.extend("  " + line for line in ledger_summary(sim))
        for result in self.sweeps:
            lines.append(f"sweep: {result.describe()}")
            lines.extend(f"  scenario: {path}" for path in result.scenario_paths)
        if self.ceilings:
            written = ", ".join(f"{k}={v}" for k, v in self.ceilings.items())
            lines.append(f"ceilings: {written}")
        lines.append(f"replay: {self.replay_command()}")
        return "\n".join(lines)


def ledger_summary(sim: Any) -> list[str]:
    ledger = sim.ledger
    reported = ledger.reported_usd
    lines = [
        f"{ledger.provider_calls} provider calls, {len(ledger.inferences)} "
        f"inferences, billed {format_nanousd(ledger.billed_nanousd)}"
        + (f" + {ledger.unpriced_calls} unpriced" if ledger.unpriced_calls else "")
        + f", reported usage.cost {'null' if reported is None else reported}",
        f"tokens in {ledger.input_tokens_total} out {ledger.output_tokens_total}, "
        f"virtual elapsed {elapsed_s(sim)}s, feedback {len(sim.feedback_records)}",
        f"ledger digest {ledger.digest()}",
    ]
    groups = ledger.group_by("variant")
    for variant, totals in groups.items():
        lines.append(
            f"  variant {variant}: {totals.provider_calls} calls, billed "
            f"{format_nanousd(totals.billed_nanousd)}, tokens in "
            f"{totals.input_tokens} out {totals.output_tokens}"
        )
    return lines


def marker_defaults(
    marker_kwargs: Mapping[str, Any], ini_ceilings: Mapping[str, Any], where: str
) -> dict[str, Limit]:
    """Ceilings for a test: the ini keys', overridden by the marker's."""
    merged: dict[str, Limit] = {}
    for name, text in ini_ceilings.items():
        if text is None:
            continue
        value: Any = text
        if name not in DECIMAL_CEILINGS and str(text).strip().isdigit():
            value = int(str(text))
        merged.update(
            normalize_ceilings({name: value}, source=f"ini key runguard_{name}")
        )
    ceilings = {k: v for k, v in marker_kwargs.items() if k.startswith("max_")}
    merged.update(normalize_ceilings(ceilings, source=where))
    for name in [k for k, v in ceilings.items() if v is None]:
        merged.pop(name, None)
    return merged
