"""Provider-side rate limits from the world (``rate_limits`` tables).

A provider refuses a request with 429 when, counting that request, more
than ``requests_per_minute`` requests or more than ``tokens_per_minute``
tokens started in the last 60 virtual seconds (a sliding window, the way
OpenAI-style providers describe their per-minute limits).  A request
counts its prompt tokens plus its ``max_tokens`` when one is set.  Refused
requests still count against ``requests_per_minute`` unless
``count_refused = false`` (providers say so: hammering a 429 does not help).

Limits are kept per pool: by default one pool per (model, routing entry),
or a named ``pool`` shared by every model that names it (one provider
account serving several gateway models).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

WINDOW_S = 60.0
#: how long a provider takes to answer 429 unless the world says otherwise
DEFAULT_REFUSAL_LATENCY_S = 0.1


class Pool:
    """The sliding window of one provider account."""

    __slots__ = (
        "name",
        "rpm",
        "tpm",
        "count_refused",
        "refusal_latency_s",
        "_starts",
        "_tokens",
        "_token_sum",
    )

    def __init__(self, name: str, spec: Mapping[str, Any]) -> None:
        self.name = name
        rpm = spec.get("requests_per_minute")
        tpm = spec.get("tokens_per_minute")
        self.rpm: int | None = None if rpm is None else int(rpm)
        self.tpm: int | None = None if tpm is None else int(tpm)
        self.count_refused = bool(spec.get("count_refused", True))
        self.refusal_latency_s = float(
            spec.get("refusal_latency_s", DEFAULT_REFUSAL_LATENCY_S)
        )
        # (start time, tokens) of the requests in the window
        self._starts: deque[float] = deque()
        self._tokens: deque[int] = deque()
        self._token_sum = 0

    def admit(self, t: float, tokens: int) -> bool:
        """Record a request starting at ``t``; ``False`` = answered 429."""
        starts, amounts = self._starts, self._tokens
        horizon = t - WINDOW_S
        while starts and starts[0] <= horizon:
            starts.popleft()
            self._token_sum -= amounts.popleft()
        ok = (self.rpm is None or len(starts) < self.rpm) and (
            self.tpm is None or self._token_sum + tokens <= self.tpm
        )
        if ok:
            starts.append(t)
            amounts.append(tokens)
            self._token_sum += tokens
        elif self.count_refused:
            starts.append(t)
            amounts.append(0)
        return ok


class ProviderLimits:
    """Every pool of a world, found by (model, provider)."""

    def __init__(self) -> None:
        self._pools: dict[str, Pool] = {}
        self._by_channel: dict[tuple[str, str, bool], Pool | None] = {}

    def pool(
        self,
        model: str,
        provider: str,
        embedding: bool,
        spec_of: Callable[[], Mapping[str, Any]],
    ) -> Pool | None:
        key = (model, provider, embedding)
        if key in self._by_channel:
            return self._by_channel[key]
        found: Pool | None = None
        spec = spec_of()
        if spec:
            name = str(spec.get("pool", f"{model}::{provider}"))
            found = self._pools.get(name)
            if found is None:
                found = self._pools[name] = Pool(name, spec)
        self._by_channel[key] = found
        return found


def world_declares_limits(data: Mapping[str, Any]) -> bool:
    """Whether any ``rate_limits`` table appears in a world's data."""
    if data.get("defaults", {}).get("rate_limits"):
        return True
    for section in ("models", "embedding_models"):
        for spec in data.get(section, {}).values():
            if spec.get("rate_limits"):
                return True
            for pspec in spec.get("providers", {}).values():
                if pspec.get("rate_limits"):
                    return True
    return False
