from __future__ import annotations

from pathlib import Path

import pytest

from simulator.config.files import read_toml
from simulator.errors import ConfigError
from simulator.fakeprovider.gateway import ProviderHarness
from simulator.fakeprovider.naming import decode_target
from simulator.rewrite import rewrite_config

MODELS = """
[models.claude]
routing = ["anthropic", "backup"]

[models.claude.providers.anthropic]
type = "anthropic"
model_name = "claude-3-5-haiku-20241022"
api_key_location = "env::ANTHROPIC_API_KEY"
cost = [
  { pointer = "/usage/input_tokens", cost_per_million = 0.8, required = true },
  { pointer = "/usage/output_tokens", cost_per_million = 4.0, required = true },
]

[models.claude.providers.backup]
type = "openai"
model_name = "gpt-4o-mini"
timeouts = { non_streaming = { total_ms = 5000 } }
"""

FUNCTIONS = """
[functions.f]
type = "chat"
system_schema = "schemas/system.json"

[functions.f.variants.main]
type = "chat_completion"
model = "claude"
system_template = "templates/system.minijinja"
retries = { num_retries = 2, max_delay_s = 1.0 }

[functions.f.variants.cheap]
type = "chat_completion"
model = "openai::gpt-4o-mini"
system_template = "templates/system.minijinja"

[functions.f.variants.bon]
type = "experimental_best_of_n_sampling"
candidates = ["main", "cheap"]

[functions.f.variants.bon.evaluator]
model = "openai::gpt-4o-mini"
system_template = "templates/system.minijinja"

[functions.f.variants.dicl]
type = "experimental_dynamic_in_context_learning"
model = "claude"
embedding_model = "openai::text-embedding-3-small"
k = 2
"""


@pytest.fixture
def team(tmp_path: Path) -> Path:
    root = tmp_path / "team"
    (root / "schemas").mkdir(parents=True)
    (root / "templates").mkdir()
    (root / "schemas" / "system.json").write_text(
        '{"type": "object", "properties": {"name": {"type": "string"}},'
        ' "required": ["name"]}'
    )
    (root / "templates" / "system.minijinja").write_text("You help {{ name }}.")
    (root / "models.toml").write_text(MODELS)
    (root / "functions.toml").write_text(FUNCTIONS)
    return root


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_every_provider_points_at_the_fake_and_nothing_else_changes(
    team: Path, tmp_path: Path
) -> None:
    before = _snapshot(team)
    out = tmp_path / "out"
    rewritten = rewrite_config(team / "*.toml", "http://127.0.0.1:9/v1/", out_dir=out)
    assert _snapshot(team) == before
    assert rewritten.path == out / "tensorzero.toml"
    data = read_toml(rewritten.path)

    providers = data["models"]["claude"]["providers"]
    assert data["models"]["claude"]["routing"] == ["anthropic", "backup"]
    # Anthropic keeps its own request format; every other type speaks OpenAI's.
    assert [p["type"] for p in providers.values()] == ["anthropic", "openai"]
    for provider in providers.values():
        assert provider["api_base"] == "http://127.0.0.1:9/v1/"
        assert provider["api_key_location"] == "env::RUNGUARD_FAKE_API_KEY"
    assert providers["anthropic"]["cost"][0]["pointer"] == "/usage/input_tokens"
    assert providers["backup"]["timeouts"] == {"non_streaming": {"total_ms": 5000}}
    # Anthropic's name leads with the original model name: the gateway picks
    # its default ``max_tokens`` by model family.
    assert providers["anthropic"]["model_name"].startswith("claude-3-5-haiku")
    target = decode_target(providers["anthropic"]["model_name"])
    assert (target.model, target.provider, target.provider_type) == (
        "claude",
        "anthropic",
        "anthropic",
    )

    variants = data["functions"]["f"]["variants"]
    assert variants["main"]["retries"] == {"num_retries": 2, "max_delay_s": 1.0}
    assert variants["cheap"]["model"] == "runguard::openai::gpt-4o-mini"
    assert variants["bon"]["evaluator"]["model"] == "runguard::openai::gpt-4o-mini"
    assert variants["dicl"]["embedding_model"] == (
        "runguard::openai::text-embedding-3-small"
    )
    assert rewritten.shorthands == {
        "openai::gpt-4o-mini": "runguard::openai::gpt-4o-mini",
        "openai::text-embedding-3-small": "runguard::openai::text-embedding-3-small",
    }
    shorthand = data["models"]["runguard::openai::gpt-4o-mini"]["providers"]["openai"]
    assert decode_target(shorthand["model_name"]).model == "openai::gpt-4o-mini"
    assert "cost" not in shorthand

    template = Path(variants["main"]["system_template"])
    assert template.is_absolute()
    assert template.read_text() == "You help {{ name }}."
    assert Path(data["functions"]["f"]["system_schema"]).is_file()


def test_the_real_gateway_runs_the_rewritten_config(team: Path, tmp_path: Path) -> None:
    world = {"defaults": {"latency_s": 0, "output_tokens": 9}}
    with ProviderHarness(world) as harness:
        gateway = harness.gateway(team / "*.toml", out_dir=tmp_path / "out")
        inp = {
            "system": {"name": "Ada"},
            "messages": [{"role": "user", "content": "hi"}],
        }
        main = gateway.inference(function_name="f", variant_name="main", input=inp)
        cheap = gateway.inference(function_name="f", variant_name="cheap", input=inp)
        calls = harness.calls()
    # "You help Ada." is 4 tokens; "hi" is 1; 4 per message and 3 per request.
    assert main.usage.input_tokens == 3 + (4 + 4) + (4 + 1)
    assert main.usage.output_tokens == 9
    # Anthropic-type pointers resolve on the fake provider's raw usage.
    assert main.usage.cost == pytest.approx(16 * 0.8e-6 + 9 * 4e-6)
    assert cheap.usage.cost is None
    assert [(c.model, c.provider, c.provider_type) for c in calls] == [
        ("claude", "anthropic", "anthropic"),
        ("openai::gpt-4o-mini", "openai", "openai"),
    ]
    assert [(c.function, c.variant, c.roles) for c in calls] == [
        ("f", "main", ("system", "user")),
        ("f", "cheap", ("system", "user")),
    ]


def test_unreadable_config_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[models.m\n")
    out = tmp_path / "out"
    with pytest.raises(ConfigError, match="bad.toml"):
        rewrite_config(bad, "http://127.0.0.1:9/v1/", out_dir=out)
    assert not out.exists()
