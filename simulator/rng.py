"""Seeded random streams, one per purpose, drawn in numpy batches.

Each purpose (``"outcome"``, ``"latency"``, ``"output_tokens"`` of one model
and provider, ``"ids"``, ``"backoff"``, ...) gets its own PCG64 generator
seeded from the simulation seed and the purpose's name.  Adding a model to
the world therefore gives that model new streams without shifting the draws
of any other.  Numbers are drawn a batch at a time and handed out from a
Python list, which is what keeps a draw on the hot path cheap.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

BATCH = 1024


def generator(seed: int, purpose: str, *keys: str) -> np.random.Generator:
    """The PCG64 generator of one purpose; independent of every other."""
    name = "\x1f".join((purpose, *keys)).encode()
    digest = hashlib.sha256(name).digest()
    words = [int.from_bytes(digest[i : i + 4], "little") for i in range(0, 32, 4)]
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, *words])))


class UniformStream:
    """Floats in [0, 1)."""

    __slots__ = ("_gen", "_buf")

    def __init__(self, gen: np.random.Generator) -> None:
        self._gen = gen
        self._buf: list[float] = []

    def next(self) -> float:
        buf = self._buf
        if not buf:
            buf.extend(reversed(self._gen.random(BATCH).tolist()))
        return buf.pop()


class BitStream:
    """Random bits for ids."""

    __slots__ = ("_gen", "_buf")

    def __init__(self, gen: np.random.Generator) -> None:
        self._gen = gen
        self._buf: list[int] = []

    def next74(self) -> int:
        buf = self._buf
        if len(buf) < 2:
            raw = self._gen.integers(0, 2**64, size=2 * BATCH, dtype=np.uint64)
            buf.extend(reversed(raw.tolist()))
        high = buf.pop() & 0x3FF
        return (high << 64) | buf.pop()

    def batch74(self) -> tuple[np.ndarray, np.ndarray]:
        """The next batch of :meth:`next74` values as two ``uint64`` arrays,
        their bits 64-73 and their bits 0-63 (the same numbers in the same
        order; the buffer of :meth:`next74` is used up first)."""
        if self._buf:
            values = [self.next74() for _ in range(len(self._buf) // 2)]
            high = np.array([v >> 64 for v in values], dtype=np.uint64)
            low = np.array([v & 0xFFFFFFFFFFFFFFFF for v in values], dtype=np.uint64)
            return high, low
        raw = self._gen.integers(0, 2**64, size=2 * BATCH, dtype=np.uint64)
        return raw[0::2] & np.uint64(0x3FF), raw[1::2]


class Sampler:
    """Draws from one distribution; ``Fixed`` never touches a stream."""

    __slots__ = ()

    #: the value when the distribution is a constant, else ``None``
    fixed: float | None = None

    def draw(self) -> Any:
        raise NotImplementedError

    def ceiling(self) -> float:
        """A bound on the next draws: on every draw up to the next batch."""
        raise NotImplementedError

    def mean(self) -> float:
        raise NotImplementedError


class Fixed(Sampler):
    __slots__ = ("value",)

    def __init__(self, value: float) -> None:
        self.value = value

    @property
    def fixed(self) -> float | None:  # type: ignore[override]
        return self.value

    def draw(self) -> Any:
        return self.value

    def ceiling(self) -> float:
        return float(self.value)

    def mean(self) -> float:
        return float(self.value)


class Batched(Sampler):
    """A distribution drawn a batch at a time with numpy."""

    __slots__ = ("_gen", "_buf", "_spec", "_integer", "_low", "_high", "_top")

    def __init__(
        self,
        gen: np.random.Generator,
        spec: Mapping[str, Any],
        *,
        integer: bool,
        low: float,
        high: float | None,
    ) -> None:
        self._gen = gen
        self._spec = dict(spec)
        self._integer = integer
        self._low = max(low, float(spec.get("min", low)))
        top = spec.get("max", high)
        self._high = None if top is None else float(top)
        self._buf: list[Any] = []
        #: the largest value of the current batch
        self._top = 0.0

    def _batch(self) -> np.ndarray:
        spec, gen = self._spec, self._gen
        kind = spec["dist"]
        if kind == "uniform":
            values = gen.uniform(float(spec["low"]), float(spec["high"]), BATCH)
        elif kind == "normal":
            values = gen.normal(float(spec["mean"]), float(spec["sd"]), BATCH)
        elif kind == "lognormal":
            values = gen.lognormal(float(spec["mu"]), float(spec["sigma"]), BATCH)
        elif kind == "poisson":
            values = gen.poisson(float(spec["lam"]), BATCH).astype(np.float64)
        else:  # choice
            weights = spec.get("weights")
            p = None
            if weights is not None:
                w = np.asarray(weights, dtype=np.float64)
                p = w / w.sum()
            values = gen.choice(
                np.asarray(spec["values"], dtype=np.float64), BATCH, p=p
            )
        values = np.clip(values, self._low, self._high)
        if self._integer:
            return np.rint(values).astype(np.int64)
        return values

    def _refill(self) -> None:
        batch = self._batch()
        self._top = float(batch.max())
        self._buf.extend(reversed(batch.tolist()))

    def draw(self) -> Any:
        buf = self._buf
        if not buf:
            self._refill()
        return buf.pop()

    def ceiling(self) -> float:
        # drawing the batch early changes no value: draws pop it in order
        if not self._buf:
            self._refill()
        return self._top

    def mean(self) -> float:
        spec = self._spec
        kind = spec["dist"]
        if kind == "uniform":
            return (float(spec["low"]) + float(spec["high"])) / 2
        if kind == "normal":
            return float(spec["mean"])
        if kind == "lognormal":
            return float(np.exp(float(spec["mu"]) + float(spec["sigma"]) ** 2 / 2))
        if kind == "poisson":
            return float(spec["lam"])
        values: Sequence[float] = spec["values"]
        weights = spec.get("weights") or [1.0] * len(values)
        return float(np.dot(values, weights) / np.sum(weights))


def sampler(
    spec: float | Mapping[str, Any],
    gen: np.random.Generator | None,
    *,
    integer: bool,
    low: float = 0.0,
    high: float | None = None,
) -> Sampler:
    """A sampler for a world value: a number or a ``{dist = ...}`` table
    (already validated by :mod:`simulator.world`)."""
    if not isinstance(spec, Mapping):
        value = max(low, float(spec))
        return Fixed(int(round(value)) if integer else value)
    if spec["dist"] == "fixed":
        return sampler(spec["value"], None, integer=integer, low=low, high=high)
    assert gen is not None
    return Batched(gen, spec, integer=integer, low=low, high=high)
