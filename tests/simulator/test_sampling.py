from __future__ import annotations

import hashlib
import os
import uuid
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from fake_openai import fake_openai
from simhelpers import MESSAGE, openai_model

from simulator import Simulation
from simulator.config import load_config
from simulator.errors import ConfigWarning
from simulator.ids import uuid_from_int
from simulator.sampling import VariantSampler, uniform_value

VARIANTS = ("primary", "canary", "zeta", "alpha")


def functions_toml() -> str:
    """Four functions, one per way of writing the weights.  Names sort
    differently from config order, so name order matters."""
    text = ""
    for fn in ("legacy", "static", "static_weights", "uniform", "fallbacks"):
        text += f'[functions.{fn}]\ntype = "chat"\n'
        for i, v in enumerate(VARIANTS):
            text += f'[functions.{fn}.variants.{v}]\ntype = "chat_completion"\n'
            text += f'model = "m_{v}"\n'
            if fn == "legacy" and v != "alpha":
                text += f"weight = {[0.5, 0.2, 0.3][i]}\n"
        if fn in ("static", "static_weights"):
            text += (
                f'[functions.{fn}.experimentation]\ntype = "{fn}"\n'
                'candidate_variants = {"primary" = 0.5, "canary" = 0.2, "zeta" = 0.3}\n'
            )
        if fn == "fallbacks":
            text += (
                f'[functions.{fn}.experimentation]\ntype = "static"\n'
                'candidate_variants = {"zeta" = 2.0, "canary" = 1.0, "alpha" = 0.0}\n'
                'fallback_variants = ["primary"]\n'
            )
    return text


def reference_order(
    function: str,
    episode: uuid.UUID,
    weights: dict[str, float] | None,
    fallbacks: list[str],
    names: list[str],
) -> list[str]:
    """The gateway's algorithm as the observations describe it."""
    h = hashlib.sha256(function.encode() + episode.bytes).digest()
    u = int.from_bytes(h[:4], "big") / 2**32
    active = sorted(names)
    out: list[str] = []
    allowed = None if weights is None else set(weights) | set(fallbacks)
    while active:
        pick = None
        if weights is not None:
            total = sum(weights.get(n, 0.0) for n in active)
            if total > 0:
                acc = 0.0
                for n in active:
                    acc += weights.get(n, 0.0)
                    if acc > u * total:
                        pick = n
                        break
            else:
                pick = next((f for f in fallbacks if f in active), None)
        if pick is None:
            pool = [n for n in active if allowed is None or not allowed or n in allowed]
            if not pool:
                break
            pick = pool[int(u * len(pool))]
        active.remove(pick)
        out.append(pick)
    return out


SPECS: dict[str, tuple[dict[str, float] | None, list[str]]] = {
    "legacy": ({"primary": 0.5, "canary": 0.2, "zeta": 0.3}, ["alpha"]),
    "static": ({"primary": 0.5, "canary": 0.2, "zeta": 0.3}, []),
    "static_weights": ({"primary": 0.5, "canary": 0.2, "zeta": 0.3}, []),
    "uniform": (None, []),
    "fallbacks": ({"zeta": 2.0, "canary": 1.0, "alpha": 0.0}, ["primary"]),
}


@pytest.fixture(scope="module")
def config_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    os.environ.setdefault("RUNGUARD_FAKE_OPENAI_KEY", "placeholder")
    path = tmp_path_factory.mktemp("sampling") / "tensorzero.toml"
    path.write_text(
        "".join(openai_model(f"m_{v}") for v in VARIANTS) + functions_toml()
    )
    return path


def test_uniform_value_matches_the_hash() -> None:
    episode = uuid.UUID("0192b1a2-0000-7000-8000-000000000001")
    digest = hashlib.sha256(b"f" + episode.bytes).digest()
    assert uniform_value("f", episode) == int.from_bytes(digest[:4], "big") / 2**32


