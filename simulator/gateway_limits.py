"""The gateway's own ``[rate_limiting]`` rules, as token buckets.

This follows ``crates/tensorzero-core/src/rate_limiting/`` and the Valkey
script ``db/valkey/lua/tensorzero_ratelimit.lua`` (the Postgres functions
agree):

- Rules that match a request's tags (every scope entry must match) are
  active; among those with ``priority`` only the highest priority applies,
  ``always = true`` rules apply regardless.  ``api_key_public_id`` scopes
  never match: simulated requests carry no API key.
- Each active limit is a bucket keyed by (resource, scope key): it starts
  full at ``capacity`` when first used and gains ``refill_rate`` per whole
  interval elapsed since then (aligned to the first use, not sliding).
- Before every provider attempt the gateway takes, all-or-nothing, 1 model
  inference, the estimated tokens (prompt characters / 2 + ``max_tokens``)
  and ``default_cost`` from every active bucket; any shortfall refuses the
  attempt with ``RateLimitExceeded`` (429, not retried; routing and variant
  fallback go on).
- After a *successful* attempt it reconciles with the actual usage: it
  returns what was over-estimated and takes what was under-estimated.  A
  response with no cost (no ``cost`` entries on the provider) leaves the
  ``default_cost`` taken.  Failed or timed-out attempts are never
  reconciled.

Money is integer nano-dollars, as in the gateway (``cost_to_nano_cost``
rounds up).  Times are integer microseconds, as in the Valkey script.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from simulator.config.model import RateLimitingConfig, RateLimitRule
from simulator.failures import Failure, RateLimitExceeded

INTERVAL_US = {
    "second": 1_000_000,
    "minute": 60_000_000,
    "hour": 3_600_000_000,
    "day": 86_400_000_000,
    "week": 604_800_000_000,
    "month": 2_592_000_000_000,
}
_RESOURCE_NAME = {
    "model_inferences": "model_inference",
    "tokens": "token",
    "cost": "cost",
}


def cost_to_nano(cost: float) -> int:
    """``cost_to_nano_cost``: dollars (f64) to nano-dollars, rounded up."""
    if cost <= 0.0:
        return 0
    return math.ceil(cost * 1_000_000_000)


class MissingMaxTokens(Failure):
    """``RateLimitMissingMaxTokens``: a token rule applies but the request
    sets no ``max_tokens`` (400; like most gateway errors, retryable)."""

    status = 400

    def __init__(self) -> None:
        super().__init__(
            "Missing `max_tokens` for request subject to rate limiting rules."
        )


@dataclass
class _Limit:
    resource: str
    capacity: int
    refill: int
    interval_us: int


@dataclass
class _Rule:
    limits: tuple[_Limit, ...]
    scope: tuple[Mapping[str, str], ...]
    priority: int | None


class _Bucket:
    __slots__ = ("balance", "last_us")

    def __init__(self, balance: int, last_us: int) -> None:
        self.balance = balance
        self.last_us = last_us


@dataclass
class Borrow:
    """What one admitted attempt took: (bucket key, limit, taken)."""

    taken: list[tuple[str, _Limit, int]]


def _scope_text(scope_key: Sequence[tuple[str, ...]]) -> str:
    parts = []
    for kind, key, *rest in scope_key:
        if kind == "total":
            parts.append(f'tag_key="{key}", tag_value="tensorzero::total"')
        elif kind == "each":
            parts.append(
                f'tag_key="{key}", tag_value="tensorzero::each" (matched: "{rest[0]}")'
            )
        else:
            parts.append(f'tag_key="{key}", tag_value="{rest[0]}"')
    return ", ".join(parts)


class GatewayLimits:
    """The buckets of one simulated gateway."""

    def __init__(self, config: RateLimitingConfig) -> None:
        self.default_nano = cost_to_nano(float(config.default_cost))
        self.rules = [self._rule(rule) for rule in config.rules]
        self._buckets: dict[str, _Bucket] = {}
        # reconciliations due at the end of a call: (time_us, seq, key, ...)
        self._due: list[tuple[int, int, str, _Limit, int]] = []
        self._seq = 0

    @staticmethod
    def _rule(rule: RateLimitRule) -> _Rule:
        limits = []
        seen: set[str] = set()
        for limit in rule.limits:
            if limit.resource in seen:
                # the bucket key is (resource, scope): the gateway's backend
                # refuses two buckets with one key in one request
                raise NotImplementedError(
                    "runguard: a [[rate_limiting.rules]] entry with two "
                    f"`{limit.resource}_per_*` limits is not simulated yet (the "
                    "gateway keys buckets by resource and scope, so both limits "
                    "would share one bucket); split them into rules with "
                    "different scopes"
                )
            seen.add(limit.resource)
            if limit.resource == "cost":
                capacity = cost_to_nano(float(limit.capacity))
                refill = cost_to_nano(float(limit.refill_rate))
            else:
                capacity, refill = int(limit.capacity), int(limit.refill_rate)
            limits.append(
                _Limit(limit.resource, capacity, refill, INTERVAL_US[limit.interval])
            )
        priority = None if rule.always else rule.priority
        return _Rule(tuple(limits), rule.scope, priority)

    # -- which limits apply ---------------------------------------------------

    @staticmethod
    def _scope_key(
        rule: _Rule, tags: Mapping[str, str]
    ) -> tuple[tuple[str, ...], ...] | None:
        keys: list[tuple[str, ...]] = []
        for entry in rule.scope:
            if "api_key_public_id" in entry:
                return None
            tag_key = entry["tag_key"]
            value = tags.get(tag_key)
            if value is None:
                return None
            wanted = entry["tag_value"]
            if wanted == "tensorzero::total":
                keys.append(("total", tag_key))
            elif wanted == "tensorzero::each":
                keys.append(("each", tag_key, value))
            elif value == wanted:
                keys.append(("concrete", tag_key, value))
            else:
                return None
        return tuple(keys)

    def active(
        self, tags: Mapping[str, str]
    ) -> list[tuple[str, _Limit, tuple[tuple[str, ...], ...]]]:
        matched = []
        top = 0
        for rule in self.rules:
            scope_key = self._scope_key(rule, tags)
            if scope_key is None:
                continue
            if rule.priority is not None and rule.priority > top:
                top = rule.priority
            matched.append((rule, scope_key))
        out = []
        for rule, scope_key in matched:
            if rule.priority is None or rule.priority == top:
                for limit in rule.limits:
                    out.append((f"{limit.resource}|{scope_key!r}", limit, scope_key))
        return out

    # -- buckets ---------------------------------------------------------------

    def _bucket(self, key: str, limit: _Limit, now_us: int) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(limit.capacity, now_us)
        elif limit.refill > 0 and limit.interval_us > 0:
            elapsed = max(0, now_us - bucket.last_us)
            intervals = elapsed // limit.interval_us
            if intervals:
                bucket.balance = min(
                    bucket.balance + intervals * limit.refill, limit.capacity
                )
                bucket.last_us += intervals * limit.interval_us
        return bucket

    def _consume(
        self, now_us: int, requests: Sequence[tuple[str, _Limit, int]]
    ) -> list[int] | None:
        """All-or-nothing; ``None`` on success, else the balances."""
        buckets = [self._bucket(key, limit, now_us) for key, limit, _ in requests]
        if all(
            amount <= b.balance
            for b, (_, _, amount) in zip(buckets, requests, strict=True)
        ):
            for b, (_, _, amount) in zip(buckets, requests, strict=True):
                b.balance -= amount
            return None
        return [b.balance for b in buckets]

    def _settle_due(self, now_us: int) -> None:
        due = self._due
        while due and due[0][0] <= now_us:
            at, _, key, limit, delta = heapq.heappop(due)
            if delta > 0:
                # under-estimated: take the difference (refused silently if
                # the bucket cannot cover it, as the gateway only logs that)
                self._consume(at, [(key, limit, delta)])
            else:
                bucket = self._bucket(key, limit, at)
                bucket.balance = min(bucket.balance - delta, limit.capacity)

    # -- the two calls the engine makes ---------------------------------------

    def take(
        self,
        t: float,
        tags: Mapping[str, str],
        prompt_tokens: int,
        max_tokens: int | None,
        embedding: bool,
    ) -> Borrow | None:
        """Take tickets for an attempt starting at ``t``; raises
        :class:`RateLimitExceeded` or :class:`MissingMaxTokens`."""
        active = self.active(tags)
        if not active:
            return None
        now_us = round(t * 1_000_000)
        self._settle_due(now_us)
        requests = []
        for key, limit, _ in active:
            if limit.resource == "model_inferences":
                amount = 1
            elif limit.resource == "cost":
                amount = self.default_nano
            else:
                if embedding:
                    amount = 2 * prompt_tokens
                elif max_tokens is None:
                    raise MissingMaxTokens()
                else:
                    # the gateway counts characters / 2; the simulator's
                    # prompt estimate is characters / 4
                    amount = 2 * prompt_tokens + max_tokens
            requests.append((key, limit, amount))
        balances = self._consume(now_us, requests)
        if balances is None:
            return Borrow(requests)
        failed = [
            (limit.resource, scope_key, amount, available)
            for (_, limit, amount), (_, _, scope_key), available in zip(
                requests, active, balances, strict=True
            )
            if amount > available
        ]
        raise RateLimitExceeded(_message(failed))

    def settle(
        self, borrow: Borrow, end: float, tokens: int, cost_nano: int | None
    ) -> None:
        """Reconcile a successful attempt at its end time ``end``."""
        end_us = round(end * 1_000_000)
        for key, limit, taken in borrow.taken:
            if limit.resource == "model_inferences":
                actual = 1
            elif limit.resource == "tokens":
                actual = tokens
            elif cost_nano is None:
                continue
            else:
                actual = cost_nano
            if actual != taken:
                self._seq += 1
                heapq.heappush(
                    self._due, (end_us, self._seq, key, limit, actual - taken)
                )


def _message(
    failed: Sequence[tuple[str, tuple[tuple[str, ...], ...], int, int]],
) -> str:
    if len(failed) == 1:
        resource, scope_key, requested, available = failed[0]
        return (
            f"TensorZero rate limit exceeded for `{_RESOURCE_NAME[resource]}` "
            f"resource.\nScope: {_scope_text(scope_key)}\nRequested: {requested}"
            f"\nAvailable: {available}"
        )
    lines = [f"TensorZero rate limits exceeded for {len(failed)} rules:"]
    for resource, scope_key, requested, available in failed:
        lines.append(
            f"- Resource: `{_RESOURCE_NAME[resource]}`\n"
            f"    ├ Scope: {_scope_text(scope_key)}\n"
            f"    ├ Requested: {requested}\n"
            f"    └ Available: {available}"
        )
    return "\n".join(lines)
