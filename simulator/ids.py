"""UUIDv7 ids stamped with the virtual clock, and the gateway's id checks.

Episode, inference and feedback ids are UUIDv7: 48 bits of Unix
milliseconds from the virtual clock, then 74 bits from the simulation's
``ids`` random stream, so the same seed gives the same ids in every run.
"""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np

from simulator.rng import BitStream

#: ``EARLIEST_TIMESTAMP`` in the gateway's ``utils/uuid.rs`` (Unix seconds).
EARLIEST_TIMESTAMP_S = 1579751960
#: Episode ids stamped at or after this many Unix seconds are workflow
#: evaluation run ids (``WORKFLOW_EVALUATION_OFFSET_S``).
WORKFLOW_EVALUATION_THRESHOLD_S = 10_000_000_000

# bits 64-79 and 0-63 of the low 80 bits of an id, as numpy words
_VERSION_WORD = np.uint64(0x7 << 12)
_VARIANT_WORD = np.uint64(0b10 << 62)
_LOW62 = np.uint64((1 << 62) - 1)
_U2 = np.uint64(2)
_U62 = np.uint64(62)
_SAFE = uuid.SafeUUID.unknown
_new = object.__new__
# the slots' own setters: ``UUID`` refuses ``setattr`` and these skip the
# attribute lookup ``object.__setattr__`` would make
_set_int = vars(uuid.UUID)["int"].__set__
_set_safe = vars(uuid.UUID)["is_safe"].__set__


def uuid_from_int(value: int) -> uuid.UUID:
    """``uuid.UUID(int=value)`` without the argument parsing (hot path)."""
    made = _new(uuid.UUID)
    _set_int(made, value)
    _set_safe(made, _SAFE)
    return made


class IdMaker:
    """Makes UUIDv7 ids from a virtual time and a seeded bit stream."""

    __slots__ = ("_bits", "_tails")

    def __init__(self, bits: BitStream) -> None:
        self._bits = bits
        #: the low 80 bits of upcoming ids (version, variant and 74 random
        #: bits), laid out a batch at a time so an id is one ``|`` away
        self._tails: list[int] = []

    def _refill(self) -> None:
        high, low = self._bits.batch74()
        # the 74 random bits split as the UUIDv7 layout wants them: 12 bits
        # beside the version nibble, 62 beside the variant bits (numpy does
        # the bit work for the whole batch; Python only joins two words)
        word_hi = _VERSION_WORD | (high << _U2) | (low >> _U62)
        word_lo = _VARIANT_WORD | (low & _LOW62)
        self._tails = [
            (h << 64) | lo
            for h, lo in zip(
                reversed(word_hi.tolist()), reversed(word_lo.tolist()), strict=True
            )
        ]

    def uuid7(self, unix_seconds: float) -> uuid.UUID:
        if not self._tails:
            self._refill()
        made = _new(uuid.UUID)
        _set_int(made, (int(unix_seconds * 1000) << 80) | self._tails.pop())
        _set_safe(made, _SAFE)
        return made

    def uuid7_pair(self, unix_seconds: float) -> tuple[uuid.UUID, uuid.UUID]:
        """Two ids at one time (a new episode's and its first inference's):
        the same as two :meth:`uuid7` calls."""
        tails = self._tails
        if len(tails) < 2:
            return self.uuid7(unix_seconds), self.uuid7(unix_seconds)
        stamp = int(unix_seconds * 1000) << 80
        first = _new(uuid.UUID)
        _set_int(first, stamp | tails.pop())
        _set_safe(first, _SAFE)
        second = _new(uuid.UUID)
        _set_int(second, stamp | tails.pop())
        _set_safe(second, _SAFE)
        return first, second


class InvalidId(Exception):
    """An id the gateway refuses; ``message`` is the gateway's text."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def parse_uuid(value: Any) -> uuid.UUID:
    """Accept a ``uuid.UUID``, a ``uuid_utils.UUID`` or a string."""
    if isinstance(value, uuid.UUID):
        return value
    text = str(value)
    try:
        return uuid.UUID(text)
    except ValueError:
        # the real client refuses it before sending, with a ValueError
        raise ValueError(f"Failed to parse episode_id as UUID: {text!r}") from None


def uuid_timestamp_s(value: uuid.UUID) -> int | None:
    """Unix seconds encoded in a v1, v6 or v7 UUID (``None`` for the rest),
    as the ``uuid`` crate's ``get_timestamp`` reads it."""
    version = value.version if value.int else None
    if version == 7:
        return (value.int >> 80) // 1000
    if version in (1, 6):
        if version == 1:
            ticks = value.time
        else:
            raw = value.int >> 64
            ticks = ((raw >> 16) << 12) | (raw & 0xFFF)
        return (ticks - 0x01B21DD213814000) // 10_000_000
    return None


def validate_episode_id(value: Any, now_unix_s: float) -> uuid.UUID:
    """The gateway's checks on a caller's ``episode_id``.

    ``now_unix_s`` is the later of the virtual clock and the host clock: an
    agent may stamp ids with the real ``uuid7()``, which the real gateway
    accepts, and the check must not depend on how far the virtual clock has
    run.
    """
    parsed = parse_uuid(value)
    stamp = uuid_timestamp_s(parsed)
    if stamp is None:
        raise InvalidId(f"Failed to parse UUID as v7: {parsed}")
    if stamp >= WORKFLOW_EVALUATION_THRESHOLD_S:
        raise NotImplementedError(
            "runguard: workflow evaluation run episode ids are not simulated yet: "
            f"{parsed} is stamped past the workflow evaluation threshold"
        )
    version = parsed.version
    if version != 7:
        raise InvalidId(f"Invalid Episode ID: Version must be 7, got {version}")
    if stamp < EARLIEST_TIMESTAMP_S:
        raise InvalidId("Invalid Episode ID: Timestamp is too early")
    if stamp > int(now_unix_s):
        raise InvalidId("Invalid Episode ID: Timestamp is in the future")
    return parsed
