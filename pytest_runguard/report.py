"""What ``runguard simulate`` reports: per-arm sweep summaries and tables.

An *arm* is one agent swept over many seeds (a scenario's unguarded agent,
its guarded twin, or a user's agent against their config).  Besides what
the sweep returns, an arm totals every run's ledger by variant, model and
call role so the table can name what the money went on.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from simulator.ceilings import NANO, format_nanousd

DRIVER_COLUMNS = ("variant", "model", "role")


@dataclass
class ArmTotals:
    """Ledger totals over every run of one arm, filled run by run."""

    inferences: int = 0
    provider_calls: int = 0
    unpriced_calls: int = 0
    spend_by: dict[str, Counter[str]] = field(
        default_factory=lambda: {c: Counter() for c in DRIVER_COLUMNS}
    )
    calls_by_variant: Counter[str] = field(default_factory=Counter)
    inferences_by_variant: Counter[str] = field(default_factory=Counter)

    def add_run(self, sim: Any) -> None:
        ledger = sim.ledger
        self.provider_calls += ledger.provider_calls
        self.unpriced_calls += ledger.unpriced_calls
        for record in ledger.inferences:
            self.inferences += 1
            self.inferences_by_variant[record.variant] += 1
        for column in DRIVER_COLUMNS:
            spend = self.spend_by[column]
            for key, totals in ledger.group_by(column).items():
                spend[key] += totals.billed_nanousd
                if column == "variant":
                    self.calls_by_variant[key] += totals.provider_calls

    @property
    def calls_per_inference(self) -> float | None:
        return self.provider_calls / self.inferences if self.inferences else None

    def calls_per_inference_by_variant(self) -> dict[str, float]:
        return {
            variant: self.calls_by_variant[variant] / count
            for variant, count in sorted(self.inferences_by_variant.items())
            if count
        }

    def drivers(self, column: str, top: int = 3) -> list[tuple[str, int]]:
        """The ``top`` keys of ``column`` by billed spend, dearest first."""
        ranked = sorted(self.spend_by[column].items(), key=lambda kv: (-kv[1], kv[0]))
        return ranked[:top]


@dataclass
class ArmReport:
    """One swept agent: the sweep's result and the ledger totals."""

    label: str
    agent: str
    result: Any = None
    totals: ArmTotals = field(default_factory=ArmTotals)
    #: why the arm did not run (a known gap or a bad input), if it did not
    skipped: str | None = None

    @property
    def ran(self) -> bool:
        return self.result is not None


@dataclass
class ScenarioReport:
    name: str
    pattern: str
    ceilings: Mapping[str, Any]
    arms: list[ArmReport]
    summary: str = ""
    #: (min, max) unguarded breach rate the library expects, if any
    expected_rate: tuple[float, float] | None = None

    def arm(self, label: str) -> ArmReport | None:
        return next((a for a in self.arms if a.label == label), None)

    def verdict(self) -> str | None:
        """``None`` when every expectation holds, else what did not."""
        problems = []
        guarded = self.arm("guarded")
        if guarded is not None and guarded.ran and guarded.result.breaches:
            problems.append(f"guarded agent breached in {guarded.result.breaches} runs")
        # A config or scenario file swept on its own: its ceilings are the
        # claim being checked, so a breach fails the command as in pytest.
        agent = self.arm("agent")
        if agent is not None and agent.ran and agent.result.breaches:
            problems.append(f"agent breached in {agent.result.breaches} runs")
        unguarded = self.arm("unguarded")
        if self.expected_rate is not None and unguarded is not None and unguarded.ran:
            low, high = self.expected_rate
            rate = unguarded.result.breach_rate
            if not low <= rate <= high:
                problems.append(
                    f"unguarded breach rate {rate:.1%} outside the expected "
                    f"{low:.0%}-{high:.0%}"
                )
        return "; ".join(problems) or None


# -- text ----------------------------------------------------------------------


def usd(nano: int) -> str:
    return format_nanousd(nano)


def _percentiles(result: Any) -> list[str]:
    return [usd(int(result.spend_percentile(q) * NANO)) for q in (50, 95, 99)]


def _share(part: int, whole: int) -> str:
    return f"{part * 100 / whole:.0f}%" if whole else "-"


def driver_lines(totals: ArmTotals, column: str, top: int = 2) -> str:
    """``best_of_5 92%`` lines: the dearest keys of ``column`` by spend."""
    whole = sum(totals.spend_by[column].values())
    ranked = [(k, n) for k, n in totals.drivers(column, top=top) if n]
    if not ranked or whole == 0:
        return "-"
    return "\n".join(f"{key} {_share(nano, whole)}" for key, nano in ranked)


def ceilings_text(ceilings: Mapping[str, Any]) -> str:
    if not ceilings:
        return "no ceilings"
    return ", ".join(f"{k}={v}" for k, v in ceilings.items())


