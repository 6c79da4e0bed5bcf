from __future__ import annotations

import uuid

import pytest

from simulator.ids import IdMaker, InvalidId, validate_episode_id
from simulator.rng import BitStream, generator

NOW = 1_780_000_000.0


def test_uuid7_carries_the_virtual_time_and_is_seeded() -> None:
    a = IdMaker(BitStream(generator(1, "ids"))).uuid7(NOW)
    b = IdMaker(BitStream(generator(1, "ids"))).uuid7(NOW)
    assert a == b and a.version == 7
    assert (a.int >> 80) == int(NOW * 1000)
    assert IdMaker(BitStream(generator(2, "ids"))).uuid7(NOW) != a


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            uuid.UUID("7ed6bc38-7791-4700-b50a-34a6f92aff7c"),
            "Failed to parse UUID as v7: ",
        ),
        (uuid.UUID(int=0), "Failed to parse UUID as v7: "),
        (uuid.uuid1(), "Invalid Episode ID: Version must be 7, got 1"),
    ],
)
def test_gateway_episode_id_checks(value: uuid.UUID, message: str) -> None:
    with pytest.raises(InvalidId, match=message):
        validate_episode_id(value, NOW)


def test_timestamps_too_early_or_in_the_future() -> None:
    maker = IdMaker(BitStream(generator(0, "ids")))
    with pytest.raises(InvalidId, match="Timestamp is too early"):
        validate_episode_id(maker.uuid7(1_500_000_000), NOW)
    with pytest.raises(InvalidId, match="Timestamp is in the future"):
        validate_episode_id(maker.uuid7(NOW + 86400), NOW)
    ok = maker.uuid7(NOW - 5)
    assert validate_episode_id(str(ok), NOW) == ok


def test_a_non_uuid_string_is_refused_like_the_client_does() -> None:
    with pytest.raises(ValueError, match="Failed to parse episode_id as UUID"):
        validate_episode_id("not-a-uuid", NOW)


def test_ids_lay_out_the_stream_bits_as_uuidv7_does() -> None:
    """Batched ids equal ids built one at a time from the stream's 74-bit
    values: 12 bits after the version nibble, 62 after the variant bits.
    2,500 ids cross two batch boundaries, after one value drawn alone."""
    bits = BitStream(generator(5, "ids"))
    maker = IdMaker(bits)
    reference = BitStream(generator(5, "ids"))
    assert bits.next74() == reference.next74()
    for _ in range(2_500):
        made = maker.uuid7(NOW)
        rand = reference.next74()
        expected = uuid.UUID(
            int=(int(NOW * 1000) << 80)
            | (0x7 << 76)
            | ((rand >> 62) << 64)
            | (0b10 << 62)
            | (rand & ((1 << 62) - 1))
        )
        assert made == expected
        assert made.version == 7 and made.variant == uuid.RFC_4122


def test_a_pair_of_ids_is_two_ids_in_a_row() -> None:
    one = IdMaker(BitStream(generator(9, "ids")))
    paired = IdMaker(BitStream(generator(9, "ids")))
    for i in range(1_500):  # crosses a batch boundary, odd and even
        now = NOW + i / 7
        assert paired.uuid7_pair(now) == (one.uuid7(now), one.uuid7(now))
        assert paired.uuid7(now) == one.uuid7(now)
