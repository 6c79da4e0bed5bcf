"""Every file under ``invalid/`` breaks one rule; we and the real gateway
must both refuse it, and our message must name the file and the key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from tests_config_support import INVALID_DIR, invalid_cases

from simulator.config import load_config
from simulator.errors import ConfigError

CASES = invalid_cases()


def _header(case: Path) -> tuple[str, str]:
    first = case / "a.toml" if case.is_dir() else case
    lines = first.read_text(encoding="utf-8").splitlines()
    rule = re.fullmatch(r"# rule: (.+)", lines[0])
    key = re.fullmatch(r"# key: (.+)", lines[1])
    assert rule and key, f"{first} must start with '# rule:' and '# key:' lines"
    return rule.group(1), key.group(1)


def _target(case: Path) -> str:
    return str(case / "*.toml") if case.is_dir() else str(case)


def test_there_are_at_least_25_rules() -> None:
    assert len(CASES) >= 25


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_we_refuse_naming_file_and_key(case: Path) -> None:
    _, key = _header(case)
    with pytest.raises(ConfigError) as info:
        load_config(_target(case))
    message = str(info.value)
    assert message.startswith("runguard: ")
    assert info.value.file is not None
    assert str(info.value.file) in message
    assert info.value.file.resolve().is_relative_to(INVALID_DIR.resolve())
    if key != "-":
        assert info.value.key is not None and info.value.key.startswith(key), message
        assert f": {info.value.key}: " in message
    else:
        # A TOML syntax error has no key; the parser's position stands in.
        assert "line" in message
    assert "; " in message, "the message must say what to do"


def test_the_real_gateway_refuses_every_case(gateway_invalid_verdicts: dict) -> None:
    accepted = [
        name for name, verdict in gateway_invalid_verdicts.items() if verdict.accepted
    ]
    assert accepted == []
    crashed = sorted(
        Path(name.replace("/*.toml", "")).stem
        for name, verdict in gateway_invalid_verdicts.items()
        if verdict.crashed
    )
    # The gateway has no cycle guard: a self-referencing best-of-N or a
    # best-of-N / mixture-of-N loop kills the process building it.
    assert crashed == ["bon_self_candidate", "mon_bon_cycle"]


@pytest.fixture(scope="module")
def gateway_invalid_verdicts() -> dict:
    from gateway_oracle import gateway_verdicts

    return gateway_verdicts([_target(case) for case in CASES])
