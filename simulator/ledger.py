"""The ledger: one row per provider attempt, stored column by column.

Every attempt the simulated gateway sends to a provider is a row, failed
ones included, with what the provider would bill for it and whether the
gateway counted it in the response's ``usage``.  Columns are plain lists
(appending a row is a handful of ``list.append`` calls, which is what keeps
the hot path cheap); :meth:`Ledger.rows` builds ``LedgerRow`` tuples on
demand.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, Generic, NamedTuple, TypeVar
from uuid import UUID

from simulator.errors import UsageError
from simulator.ids import uuid_from_int
from simulator.pricing import ATTO_PER_USD

NANO = Decimal(1_000_000_000)
T = TypeVar("T")


class LedgerRow(NamedTuple):
    seq: int
    start_s: float
    end_s: float
    function: str
    variant: str
    episode_id: str
    inference_id: str
    model: str
    provider: str
    #: "generation" | "candidate" | "evaluator" | "fuser" | "embedding"
    role: str
    input_tokens: int
    output_tokens: int
    #: what the provider bills for this attempt; ``None`` = no known price
    cost_nanousd: int | None
    #: "ok" | "rate_limited" | "server_error" | "client_error" | "timeout"
    outcome: str
    status: int
    billed: bool
    #: counted in the ``usage`` of the response the agent received
    counted: bool
    priced: bool
    #: how many messages the request carried (system prompt included; 0
    #: for an embedding) and their roles, e.g. ``"system,user,assistant"``
    messages: int = 0
    roles: str = ""


FIELDS = LedgerRow._fields


@dataclass(frozen=True)
class LedgerTotals:
    provider_calls: int
    billed_calls: int
    unpriced_calls: int
    input_tokens: int
    output_tokens: int
    billed_nanousd: int

    @property
    def billed_usd(self) -> Decimal:
        return Decimal(self.billed_nanousd) / NANO


@dataclass(frozen=True)
class InferenceRecord:
    """One ``inference()`` call as the agent saw it."""

    inference_id: str
    episode_id: str
    function: str
    #: the variant that answered, or the last one tried when all failed
    variant: str
    start_s: float
    end_s: float
    #: 200, or the status of the error the agent received
    status: int
    #: the response's ``usage`` (0 for a failed inference)
    input_tokens: int
    output_tokens: int
    #: the response's ``usage.cost`` as Decimal; ``None`` when it was null
    reported_cost_usd: Decimal | None
    error: str | None = None


class GatewayRefusal(NamedTuple):
    """An attempt the gateway's ``[rate_limiting]`` refused before sending
    it: no provider call, so not a ledger row."""

    time_s: float
    function: str
    variant: str
    episode_id: str
    inference_id: str
    model: str
    provider: str
    role: str
    status: int
    message: str


def _message_count(roles: str) -> int:
    """Messages of a request from its comma-separated roles (0: none)."""
    return roles.count(",") + 1 if roles else 0


class _Column(Generic[T]):
    """One ledger column, read as a list once pending rows are moved in."""

    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index

    def __get__(self, ledger: Ledger, owner: type | None = None) -> list[T]:
        return ledger._flush()[self.index]


class Ledger:
    """Append-only record of provider attempts and inferences.

    Rows are written to a short row buffer and moved into the columns on
    the first read: one tuple per attempt on the engine's hot path instead
    of a list append per column.
    """

    start_s: _Column[float] = _Column(0)
    end_s: _Column[float] = _Column(1)
    function: _Column[str] = _Column(2)
    variant: _Column[str] = _Column(3)
    # Ids are kept as ``UUID.int``: a UUID is a container the garbage
    # collector tracks, and two per inference kept for the whole run make
    # every full collection slower; ints are not tracked.
    _episode_ids: _Column[int] = _Column(4)
    _inference_ids: _Column[int] = _Column(5)
    model: _Column[str] = _Column(6)
    provider: _Column[str] = _Column(7)
    role: _Column[str] = _Column(8)
    input_tokens: _Column[int] = _Column(9)
    output_tokens: _Column[int] = _Column(10)
    cost_nanousd: _Column[int | None] = _Column(11)
    outcome: _Column[str] = _Column(12)
    status: _Column[int] = _Column(13)
    billed: _Column[bool] = _Column(14)
    roles: _Column[str] = _Column(15)

    def __init__(self) -> None:
        self._columns: tuple[list[Any], ...] = tuple([] for _ in range(16))
        self._pending: list[tuple[Any, ...]] = []
        self._rows = 0
        #: set by the gateway once a row's call is in a response's usage
        self.counted: list[bool] = []
        # one inference per entry, columnar like the rows
        self._inf: list[tuple[Any, ...]] = []
        #: attempts the gateway's own rate limits refused (not sent)
        self.refusals: list[GatewayRefusal] = []
        self._billed_nano = 0
        self._unpriced = 0
        self._reported_atto: int | None = 0

    def _flush(self) -> tuple[list[Any], ...]:
        pending = self._pending
        if pending:
            for column, values in zip(
                self._columns, zip(*pending, strict=True), strict=True
            ):
                column.extend(values)
            pending.clear()
        return self._columns

    # -- writing (the engine) ---------------------------------------------

    def append(
        self,
        start_s: float,
        end_s: float,
        function: str,
        variant: str,
        episode_id: UUID,
        inference_id: UUID,
        model: str,
        provider: str,
        role: str,
        input_tokens: int,
        output_tokens: int,
        cost_nanousd: int | None,
        outcome: str,
        status: int,
        billed: bool,
        roles: str = "",
    ) -> int:
        """Add one attempt; returns its row index (``seq``).  ``roles`` are
        the request's message roles, comma-separated."""
        self._pending.append(
            (
                start_s,
                end_s,
                function,
                variant,
                episode_id.int,
                inference_id.int,
                model,
                provider,
                role,
                input_tokens,
                output_tokens,
                cost_nanousd,
                outcome,
                status,
                billed,
                roles,
            )  # fmt: skip
        )
        self.counted.append(False)
        if billed:
            if cost_nanousd is not None:
                self._billed_nano += cost_nanousd
            else:
                self._unpriced += 1
        seq = self._rows
        self._rows = seq + 1
        return seq

    def add_refusal(
        self,
        time_s: float,
        function: str,
        variant: str,
        episode_id: UUID,
        inference_id: UUID,
        model: str,
        provider: str,
        role: str,
        status: int,
        message: str,
    ) -> None:
        self.refusals.append(
            GatewayRefusal(
                time_s,
                function,
                variant,
                str(episode_id),
                str(inference_id),
                model,
                provider,
                role,
                status,
                message,
            )  # fmt: skip
        )

    def add_inference(
        self,
        inference_id: UUID,
        episode_id: UUID,
        function: str,
        variant: str,
        start_s: float,
        end_s: float,
        status: int,
        input_tokens: int,
        output_tokens: int,
        reported_atto: int | None,
        error: str | None = None,
    ) -> None:
        self._inf.append(
            (
                inference_id.int,
                episode_id.int,
                function,
                variant,
                start_s,
                end_s,
                status,
                input_tokens,
                output_tokens,
                reported_atto,
                error,
            )  # fmt: skip
        )
        if status == 200:
            if reported_atto is None or self._reported_atto is None:
                self._reported_atto = None
            else:
                self._reported_atto += reported_atto

    def answered(self, start: int) -> tuple[int, list[tuple[int, int, str]]]:
        """The number of inferences so far, and ``(inference id, episode id,
        function)`` (ids as ``UUID.int``) of the answered ones from the
        ``start``-th on."""
        records = self._inf
        return len(records), [
            (record[0], record[1], record[2])
            for record in records[start:]
            if record[6] == 200
        ]

    @property
    def inferences(self) -> list[InferenceRecord]:
        """Every ``inference()`` call, in call order."""
        atto = Decimal(ATTO_PER_USD)
        return [
            InferenceRecord(
                str(uuid_from_int(iid)), str(uuid_from_int(eid)), fn, variant,
                start, end, status, tin, tout,
                None if (cost is None or status != 200) else Decimal(cost) / atto,
                error,
            )
            for iid, eid, fn, variant, start, end, status, tin, tout, cost, error
            in self._inf
        ]  # fmt: skip

    @property
    def priced(self) -> list[bool]:
        return [c is not None for c in self.cost_nanousd]

    @property
    def messages(self) -> list[int]:
        return [_message_count(r) for r in self.roles]

    @property
    def episode_id(self) -> list[UUID]:
        """The episode id column."""
        return [uuid_from_int(value) for value in self._episode_ids]

    @property
    def inference_id(self) -> list[UUID]:
        """The inference id column."""
        return [uuid_from_int(value) for value in self._inference_ids]

    # -- totals -------------------------------------------------------------

    def __len__(self) -> int:
        return self._rows

    @property
    def provider_calls(self) -> int:
        return self._rows

    @property
    def billed_usd(self) -> Decimal:
        """What the providers would bill for the priced attempts."""
        return Decimal(self._billed_nano) / NANO

    @property
    def billed_nanousd(self) -> int:
        return self._billed_nano

    @property
    def unpriced_calls(self) -> int:
        """Billed attempts whose price is unknown (never counted as $0)."""
        return self._unpriced

    @property
    def reported_usd(self) -> Decimal | None:
        """The sum of every successful response's ``usage.cost``."""
        if self._reported_atto is None:
            return None
        return Decimal(self._reported_atto) / Decimal(ATTO_PER_USD)

    @property
    def input_tokens_total(self) -> int:
        return sum(self.input_tokens)

    @property
    def output_tokens_total(self) -> int:
        return sum(self.output_tokens)

    def totals(
        self, indices: Iterator[int] | range | list[int] | None = None
    ) -> LedgerTotals:
        idx = range(len(self)) if indices is None else indices
        tins, touts = self.input_tokens, self.output_tokens
        billeds, costs = self.billed, self.cost_nanousd
        calls = billed = unpriced = tin = tout = nano = 0
        for i in idx:
            calls += 1
            tin += tins[i]
            tout += touts[i]
            if billeds[i]:
                billed += 1
                cost = costs[i]
                if cost is None:
                    unpriced += 1
                else:
                    nano += cost
        return LedgerTotals(calls, billed, unpriced, tin, tout, nano)

    def _column(self, column: str, action: str) -> list[Any]:
        """A column by its ``LedgerRow`` name, refused with the names to use."""
        if column not in FIELDS or column == "seq":
            raise UsageError(
                f"runguard: cannot {action} {column!r}; use one of "
                + ", ".join(f for f in FIELDS if f != "seq")
            )
        values: list[Any] = getattr(self, column)
        return values

    def group_by(self, column: str) -> dict[str, LedgerTotals]:
        """Totals per value of a column, keys in first-seen order."""
        values = self._column(column, "group the ledger by")
        groups: dict[str, list[int]] = {}
        for i, value in enumerate(values):
            groups.setdefault(str(value), []).append(i)
        return {key: self.totals(rows) for key, rows in groups.items()}

    # -- concurrency ----------------------------------------------------------

    def count(self, **where: Any) -> int:
        """Rows whose columns equal the given values, e.g.
        ``count(outcome="rate_limited")`` or ``count(status=429, billed=False)``."""
        columns = [
            (self._column(c, "count ledger rows by"), v) for c, v in where.items()
        ]
        return sum(
            1
            for i in range(len(self))
            if all(values[i] == wanted for values, wanted in columns)
        )

    def count_429(self) -> int:
        """Every 429 of the run: provider attempts answered 429 plus
        attempts the gateway's own rate limits refused."""
        return self.status.count(429) + sum(1 for r in self.refusals if r.status == 429)

    def max_in_flight(self) -> int:
        """The most provider attempts in flight at one virtual instant (an
        attempt occupies ``[start_s, end_s)``)."""
        events = sorted(
            [(end, 0) for end in self.end_s] + [(start, 1) for start in self.start_s]
        )
        most = current = 0
        for _, is_start in events:
            if is_start:
                current += 1
                if current > most:
                    most = current
            else:
                current -= 1
        return most

    # -- reading rows ---------------------------------------------------------

    def row(self, i: int) -> LedgerRow:
        return self._row(i, [column[i] for column in self._flush()])

    def _row(self, i: int, values: Sequence[Any]) -> LedgerRow:
        (
            start, end, function, variant, episode, inference, model, provider,
            role, tin, tout, cost, outcome, status, billed, roles,
        ) = values  # fmt: skip
        return LedgerRow(
            i, start, end, function, variant, str(uuid_from_int(episode)),
            str(uuid_from_int(inference)), model, provider, role, tin, tout, cost,
            outcome, status, billed, self.counted[i], cost is not None,
            _message_count(roles), roles,
        )  # fmt: skip

    def rows(self) -> list[LedgerRow]:
        return [
            self._row(i, values)
            for i, values in enumerate(zip(*self._flush(), strict=True))
        ]

    def _lines(self) -> Iterator[str]:
        for i, values in enumerate(zip(*self._flush(), strict=True)):
            yield json.dumps(
                dict(zip(FIELDS, self._row(i, values), strict=True)),
                separators=(",", ":"),
            )

    def digest(self) -> str:
        """SHA-256 of the canonical JSONL rows: equal iff the runs were."""
        h = hashlib.sha256()
        for line in self._lines():
            h.update(line.encode())
            h.update(b"\n")
        # refusals exist only under rate limits, so other digests are unchanged
        for refusal in self.refusals:
            h.update(json.dumps({"refusal": refusal._asdict()}).encode())
            h.update(b"\n")
        return h.hexdigest()

    def to_jsonl(self, path_or_file: str | Path | IO[str]) -> None:
        """Write one JSON object per row (the digest's canonical form)."""
        if isinstance(path_or_file, str | Path):
            buffer = io.StringIO()
            for line in self._lines():
                buffer.write(line + "\n")
            Path(path_or_file).write_text(buffer.getvalue(), encoding="utf-8")
            return
        for line in self._lines():
            path_or_file.write(line + "\n")
