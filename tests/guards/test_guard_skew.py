from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from pytest_runguard.example_agents.support import support_loop
from pytest_runguard.guards import VariantSkew, VariantSkewDetector
from simulator import Simulation
from simulator.errors import UsageError

FOLDER = Path(__file__).resolve().parents[2] / "scenarios" / "variant_skew"


def new_sim(seed: int) -> Simulation:
    return Simulation.from_config(
        FOLDER / "tensorzero.toml", world=FOLDER / "world.toml", seed=seed
    )


def test_one_long_episode_is_one_draw() -> None:
    sim = new_sim(1)
    detector = VariantSkewDetector(sim, "answer_ticket", min_episodes=1)
    support_loop(detector.wrap(sim.client()), tickets=20, turns_per_ticket=2)
    # 40 inferences, all on one variant: per inference that looks like 100%
    # against a 50% weight, but it is a single episode.
    assert sum(detector.inferences.values()) == 40
    assert len(detector.inferences) == 1
    assert len(detector.episodes) == 1
    assert detector.skews() == []
    detector.check()


def test_shares_are_counted_per_episode_against_the_plan() -> None:
    sim = new_sim(2)
    planned = {"mini": 0.9, "mixture_3": 0.1}
    detector = VariantSkewDetector(sim, "answer_ticket", expected=planned)
    support_loop(
        detector.wrap(sim.client()), customers=40, tickets=1, turns_per_ticket=1
    )
    counts = detector.episode_counts()
    assert sum(counts.values()) == 40
    # The config still says 50/50, so roughly half the episodes are mixtures.
    assert counts["mixture_3"] >= 10
    worst = detector.skews()[0]
    assert worst.variant == "mixture_3"
    assert worst.z > 3.0
    with pytest.raises(VariantSkew, match="mixture_3"):
        detector.check()


def test_config_weights_are_the_default_plan() -> None:
    sim = new_sim(3)
    detector = VariantSkewDetector(sim, "answer_ticket")
    assert detector.expected == {"mini": 0.5, "mixture_3": 0.5, "draft": 0.0}
    support_loop(
        detector.wrap(sim.client()), customers=60, tickets=1, turns_per_ticket=1
    )
    assert detector.skews() == []


def test_pin_on_skew_moves_new_episodes_to_the_planned_variant() -> None:
    sim = new_sim(4)
    detector = VariantSkewDetector(
        sim,
        "answer_ticket",
        expected={"mini": 1.0},
        pin_on_skew="mini",
    )
    support_loop(
        detector.wrap(sim.client()), customers=30, tickets=1, turns_per_ticket=1
    )
    by_episode = Counter(record.variant for record in sim.ledger.inferences)
    first_mixture = next(
        i for i, r in enumerate(sim.ledger.inferences) if r.variant == "mixture_3"
    )
    later = [r.variant for r in sim.ledger.inferences[first_mixture + 1 :]]
    assert by_episode["mixture_3"] == 1
    assert later and set(later) == {"mini"}


def test_bad_plans_are_refused() -> None:
    sim = new_sim(0)
    with pytest.raises(UsageError, match="ghost"):
        VariantSkewDetector(sim, "answer_ticket", expected={"ghost": 1.0})
    with pytest.raises(UsageError, match="not in the config"):
        VariantSkewDetector(sim, "nope")
