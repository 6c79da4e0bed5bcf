"""Variant choice, exactly as the gateway makes it.

``u`` is the first four bytes (big-endian) of SHA-256(function name ‖ the
episode id's 16 bytes) over 2**32, so the choice is sticky per (function,
episode) in every process.  Variants are walked in name order.  After a
variant fails the same ``u`` picks again among the variants not yet tried.

* no ``[experimentation]`` and no weights: ``pool[floor(u * len(pool))]``;
* ``static`` (and the deprecated forms the loader turns into it): the first
  name whose cumulative candidate weight exceeds ``u * total``; when no
  remaining candidate has weight, the first remaining fallback in list
  order; when those are gone too, a uniform pick with ``u`` among the
  remaining variants that are candidates or fallbacks (so a weight-0
  candidate is tried last);
* legacy per-variant ``weight``: weight > 0 are candidates, variants with
  no weight are fallbacks, weight 0 is never tried.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from uuid import UUID

from simulator.config.model import Experimentation, FunctionConfig

_sha256 = hashlib.sha256


def uniform_value(function_name: str, episode_id: UUID) -> float:
    """``get_uniform_value`` of the gateway: a number in [0, 1)."""
    return _uniform(function_name.encode(), episode_id.int)


def _uniform(prefix: bytes, episode: int) -> float:
    digest = _sha256(prefix + episode.to_bytes(16, "big")).digest()
    return int.from_bytes(digest[:4], "big") / 4294967296.0


class _Plan:
    """One experimentation config resolved against the function's variants."""

    __slots__ = ("kind", "names", "weights", "fallbacks", "allowed", "fixed")

    def __init__(self, exp: Experimentation, function: FunctionConfig) -> None:
        self.names: tuple[str, ...] = tuple(sorted(function.variants))
        self.kind = exp.kind
        self.weights: dict[str, float] = {}
        self.fallbacks: tuple[str, ...] = ()
        if exp.kind == "legacy":
            for name in self.names:
                weight = function.variants[name].weight
                if weight is None:
                    # NOTE: the gateway keeps these in a HashMap, so their
                    # order changes between gateway builds; name order is
                    # one of the orders it can take.
                    self.fallbacks += (name,)
                elif weight > 0:
                    self.weights[name] = weight
        elif exp.kind in ("static", "adaptive"):
            self.weights = dict(exp.candidate_variants)
            self.fallbacks = tuple(exp.fallback_variants)
        allowed = set(self.weights) | set(self.fallbacks)
        self.allowed: frozenset[str] | None = frozenset(allowed) if allowed else None
        self.fixed = self._fixed_order()

    def _fixed_order(self) -> tuple[str, ...] | None:
        """The order when no step of :meth:`order` has a choice to make (a
        single candidate each time), so ``u`` need not be computed; else
        ``None``.  Mirrors :meth:`order` step by step."""
        if self.kind == "default":
            return self.names if len(self.names) <= 1 else None
        if any(not weight >= 0 for weight in self.weights.values()):
            return None
        active = list(self.names)
        order: list[str] = []
        while active:
            pick: str | None = None
            if self.kind != "adaptive":
                positive = [n for n in active if self.weights.get(n, 0.0) > 0]
                if len(positive) > 1:
                    return None
                if positive:
                    pick = positive[0]
                else:
                    pick = next((n for n in self.fallbacks if n in active), None)
            if pick is None:
                pool = (
                    active
                    if self.allowed is None
                    else [n for n in active if n in self.allowed]
                )
                if len(pool) > 1:
                    return None
                if not pool:
                    break
                pick = pool[0]
            active.remove(pick)
            order.append(pick)
        return tuple(order)

    def order(self, u: float) -> Iterator[str]:
        active = list(self.names)
        if self.kind == "default":
            while active:
                yield active.pop(int(u * len(active)))
            return
        weights = self.weights
        while active:
            pick: str | None = None
            # NOTE: the adaptive sampler needs Postgres; without it the
            # gateway falls back to the uniform pick below, which is what
            # a gateway with no database (the embedded one) does.
            if self.kind != "adaptive":
                total = 0.0
                for name in active:
                    total += weights.get(name, 0.0)
                if total > 0:
                    threshold = u * total
                    cumulative = 0.0
                    for name in active:
                        cumulative += weights.get(name, 0.0)
                        if cumulative > threshold:
                            pick = name
                            break
                    if pick is None:
                        positive = [n for n in active if weights.get(n, 0.0) > 0]
                        pick = positive[-1] if positive else active[0]
                else:
                    for name in self.fallbacks:
                        if name in active:
                            pick = name
                            break
            if pick is None:
                pool = (
                    active
                    if self.allowed is None
                    else [n for n in active if n in self.allowed]
                )
                if not pool:
                    return
                pick = pool[int(u * len(pool))]
            active.remove(pick)
            yield pick


class VariantSampler:
    """Variant order for one function, per namespace."""

    __slots__ = ("function_name", "_prefix", "_base", "_namespaces", "_u")

    #: how many episodes' ``u`` are remembered (agents reuse episode ids)
    _REMEMBERED = 4096

    def __init__(self, function: FunctionConfig) -> None:
        self.function_name = function.name
        self._prefix = function.name.encode()
        self._base = _Plan(function.experimentation, function)
        self._namespaces: Mapping[str, _Plan] = {
            ns: _Plan(exp, function)
            for ns, exp in function.experimentation.namespaces.items()
        }
        #: episode id (``UUID.int``, hashed in C) -> its ``u``
        self._u: dict[int, float] = {}

    def order(self, episode_id: UUID, namespace: str | None = None) -> Iterable[str]:
        """The variants in the order the gateway would try them."""
        plan = self._base
        if namespace is not None:
            plan = self._namespaces.get(namespace, plan)
        if plan.fixed is not None:
            return plan.fixed
        key = episode_id.int
        u = self._u.get(key)
        if u is None:
            u = _uniform(self._prefix, key)
            if len(self._u) >= self._REMEMBERED:
                self._u.clear()
            self._u[key] = u
        return plan.order(u)
