"""What one request to the fake provider asked for, what it got, and the log.

``ProviderRequest`` is the request as the behaviour sees it, ``ProviderReply``
is the behaviour's decision, and ``CallRecord`` is one line of the request
log, in arrival order.  The log is what the differential suite compares with
the simulator's ledger: model, provider, message count and roles per call.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from simulator.fakeprovider.naming import ProviderTarget

Api = Literal["chat", "embeddings", "messages"]

#: HTTP status the fake provider answers for each failed outcome.
OUTCOME_STATUS: Mapping[str, int] = {
    "ok": 200,
    "rate_limited": 429,
    "server_error": 500,
    "client_error": 400,
    "overloaded": 529,
    "unavailable": 503,
    "timeout": 504,
}


@dataclass(frozen=True)
class ProviderRequest:
    api: Api
    target: ProviderTarget
    #: roles of the messages as sent, the system message included
    roles: tuple[str, ...]
    stream: bool = False
    #: the JSON schema the reply must satisfy (json functions, evaluators)
    json_schema: Mapping[str, Any] | None = None
    json_object: bool = False
    tools: tuple[Mapping[str, Any], ...] = ()
    tool_choice: Any = None
    #: the text of each message, in order (the system message included)
    texts: tuple[str, ...] = ()
    #: each message's content blocks, as text (what the estimator counts)
    blocks: tuple[tuple[str, ...], ...] = ()
    #: ``max_tokens`` / ``max_completion_tokens`` of the request, if any
    max_tokens: int | None = None
    #: the embedding input (or every message's text joined)
    text: str = ""
    #: ``x-runguard-*`` headers a rewritten config adds (function, variant, role)
    tags: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_evaluator(self) -> bool:
        """Best-of-N evaluators ask for ``{thinking, answer_choice}``."""
        props = (self.json_schema or {}).get("properties") or {}
        return "answer_choice" in props


@dataclass(frozen=True)
class ProviderReply:
    outcome: str = "ok"
    #: the exact status to answer with (``None``: the outcome's usual one)
    http_status: int | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    #: seconds to wait before answering (only honoured with real latency on)
    latency_s: float = 0.0
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    #: the assistant text to send; ``None`` lets the wire layer make one that
    #: fits the request (schema-valid JSON, a tool call, an evaluator answer)
    content: str | None = None
    #: answer a best-of-N evaluator with this index (``None``: 0)
    answer_choice: int | None = None
    #: reply with a tool call when the request offers tools
    tool_call: bool = False
    #: USD billed for this attempt in nano-dollars (``None``: unpriced)
    cost_nanousd: int | None = None
    billed: bool = True
    #: the error message to answer a failed attempt with (``None``: a generic
    #: one naming the outcome)
    error_message: str | None = None

    @property
    def status(self) -> int:
        if self.http_status is not None:
            return self.http_status
        return OUTCOME_STATUS.get(self.outcome, 500)


@dataclass(frozen=True)
class CallRecord:
    """One request the fake provider answered, in arrival order."""

    seq: int
    api: Api
    model: str
    provider: str
    provider_type: str
    n_messages: int
    roles: tuple[str, ...]
    stream: bool
    outcome: str
    status: int
    input_tokens: int
    output_tokens: int
    cost_nanousd: int | None
    billed: bool
    start_s: float
    end_s: float
    function: str = ""
    variant: str = ""
    role: str = ""
