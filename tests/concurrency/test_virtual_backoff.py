"""A simulated hour of 429 backoff runs on the virtual clock (its wall
time is measured by ``benchmarks/virtual_backoff.py``, not here)."""

from __future__ import annotations

from collections.abc import Callable

from backoff_agent import CONFIG, HOUR_S, WORLD, agent

from simulator import Simulation


def test_an_hour_of_backoff(make_sim: Callable[..., Simulation]) -> None:
    def run() -> tuple[list[tuple[int, int]], Simulation]:
        sim = make_sim(CONFIG, world=WORLD)
        return sim.run(agent(sim.async_client(), sim)), sim

    results, sim = run()
    assert sim.clock.now >= HOUR_S
    ok = sum(r[0] for r in results)
    refused = sum(r[1] for r in results)
    assert ok == sim.ledger.count(outcome="ok")
    assert refused == sim.ledger.count_429() == sim.ledger.count(status=429)
    # never more than two admitted requests in any 60 s window
    starts = sorted(r.start_s for r in sim.ledger.rows() if r.outcome == "ok")
    assert all(b - a >= 60.0 for a, b in zip(starts, starts[2:], strict=False))
    # backing off, the workers still use most of the two-a-minute budget
    assert ok > HOUR_S // 60
    again, sim2 = run()
    assert again == results and sim2.ledger.digest() == sim.ledger.digest()
