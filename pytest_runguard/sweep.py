"""Sweeps: one agent against many fresh simulations, and what they spent.

The config and the world are loaded once; each run gets a new ``Simulation``
with a seed derived from the sweep's seed and the run's index, so run 17 of a
sweep is the same run whichever process or order it happens in.  Breaching
runs are written as scenario files and the sweep fails naming them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from pytest_runguard.agents import Agent, agent_entry
from pytest_runguard.runs import Outcome, load_inputs, outcome_of, run_agent_once
from pytest_runguard.seeds import run_seeds
from simulator.ceilings import (
    NANO,
    breach_error,
    format_nanousd,
    format_usd,
    normalize_ceilings,
)
from simulator.errors import CeilingBreached, UsageError

#: two-sided 95% normal quantile, for the Wilson interval
Z95 = 1.959963984540054


def wilson_interval(successes: int, trials: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval for a binomial rate (95% by default).

    Unlike the normal approximation it stays inside [0, 1] and is useful at
    zero breaches, which is the case a sweep hopes for.
    """
    if trials <= 0:
        return (0.0, 1.0)
    p = successes / trials
    z2 = z * z
    denominator = 1 + z2 / trials
    centre = (p + z2 / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials))
    half /= denominator
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == trials else min(1.0, centre + half)
    return (low, high)


def percentile_nanousd(values: Any, q: float) -> int:
    """The ``q``-th percentile of per-run spend, as an observed amount.

    ``inverted_cdf`` picks a value some run really spent instead of
    interpolating between two, so the figure is exact money.
    """
    array = np.asarray(values, dtype=np.int64)
    if array.size == 0:
        return 0
    return int(np.percentile(array, q, method="inverted_cdf"))


@dataclass(frozen=True)
class SweepResult:
    """What a sweep found.  Amounts are exact; rates are floats."""

    seed: int
    seeds: tuple[int, ...]
    #: billed spend of each run, nano-USD, in run order
    billed_nanousd: tuple[int, ...]
    provider_calls: tuple[int, ...]
    #: indices of the runs that crossed a ceiling
    breached_runs: tuple[int, ...]
    #: indices of the runs whose agent raised
    error_runs: tuple[int, ...]
    ceilings: Mapping[str, Any]
    #: the scenario files written for breaching (or failing) runs
    scenario_paths: tuple[Path, ...] = ()

    @property
    def runs(self) -> int:
        return len(self.seeds)

    @property
    def breaches(self) -> int:
        return len(self.breached_runs)

    @property
    def breach_rate(self) -> float:
        return self.breaches / self.runs if self.runs else 0.0

    @property
    def breach_interval(self) -> tuple[float, float]:
        return wilson_interval(self.breaches, self.runs)

    def spend_percentile(self, q: float) -> Decimal:
        return Decimal(percentile_nanousd(self.billed_nanousd, q)) / NANO

    @property
    def spend_p50(self) -> Decimal:
        return self.spend_percentile(50)

    @property
    def spend_p95(self) -> Decimal:
        return self.spend_percentile(95)

    @property
    def spend_p99(self) -> Decimal:
        return self.spend_percentile(99)

    @property
    def mean_calls_per_run(self) -> float:
        return float(np.mean(self.provider_calls)) if self.provider_calls else 0.0

    @property
    def max_calls_per_run(self) -> int:
        return max(self.provider_calls, default=0)

    @property
    def worst_run(self) -> int:
        """The index of the run that spent the most (the first, on a tie)."""
        return int(np.argmax(self.billed_nanousd)) if self.billed_nanousd else 0

    @property
    def worst_seed(self) -> int:
        return self.seeds[self.worst_run]

    @property
    def worst_billed_usd(self) -> Decimal:
        return Decimal(self.billed_nanousd[self.worst_run]) / NANO

    def describe(self) -> str:
        low, high = self.breach_interval
        p = [
            format_nanousd(percentile_nanousd(self.billed_nanousd, q))
            for q in (50, 95, 99)
        ]
        return (
            f"{self.runs} runs (seed {self.seed}): {self.breaches} breached "
            f"({self.breach_rate:.2%}, 95% CI {low:.2%}-{high:.2%}), "
            f"{len(self.error_runs)} agent errors; billed p50 {p[0]} p95 {p[1]} "
            f"p99 {p[2]}; calls/run mean {self.mean_calls_per_run:.1f} max "
            f"{self.max_calls_per_run}; worst run seed {self.worst_seed} billed "
            f"{format_usd(self.worst_billed_usd)}"
        )