def test_20000_random_pairs_follow_the_gateway_algorithm(config_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        config = load_config(str(config_path))
    rng = np.random.default_rng(12345)
    samplers = {name: VariantSampler(config.functions[name]) for name in SPECS}
    checked = 0
    for _ in range(4000):
        ms = int(rng.integers(1_600_000_000_000, 1_800_000_000_000))
        rand = int(rng.integers(0, 2**62)) | (int(rng.integers(0, 2**12)) << 64)
        episode = uuid_from_int((ms << 80) | (7 << 76) | (2 << 62) | rand)
        for name, (weights, fallbacks) in SPECS.items():
            expected = reference_order(
                name, episode, weights, fallbacks, list(VARIANTS)
            )
            got = list(samplers[name].order(episode))
            assert got == expected, (name, episode)
            checked += 1
    assert checked == 20_000


def test_legacy_weight_zero_is_never_tried(make_sim: Callable[..., Simulation]) -> None:
    toml = (
        openai_model("m_a")
        + openai_model("m_z")
        + """
[functions.f]
type = "chat"
[functions.f.variants.a]
type = "chat_completion"
model = "m_a"
weight = 1.0
[functions.f.variants.z]
type = "chat_completion"
model = "m_z"
weight = 0.0
"""
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sim = make_sim(
            toml, world={"models": {"m_a": {"failure_rates": {"server_error": 1.0}}}}
        )
    client = sim.client()
    for _ in range(20):
        with pytest.raises(Exception, match="All variants failed"):
            client.inference(function_name="f", input=MESSAGE)
    assert set(sim.ledger.model) == {"m_a"}
    # pinning a weight-0 variant still works
    assert (
        client.inference(
            function_name="f", input=MESSAGE, variant_name="z"
        ).variant_name
        == "z"
    )


def test_episode_stickiness(
    make_sim: Callable[..., Simulation], config_path: Path
) -> None:
    # The shared config holds every weighting form, the deprecated ones too.
    with (
        pytest.warns(ConfigWarning, match="per-variant `weight` is deprecated"),
        pytest.warns(ConfigWarning, match="type `static_weights` is deprecated"),
    ):
        sim = Simulation.from_config(str(config_path), seed=3)
    client = sim.client()
    first = client.inference(function_name="static", input=MESSAGE)
    names = {
        client.inference(
            function_name="static", input=MESSAGE, episode_id=first.episode_id
        ).variant_name
        for _ in range(50)
    }
    assert names == {first.variant_name}


def test_500_pairs_agree_with_the_real_gateway(
    config_path: Path, tmp_path: Path
) -> None:
    tensorzero = pytest.importorskip("tensorzero")
    os.environ["RUNGUARD_FAKE_OPENAI_KEY"] = "placeholder"
    with fake_openai() as server:
        port = server.server_address[1]
        text = config_path.read_text().replace(
            'model_name = "',
            f'api_base = "http://127.0.0.1:{port}/v1/"\nmodel_name = "',
        )
        path = tmp_path / "tensorzero.toml"
        path.write_text(text)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gateway = tensorzero.TensorZeroGateway.build_embedded(
                config_file=str(path), clickhouse_url=None
            )
            sim = Simulation.from_config(str(path), seed=0)
        client = sim.client()
        rng = np.random.default_rng(7)
        agreed = 0
        for _ in range(110):
            ms = int(rng.integers(1_700_000_000_000, 1_760_000_000_000))
            rand = int(rng.integers(0, 2**62))
            episode = uuid_from_int((ms << 80) | (7 << 76) | (2 << 62) | rand)
            for name in SPECS:
                real = gateway.inference(
                    function_name=name, input=MESSAGE, episode_id=episode
                )
                ours = client.inference(
                    function_name=name, input=MESSAGE, episode_id=episode
                )
                assert ours.variant_name == real.variant_name, (name, episode)
                agreed += 1
    assert agreed >= 500
