from __future__ import annotations

from pathlib import Path

import pytest

from simulator.errors import WorldError
from simulator.world import World

FULL = {
    "price_date": "2026-05-01",
    "defaults": {"output_tokens": {"dist": "poisson", "lam": 50}, "latency_s": 0.5},
    "models": {
        "m": {
            "outcomes": ["ok", 429, "timeout"],
            "failure_rates": {"server_error": 0.1},
            "providers": {"p": {"latency_s": {"dist": "uniform", "low": 1, "high": 2}}},
        }
    },
    "embedding_models": {"emb": {"input_tokens": 10}},
    "dicl": {"f": {"v": {"pool_size": 5, "example_tokens": 300}}},
    "scores": {"quality": {"*": {"p_true": 0.7}}},
    "prices": {"m": {"input_per_million": 1, "output_per_million": 2}},
}


def test_round_trip_and_merging() -> None:
    world = World.from_dict(FULL)
    assert World.from_dict(world.to_dict()).to_dict() == FULL
    settings = world.model_settings("m", "p")
    assert settings["latency_s"] == {"dist": "uniform", "low": 1, "high": 2}
    assert settings["output_tokens"] == {"dist": "poisson", "lam": 50}
    assert settings["bill_failed"] is False
    assert world.price_date.isoformat() == "2026-05-01"
    assert world.score_model("quality", "any")["p_true"] == 0.7


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"colour": 1}, "colour"),
        ({"models": {"m": {"latency": 1}}}, 'models."m".latency'),
        ({"models": {"m": {"outcomes": ["boom"]}}}, 'models."m".outcomes[0]'),
        (
            {"defaults": {"output_tokens": {"dist": "gamma"}}},
            "defaults.output_tokens.dist",
        ),
        (
            {"models": {"m": {"failure_rates": {"timeout": 0.7, "server_error": 0.6}}}},
            'models."m".failure_rates',
        ),
        ({"prices": {"m": {"input_per_million": 1}}}, 'prices."m".output_per_million'),
    ],
)
def test_bad_worlds_are_refused_naming_the_key(data: dict, key: str) -> None:
    with pytest.raises(WorldError) as info:
        World.from_dict(data)
    assert str(info.value).startswith("runguard: <world>: " + key)


def test_load_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "world.toml"
    path.write_text('[defaults]\nlatency_s = "slow"\n')
    with pytest.raises(WorldError, match=r"world\.toml: defaults\.latency_s"):
        World.load(path)