def sweep(
    agent: Agent,
    *,
    config: Any,
    world: Any = None,
    runs: int,
    seed: int,
    ceilings: Mapping[str, Any],
    agent_kwargs: Mapping[str, Any] | None = None,
    record_dir: str | Path | None = None,
    record: int = 1,
    fail: bool = True,
    allow_errors: bool = False,
    test: str | None = None,
    on_run: Callable[[int, Any, Outcome], None] | None = None,
) -> SweepResult:
    """Run ``agent`` on ``runs`` fresh simulations and check ``ceilings``.

    The first ``record`` breaching runs (and a run whose agent raised) are
    written to ``record_dir`` as scenario files.  With ``fail`` (the default)
    a breach raises :class:`~simulator.errors.CeilingBreached` naming the
    files; the result is on the exception as ``.result``.  An exception from
    the agent is re-raised unless ``allow_errors``, which counts it instead.
    ``on_run(index, sim, outcome)``, when given, sees every finished run (to
    read its ledger) before the next one starts.
    """
    __tracebackhide__ = True
    if not isinstance(runs, int) or isinstance(runs, bool) or runs < 1:
        raise UsageError(f"sweep: runs={runs!r}; write a positive number of runs")
    limits = normalize_ceilings(ceilings, source="sweep")
    kwargs = dict(agent_kwargs or {})
    recorder = None
    if record_dir is not None and record > 0:
        from pytest_runguard.recording import Recorder

        recorder = Recorder(
            Path(record_dir), agent_entry(agent), config, world, kwargs, limits, test
        )
    loaded_config, loaded_world = load_inputs(config, world)
    seeds = run_seeds(seed, runs)
    billed: list[int] = []
    calls: list[int] = []
    breached: list[int] = []
    errors: list[int] = []
    paths: list[Path] = []
    first_failure: tuple[int, Outcome] | None = None
    for index, run_seed in enumerate(seeds):
        sim, outcome = run_agent_once(
            agent,
            config=loaded_config,
            world=loaded_world,
            seed=run_seed,
            ceilings=limits,
            agent_kwargs=kwargs,
            digest=False,
        )
        if on_run is not None:
            on_run(index, sim, outcome)
        billed.append(outcome.billed_nanousd)
        calls.append(outcome.provider_calls)
        failed = outcome.breaches or outcome.error is not None
        if outcome.breaches:
            breached.append(index)
        if outcome.error is not None:
            errors.append(index)
        if failed and first_failure is None:
            first_failure = (index, outcome)
        if failed and recorder is not None and len(paths) < record:
            outcome = outcome_of(sim, limits, outcome.error)
            paths.append(recorder.write(run_seed, outcome, run=index))
        if outcome.error is not None and not allow_errors:
            break
    result = SweepResult(
        seed=seed,
        seeds=tuple(seeds[: len(billed)]),
        billed_nanousd=tuple(billed),
        provider_calls=tuple(calls),
        breached_runs=tuple(breached),
        error_runs=tuple(errors),
        ceilings=limits,
        scenario_paths=tuple(paths),
    )
    if first_failure is None:
        return result
    index, outcome = first_failure
    if outcome.error is not None and not allow_errors:
        _annotate(outcome.error, result, index, paths)
        raise outcome.error
    if fail and breached:
        raise _sweep_failure(result, outcome)
    return result


def _where(result: SweepResult, paths: list[Path] | tuple[Path, ...]) -> str:
    if not paths:
        return (
            "no scenario file was written (give record_dir=, or run under "
            "pytest where --runguard-record sets it)"
        )
    first = paths[0]
    more = f" (+{len(paths) - 1} more beside it)" if len(paths) > 1 else ""
    return f"scenario: {first}{more}\nreplay: runguard replay {first}"


def _annotate(
    error: BaseException, result: SweepResult, index: int, paths: list[Path]
) -> None:
    note = (
        f"runguard: the agent raised on sweep run {index} (seed "
        f"{result.seeds[index]}); {_where(result, paths)}"
    )
    add_note = getattr(error, "add_note", None)
    if add_note is not None:
        add_note(note)


def _sweep_failure(result: SweepResult, first: Outcome) -> CeilingBreached:
    index = result.breached_runs[0]
    context = (
        f"sweep: {result.describe()}\n"
        f"first breach: run {index}, seed {result.seeds[index]}\n"
        f"{_where(result, result.scenario_paths)}"
    )
    error = breach_error(first.breaches, context)
    error.result = result  # type: ignore[attr-defined]
    return error
