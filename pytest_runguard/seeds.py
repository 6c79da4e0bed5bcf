"""Seeds: the one base seed of a pytest run and the seeds derived from it.

The base seed is resolved once per run (an integer, ``random`` or ``last``)
and every test's seed is a stable hash of the base seed and the test's node
id, so neither test order nor xdist placement changes what a test simulates.
Python's ``hash()`` is salted per process and is never used here.
"""

from __future__ import annotations

import argparse
import hashlib
import secrets
from typing import Any, Literal

#: ``config.cache`` key under which the last resolved base seed is kept.
CACHE_KEY = "runguard/seed"
#: the ``workerinput`` key that carries the base seed to xdist workers.
WORKER_KEY = "runguard_seed"
#: derived seeds stay below 2**63 so TOML (signed 64-bit) can hold them.
_SEED_BITS = 63

SeedChoice = int | Literal["random", "last"]


def parse_seed(value: str) -> SeedChoice:
    """``--runguard-seed`` values: a non-negative integer, ``random`` or ``last``."""
    text = value.strip()
    if text in ("random", "last"):
        return text  # type: ignore[return-value]
    try:
        seed = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a seed; use a non-negative integer, "
            "'random' (a fresh seed) or 'last' (the previous run's seed)"
        ) from None
    if seed < 0:
        raise argparse.ArgumentTypeError(
            f"{value!r} is negative; use a non-negative integer, 'random' or 'last'"
        )
    return seed


def resolve_seed(choice: SeedChoice, cache: Any | None) -> int:
    """Turn the option's value into the run's base seed and remember it.

    ``cache`` is pytest's ``config.cache`` (absent with ``-p no:cacheprovider``);
    ``last`` with nothing remembered falls back to a fresh random seed, as
    pytest-randomly does.
    """
    if isinstance(choice, int):
        seed = choice
    elif choice == "last" and cache is not None:
        remembered = cache.get(CACHE_KEY, None)
        seed = remembered if isinstance(remembered, int) else _fresh_seed()
    else:
        seed = _fresh_seed()
    if cache is not None:
        cache.set(CACHE_KEY, seed)
    return seed


def _fresh_seed() -> int:
    # A new seed is the only place randomness enters; everything after it is
    # derived, so printing it reproduces the whole run.
    return secrets.randbits(32)


def derive_seed(base: int, *parts: str | int) -> int:
    """A seed that depends only on ``base`` and ``parts`` (sha256, not ``hash``)."""
    text = "\x1f".join([str(base), *(str(p) for p in parts)])
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") >> (64 - _SEED_BITS)


def nodeid_seed(base: int, nodeid: str) -> int:
    """The seed of one test: the same for a node id in any order or worker."""
    return derive_seed(base, "test", nodeid)


def run_seeds(seed: int, runs: int) -> list[int]:
    """The seeds of the ``runs`` simulations of a sweep that starts at ``seed``."""
    return [derive_seed(seed, "run", index) for index in range(runs)]
