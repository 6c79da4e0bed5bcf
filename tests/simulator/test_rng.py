from __future__ import annotations

from simulator.rng import UniformStream, generator, sampler


def test_streams_are_independent_per_purpose() -> None:
    a = UniformStream(generator(0, "latency", "m", "p"))
    first = [a.next() for _ in range(5)]
    # creating and using another purpose's stream does not shift this one
    other = UniformStream(generator(0, "latency", "m2", "p"))
    other.next()
    again = UniformStream(generator(0, "latency", "m", "p"))
    assert [again.next() for _ in range(5)] == first


def test_distributions_draw_in_range_and_integers_round() -> None:
    uni = sampler(
        {"dist": "uniform", "low": 10, "high": 20}, generator(0, "x"), integer=True
    )
    values = [uni.draw() for _ in range(3000)]
    assert min(values) >= 10 and max(values) <= 20
    assert all(isinstance(v, int) for v in values)
    clipped = sampler(
        {"dist": "normal", "mean": 0, "sd": 5, "min": 1},
        generator(0, "y"),
        integer=False,
    )
    assert min(clipped.draw() for _ in range(2000)) >= 1
    choice = sampler(
        {"dist": "choice", "values": [3, 7]}, generator(0, "z"), integer=True
    )
    assert {choice.draw() for _ in range(200)} == {3, 7}
    assert sampler(42, None, integer=True).draw() == 42
