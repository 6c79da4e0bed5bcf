"""The fake provider's billing ledger, in the simulator's row format.

One row per provider attempt, with the columns of the simulator's
``LedgerRow``.  The gateway does not tell a provider which inference or
episode a request belongs to, so those two columns stay empty; function and
variant come from the headers a rewritten config adds, and the message count
and roles from the request body itself.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import IO

from simulator.fakeprovider.calls import CallRecord, ProviderReply, ProviderRequest
from simulator.ledger import FIELDS, LedgerRow


def ledger_row(record: CallRecord) -> LedgerRow:
    role = record.role or ("embedding" if record.api == "embeddings" else "generation")
    return LedgerRow(
        seq=record.seq,
        start_s=round(record.start_s, 6),
        end_s=round(record.end_s, 6),
        function=record.function,
        variant=record.variant,
        episode_id="",
        inference_id="",
        model=record.model,
        provider=record.provider,
        role=role,
        input_tokens=record.input_tokens,
        output_tokens=record.output_tokens,
        cost_nanousd=record.cost_nanousd,
        outcome=record.outcome,
        status=record.status,
        billed=record.billed,
        # The gateway counts a successful attempt in the response's usage.
        counted=record.outcome == "ok",
        priced=record.cost_nanousd is not None,
        # The messages the gateway actually sent (none for an embedding).
        messages=record.n_messages,
        roles=",".join(record.roles),
    )


class JsonlLedger:
    """Appends one JSON line per attempt to a file, as attempts arrive."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._file: IO[str] = self.path.open("w", encoding="utf-8")

    def __call__(
        self, record: CallRecord, request: ProviderRequest, reply: ProviderReply
    ) -> None:
        row = ledger_row(record)
        line = json.dumps(dict(zip(FIELDS, row, strict=True)), separators=(",", ":"))
        with self._lock:
            self._file.write(line + "\n")
            self._file.flush()

    def close(self) -> None:
        with self._lock:
            self._file.close()
