"""Ceilings: limits on what one simulation may spend, checked over its ledger.

A ceiling is a keyword such as ``max_billed_usd=0.05``; the same names are
used by ``Simulation.assert_within``, the ``runguard`` pytest marker and
scenario files.  :func:`check_ceilings` returns every :class:`Breach` and
:func:`assert_within` raises :class:`~simulator.errors.CeilingBreached`
naming the ceiling, the exact amount and the ledger rows that crossed it.

A cost ceiling never passes by ignoring a call it cannot price: when the
priced rows stay under the limit but some billed row has no price, the check
fails with :class:`~simulator.errors.UnpricedCost` instead.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from simulator.errors import CeilingBreached, UnpricedCost, UsageError

#: every ceiling keyword, in the order breaches are reported
CEILING_NAMES: tuple[str, ...] = (
    "max_billed_usd",
    "max_provider_calls",
    "max_input_tokens",
    "max_output_tokens",
    "max_call_input_tokens",
    "max_elapsed_s",
    "max_inferences_per_episode",
    "max_feedback_per_episode",
)
#: ceilings whose limit is a decimal amount; the rest are counts
DECIMAL_CEILINGS = frozenset({"max_billed_usd", "max_elapsed_s"})

NANO = Decimal(10) ** 9
#: rows shown in a breach message; the rest are counted, not listed
SHOWN_ROWS = 12

Limit = Decimal | int


@dataclass(frozen=True)
class Breach:
    """One ceiling crossed by one simulation (or one episode of it)."""

    ceiling: str
    limit: Limit
    amount: Limit
    #: the ledger rows (or feedback records) that took the amount over the limit
    rows: tuple[Any, ...]
    #: the cost ceiling could not be checked: these rows have no price
    unpriced: bool = False
    #: what the amount is of, for per-episode ceilings: ``episode <id>``
    scope: str | None = None

    def headline(self) -> str:
        where = f" in {self.scope}" if self.scope else ""
        if self.unpriced:
            return (
                f"{self.ceiling}={format_limit(self.ceiling, self.limit)} cannot be "
                f"checked{where}: {len(self.rows)} billed call(s) have no known "
                f"price (priced spend so far "
                f"{format_limit(self.ceiling, self.amount)}); add a "
                '[prices."<model>"] table to the world or a cost = [...] entry '
                "to the provider"
            )
        over = self.amount - self.limit
        return (
            f"{self.ceiling}={format_limit(self.ceiling, self.limit)} breached"
            f"{where}: {format_limit(self.ceiling, self.amount)} "
            f"(over by {format_limit(self.ceiling, over)})"
        )

    def describe(self, shown: int = SHOWN_ROWS) -> str:
        lines = [self.headline()]
        label = "rows without a price" if self.unpriced else "rows that crossed it"
        if self.rows:
            lines.append(f"  {label} ({len(self.rows)}):")
            lines.extend("    " + format_row(row) for row in self.rows[:shown])
            if len(self.rows) > shown:
                lines.append(f"    ... and {len(self.rows) - shown} more")
        return "\n".join(lines)


def normalize_ceilings(
    ceilings: Mapping[str, Any], *, source: str = "ceilings"
) -> dict[str, Limit]:
    """Validate ceiling keywords; ``None`` values mean "no ceiling" and drop out.

    Money and seconds become exact ``Decimal`` (a float is read through its
    shortest repr, so ``0.05`` is five cents, not a binary fraction); counts
    must be integers.
    """
    out: dict[str, Limit] = {}
    for name, value in ceilings.items():
        if name not in CEILING_NAMES:
            raise UsageError(
                f"{source}: unknown ceiling {name!r}; the ceilings are "
                + ", ".join(CEILING_NAMES)
            )
        if value is None:
            continue
        out[name] = _limit(name, value, source)
    return {name: out[name] for name in CEILING_NAMES if name in out}


def _limit(name: str, value: Any, source: str) -> Limit:
    if isinstance(value, bool):
        raise UsageError(f"{source}: {name}={value!r} is not a number")
    if name in DECIMAL_CEILINGS:
        if isinstance(value, (int, float, str, Decimal)):
            try:
                amount = Decimal(str(value))
            except InvalidOperation:
                amount = Decimal("NaN")
            if amount.is_finite() and amount >= 0:
                return amount
        raise UsageError(
            f"{source}: {name}={value!r} is not a non-negative amount; write a "
            f'number or a decimal string such as {name}="0.05"'
        )
    if isinstance(value, int) and value >= 0:
        return value
    raise UsageError(
        f"{source}: {name}={value!r} is not a non-negative integer; write a count "
        f"such as {name}=100"
    )


def check_ceilings(sim: Any, **ceilings: Any) -> list[Breach]:
    """Every ceiling ``sim`` has crossed, in :data:`CEILING_NAMES` order."""
    limits = normalize_ceilings(ceilings)
    if not limits:
        return []
    rows: list[Any] | None = None
    breaches: list[Breach] = []
    for name, limit in limits.items():
        if _clearly_within(sim.ledger, name, limit):
            continue
        if rows is None:
            rows = list(sim.ledger.rows())
        breaches.extend(_CHECKS[name](sim, rows, limit))
    return breaches


def _clearly_within(ledger: Any, name: str, limit: Limit) -> bool:
    # Sweeps check thousands of runs that mostly pass: answer from the
    # ledger's running totals when they settle it, before building rows.
    if name == "max_billed_usd":
        return bool(
            ledger.unpriced_calls == 0
            and ledger.billed_nanousd <= Decimal(limit) * NANO
        )
    if name == "max_provider_calls":
        return bool(ledger.provider_calls <= limit)
    return False


def assert_within(sim: Any, **ceilings: Any) -> None:
    """Raise :class:`CeilingBreached` if ``sim`` crossed any of ``ceilings``."""
    __tracebackhide__ = True
    breaches = check_ceilings(sim, **ceilings)
    if breaches:
        raise breach_error(breaches)


def breach_error(breaches: Sequence[Breach], context: str = "") -> CeilingBreached:
    """The exception for ``breaches``: ``UnpricedCost`` only if nothing else broke."""
    text = "\n".join(b.describe() for b in breaches)
    if context:
        text = f"{text}\n{context}"
    error_type = UnpricedCost if all(b.unpriced for b in breaches) else CeilingBreached
    error = error_type(text)
    error.breaches = tuple(breaches)  # type: ignore[attr-defined]
    return error


# -- the checks ----------------------------------------------------------------


def _billed_usd(sim: Any, rows: list[Any], limit: Limit) -> list[Breach]:
    total = 0
    limit_nano = Decimal(limit) * NANO
    crossing: list[Any] = []
    unpriced: list[Any] = []
    for row in rows:
        if not row.billed:
            continue
        if row.cost_nanousd is None:
            unpriced.append(row)
            continue
        total += row.cost_nanousd
        if crossing or total > limit_nano:
            crossing.append(row)
    amount = Decimal(total) / NANO
    if crossing:
        return [Breach("max_billed_usd", limit, amount, tuple(crossing))]
    if unpriced:
        return [Breach("max_billed_usd", limit, amount, tuple(unpriced), True)]
    return []


def _running_sum(name: str, field: str) -> Any:
    def check(sim: Any, rows: list[Any], limit: Limit) -> list[Breach]:
        total = 0
        crossing: list[Any] = []
        for row in rows:
            total += getattr(row, field) or 0
            if crossing or total > limit:
                crossing.append(row)
        if not crossing:
            return []
        return [Breach(name, limit, total, tuple(crossing))]

    return check


def _provider_calls(sim: Any, rows: list[Any], limit: Limit) -> list[Breach]:
    if len(rows) <= limit:
        return []
    return [Breach("max_provider_calls", limit, len(rows), tuple(rows[int(limit) :]))]


def _call_input_tokens(sim: Any, rows: list[Any], limit: Limit) -> list[Breach]:
    crossing = tuple(row for row in rows if (row.input_tokens or 0) > limit)
    if not crossing:
        return []
    largest = max(row.input_tokens for row in crossing)
    return [Breach("max_call_input_tokens", limit, largest, crossing)]


def _elapsed_s(sim: Any, rows: list[Any], limit: Limit) -> list[Breach]:
    elapsed = elapsed_s(sim, rows)
    if elapsed <= limit:
        return []
    crossing = tuple(row for row in rows if Decimal(repr(row.end_s)) > limit)
    return [Breach("max_elapsed_s", limit, elapsed, crossing)]


def elapsed_s(sim: Any, rows: Iterable[Any] | None = None) -> Decimal:
    """Virtual seconds the run took: the clock's reading, or the last row's end.

    The clock counts an agent's own sleeps (backoff between retries) as well
    as the calls; the rows' end times cover a run whose clock was never read.
    """
    ends = [row.end_s for row in (sim.ledger.rows() if rows is None else rows)]
    ends.extend(inference.end_s for inference in sim.ledger.inferences)
    ends.append(sim.clock.monotonic())
    return Decimal(repr(max(ends)))


def _inferences_per_episode(sim: Any, rows: list[Any], limit: Limit) -> list[Breach]:
    by_episode: dict[str, list[Any]] = defaultdict(list)
    for inference in sim.ledger.inferences:
        by_episode[str(inference.episode_id)].append(inference)
    breaches = []
    for episode, inferences in by_episode.items():
        if len(inferences) <= limit:
            continue
        over = {str(inf.inference_id) for inf in inferences[int(limit) :]}
        crossing = tuple(row for row in rows if str(row.inference_id) in over)
        breaches.append(
            Breach(
                "max_inferences_per_episode",
                limit,
                len(inferences),
                crossing,
                scope=f"episode {episode}",
            )
        )
    return breaches


def _feedback_per_episode(sim: Any, rows: list[Any], limit: Limit) -> list[Breach]:
    episode_of = {
        str(inf.inference_id): str(inf.episode_id) for inf in sim.ledger.inferences
    }
    by_episode: dict[str, list[Any]] = defaultdict(list)
    for record in sim.feedback_records:
        episode = record.episode_id
        if episode is None:
            episode = episode_of.get(str(record.inference_id))
        by_episode[str(episode)].append(record)
    counts = Counter({ep: len(records) for ep, records in by_episode.items()})
    return [
        Breach(
            "max_feedback_per_episode",
            limit,
            count,
            tuple(by_episode[episode][int(limit) :]),
            scope=f"episode {episode}",
        )
        for episode, count in counts.items()
        if count > limit
    ]


_CHECKS = {
    "max_billed_usd": _billed_usd,
    "max_provider_calls": _provider_calls,
    "max_input_tokens": _running_sum("max_input_tokens", "input_tokens"),
    "max_output_tokens": _running_sum("max_output_tokens", "output_tokens"),
    "max_call_input_tokens": _call_input_tokens,
    "max_elapsed_s": _elapsed_s,
    "max_inferences_per_episode": _inferences_per_episode,
    "max_feedback_per_episode": _feedback_per_episode,
}


# -- formatting ----------------------------------------------------------------


def format_usd(amount: Decimal | int) -> str:
    """``$0.0525``: exact, without trailing zeros or exponent notation."""
    value = Decimal(amount)
    sign = "-" if value < 0 else ""
    return f"{sign}${_plain(abs(value))}"


def format_nanousd(nanousd: int) -> str:
    return format_usd(Decimal(nanousd) / NANO)


def _plain(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text


def format_limit(name: str, value: Limit) -> str:
    if name == "max_billed_usd":
        return format_usd(value)
    if name == "max_elapsed_s":
        return f"{_plain(Decimal(value))}s"
    return str(value)


def format_row(row: Any) -> str:
    """One ledger row (or feedback record) on one line, for failure messages."""
    if hasattr(row, "metric") and hasattr(row, "time_s"):
        target = (
            f"inference {row.inference_id}"
            if row.inference_id
            else f"episode {row.episode_id}"
        )
        return f"feedback {row.metric}={row.value!r} on {target} at t={row.time_s:.3f}s"
    if not hasattr(row, "seq"):
        return repr(row)
    cost = "unpriced" if row.cost_nanousd is None else format_nanousd(row.cost_nanousd)
    billed = "" if row.billed else " (not billed)"
    return (
        f"#{row.seq} t={row.start_s:.3f}-{row.end_s:.3f}s {row.function}/"
        f"{row.variant} {row.role} {row.model} via {row.provider}: "
        f"in={row.input_tokens} out={row.output_tokens} {cost}{billed} "
        f"{row.outcome}"
    )