_ROWS = (
    "runs",
    "breach rate",
    "  95% CI",
    "agent errors",
    "billed p50",
    "billed p95",
    "billed p99",
    "calls/inference",
    "  by variant",
    "unpriced calls",
    "top variants",
    "top models",
    "top call roles",
)


def _column(report: ScenarioReport, arm: ArmReport) -> list[str]:
    if not arm.ran:
        return ["not run"] + [""] * (len(_ROWS) - 1)
    result = arm.result
    totals = arm.totals
    low, high = result.breach_interval
    checked = bool(report.ceilings)
    cpi = totals.calls_per_inference
    return [
        str(result.runs),
        f"{result.breach_rate:.1%}" if checked else "-",
        f"{low:.1%}-{high:.1%}" if checked else "-",
        str(len(result.error_runs)),
        *_percentiles(result),
        "-" if cpi is None else f"{cpi:.2f}",
        _by_variant(totals),
        str(totals.unpriced_calls),
        driver_lines(totals, "variant"),
        driver_lines(totals, "model"),
        driver_lines(totals, "role"),
    ]


def _by_variant(totals: ArmTotals, top: int = 3) -> str:
    """``best_of_5 6.00`` lines, the most calls per inference first."""
    ranked = sorted(
        totals.calls_per_inference_by_variant().items(), key=lambda kv: (-kv[1], kv[0])
    )
    return "\n".join(f"{name} {value:.2f}" for name, value in ranked[:top]) or "-"


def render(reports: Sequence[ScenarioReport], console: Any) -> None:
    """Print one rich table per scenario on ``console``: a row per figure,
    a column per swept agent, so unguarded and guarded sit side by side."""
    from rich.table import Table

    for report in reports:
        title = f"[bold]{report.name}[/]: {report.pattern}"
        notes = [ceilings_text(report.ceilings)]
        notes.extend(
            f"{arm.label} not run: {arm.skipped}" for arm in report.arms if not arm.ran
        )
        verdict = report.verdict()
        if verdict:
            notes.append(f"[bold red]NOT AS EXPECTED: {verdict}[/]")
        table = Table(
            title=title,
            caption="\n".join(notes),
            title_justify="left",
            caption_justify="left",
        )
        table.add_column("", no_wrap=True)
        for arm in report.arms:
            table.add_column(arm.label, justify="right", overflow="fold")
        columns = [_column(report, arm) for arm in report.arms]
        for index, name in enumerate(_ROWS):
            table.add_row(name, *(column[index] for column in columns))
        console.print(table)


# -- JSON ----------------------------------------------------------------------


def _decimal_text(value: Decimal) -> str:
    return format(value.normalize(), "f") if value else "0"


def arm_json(arm: ArmReport) -> dict[str, Any]:
    if not arm.ran:
        return {"label": arm.label, "agent": arm.agent, "skipped": arm.skipped}
    result = arm.result
    totals = arm.totals
    low, high = result.breach_interval
    return {
        "label": arm.label,
        "agent": arm.agent,
        "runs": result.runs,
        "breaches": result.breaches,
        "breach_rate": result.breach_rate,
        "breach_rate_ci95": [low, high],
        "errors": len(result.error_runs),
        "billed_usd": {
            f"p{q}": _decimal_text(result.spend_percentile(q)) for q in (50, 95, 99)
        },
        "worst_billed_usd": _decimal_text(result.worst_billed_usd),
        "worst_seed": result.worst_seed,
        "provider_calls": totals.provider_calls,
        "unpriced_calls": totals.unpriced_calls,
        "inferences": totals.inferences,
        "calls_per_inference": totals.calls_per_inference,
        "calls_per_inference_by_variant": totals.calls_per_inference_by_variant(),
        "billed_usd_by": {
            column: {
                key: _decimal_text(Decimal(nano) / NANO)
                for key, nano in totals.drivers(
                    column, top=len(totals.spend_by[column])
                )
            }
            for column in DRIVER_COLUMNS
        },
    }


def to_json(
    reports: Sequence[ScenarioReport], *, seed: int, runs: int, elapsed_s: float
) -> dict[str, Any]:
    return {
        "seed": seed,
        "runs": runs,
        "elapsed_s": round(elapsed_s, 3),
        "scenarios": [
            {
                "name": r.name,
                "pattern": r.pattern,
                "summary": r.summary,
                "ceilings": {k: str(v) for k, v in r.ceilings.items()},
                "expected_unguarded_breach_rate": (
                    None if r.expected_rate is None else list(r.expected_rate)
                ),
                "as_expected": r.verdict() is None,
                "problems": r.verdict(),
                "arms": [arm_json(a) for a in r.arms],
            }
            for r in reports
        ],
    }
