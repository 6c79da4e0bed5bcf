from __future__ import annotations

from pathlib import Path

import pytest

from pytest_runguard.example_agents.quality_gate import quality_gated
from pytest_runguard.guards import FeedbackCycleGuard
from simulator import Simulation
from simulator.errors import UsageError

FOLDER = Path(__file__).resolve().parents[2] / "scenarios" / "feedback_cycle"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def run(
    guard: FeedbackCycleGuard, scores: list[float], clock: Clock | None = None
) -> int:
    made = 0
    while guard.proceed():
        guard.record(f"response {made}", scores[made])
        made += 1
        if clock is not None:
            clock.now += 10
    return made


def test_attempt_limit_and_best_attempt() -> None:
    guard = FeedbackCycleGuard(max_attempts=3)
    assert run(guard, [0.2, 0.7, 0.4, 0.9]) == 3
    assert guard.best is not None
    assert (guard.best.response, guard.best.score) == ("response 1", 0.7)
    assert guard.stop_reason == "max_attempts=3"


def test_plateau_stops_early() -> None:
    guard = FeedbackCycleGuard(
        max_attempts=20, plateau_attempts=2, min_improvement=0.05
    )
    assert run(guard, [0.5, 0.6, 0.62, 0.61, 0.9]) == 4
    assert guard.stop_reason is not None and guard.stop_reason.startswith("plateau")
    assert guard.best is not None and guard.best.score == 0.6


def test_elapsed_limit_uses_the_given_clock() -> None:
    clock = Clock()
    guard = FeedbackCycleGuard(max_attempts=20, max_elapsed_s=25, clock=clock)
    assert run(guard, [0.1] * 20, clock) == 3
    assert guard.stop_reason == "max_elapsed_s=25"


def test_target_stops_at_once() -> None:
    guard = FeedbackCycleGuard(max_attempts=20, target=0.8)
    assert run(guard, [0.3, 0.85, 0.99]) == 2


def test_bad_limits_are_refused() -> None:
    with pytest.raises(UsageError):
        FeedbackCycleGuard(max_attempts=0)
    with pytest.raises(UsageError):
        FeedbackCycleGuard(max_attempts=3, plateau_attempts=0)


@pytest.mark.parametrize("seed", range(10))
def test_guarded_quality_loop_returns_its_best_attempt(seed: int) -> None:
    sim = Simulation.from_config(
        FOLDER / "tensorzero.toml", world=FOLDER / "world.toml", seed=seed
    )
    guard = FeedbackCycleGuard(
        max_attempts=5, plateau_attempts=3, clock=sim.clock.monotonic
    )
    response, score = quality_gated(sim.client(), cycle=guard, sim=sim)
    assert 1 <= len(guard.attempts) <= 5
    assert score == max(a.score for a in guard.attempts)
    assert response.inference_id == guard.best.response.inference_id  # type: ignore[union-attr]
    assert len(sim.feedback_records) == len(guard.attempts)
