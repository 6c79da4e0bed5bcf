"""Scenario files: the TOML format, atomic writes, version refusal."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import pytest

from pytest_runguard.scenario import (
    FORMAT_VERSION,
    Expected,
    Scenario,
    load_scenario,
    write_scenario,
)
from simulator.errors import ScenarioError


def _scenario(tmp_path: Path) -> Scenario:
    return Scenario(
        seed=123456789012,
        agent="plugin_agents:draft_loop",
        agent_file=tmp_path / "agents" / "plugin_agents.py",
        config=tmp_path / "configs" / "tensorzero.toml",
        world={
            "defaults": {"output_tokens": 150, "latency_s": 0.5},
            "models": {"openai::gpt-4o": {"outcomes": ["ok", "rate_limited"]}},
        },
        agent_kwargs={"calls": 20, "label": "x"},
        ceilings={"max_billed_usd": Decimal("0.05"), "max_provider_calls": 30},
        variant_weights={"draft": {"cheap": 0.5, "pricey": 0.5}},
        expected=Expected(
            outcome="breached",
            digest="ab" * 32,
            provider_calls=21,
            billed_usd=Decimal("0.0731"),
            breached=("max_billed_usd",),
        ),
        test="tests/test_x.py::test_loop[3]",
        run=17,
    )


def test_round_trip_keeps_every_field(tmp_path):
    scenario = _scenario(tmp_path)
    path = write_scenario(tmp_path / "runs" / "one.toml", scenario)
    loaded = load_scenario(path)
    assert loaded == scenario
    assert loaded.path == path


def test_paths_are_written_relative_to_the_scenario(tmp_path):
    path = write_scenario(tmp_path / "runs" / "one.toml", _scenario(tmp_path))
    text = path.read_text()
    assert 'config = "../configs/tensorzero.toml"' in text
    assert 'agent_file = "../agents/plugin_agents.py"' in text
    assert f"format_version = {FORMAT_VERSION}" in text
    # Money stays exact: text, not a float.
    assert 'max_billed_usd = "0.05"' in text
    assert 'billed_usd = "0.0731"' in text


def test_a_moved_folder_still_replays_its_paths(tmp_path):
    path = write_scenario(
        tmp_path / "a" / "runs" / "one.toml", _scenario(tmp_path / "a")
    )
    os.rename(tmp_path / "a", tmp_path / "b")
    loaded = load_scenario(tmp_path / "b" / "runs" / "one.toml")
    assert loaded.config == tmp_path / "b" / "configs" / "tensorzero.toml"
    assert path.name == "one.toml"


def test_newer_format_is_refused_with_the_fix(tmp_path):
    path = tmp_path / "future.toml"
    path.write_text(
        f"format_version = {FORMAT_VERSION + 1}\n"
        'seed = 1\nagent = "m:f"\nconfig = "c.toml"\n'
    )
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert message.startswith(f"runguard: {path}: format_version: {FORMAT_VERSION + 1}")
    assert "upgrade pytest-runguard" in message


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('seed = 1\nagent = "m:f"\nconfig = "c.toml"\n', "format_version"),
        (
            'format_version = 1\nseed = 1\nagent = "m:f"\nconfig = "c.toml"\nsed = 2\n',
            "sed",
        ),
        ('format_version = 1\nseed = -1\nagent = "m:f"\nconfig = "c.toml"\n', "seed"),
        ('format_version = 1\nseed = 1\nagent = "mf"\nconfig = "c.toml"\n', "agent"),
        ('format_version = 1\nseed = 1\nagent = "m:f"\n', "config"),
        (
            'format_version = 1\nseed = 1\nagent = "m:f"\nconfig = "c.toml"\n'
            "[ceilings]\nmax_dollars = 1\n",
            "max_dollars",
        ),
        (
            'format_version = 1\nseed = 1\nagent = "m:f"\nconfig = "c.toml"\n'
            '[expected]\noutcome = "exploded"\ndigest = "x"\nprovider_calls = 1\n'
            'billed_usd = "0"\n',
            "expected.outcome",
        ),
    ],
)
def test_bad_files_name_the_key(tmp_path, text, key):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ScenarioError, match=key) as info:
        load_scenario(path)
    assert str(path) in str(info.value)


def test_invalid_toml_is_a_scenario_error(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("format_version = = 1")
    with pytest.raises(ScenarioError, match="not valid TOML"):
        load_scenario(path)


def test_write_is_atomic_when_the_rename_fails(tmp_path, monkeypatch):
    target = tmp_path / "one.toml"
    write_scenario(target, _scenario(tmp_path))
    before = target.read_bytes()

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    changed = Scenario(**{**_scenario(tmp_path).__dict__, "seed": 1})
    with pytest.raises(OSError, match="disk full"):
        write_scenario(target, changed)
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.toml"]


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
@pytest.mark.parametrize("umask", [0o022, 0o077], ids=["022", "077"])
def test_written_file_mode_follows_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        target = write_scenario(tmp_path / "shared.toml", _scenario(tmp_path))
    finally:
        os.umask(old)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shared.toml"]


def test_a_directory_or_non_utf8_file_is_a_scenario_error(tmp_path):
    with pytest.raises(ScenarioError, match="cannot read it .*pass a scenario file"):
        load_scenario(tmp_path)
    latin = tmp_path / "latin.toml"
    latin.write_bytes(b"format_version = 1\n# \xff\n")
    with pytest.raises(ScenarioError, match="latin.toml: not UTF-8 text"):
        load_scenario(latin)
