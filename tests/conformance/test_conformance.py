"""The differential suite: every case through the real gateway and the
simulator, compared call by call (see ``cases.py`` for the table)."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from simulator.fakeprovider.gateway import ProviderHarness

from .cases import CASES
from .runner import Case, run_gateway, run_simulator


def _param(case: Case) -> object:
    marks = [pytest.mark.xfail(strict=True, reason=case.xfail)] if case.xfail else []
    if case.deprecated:
        # The message starts with the file and key; match the problem after them.
        marks.append(
            pytest.mark.filterwarnings(
                f"ignore:.*{re.escape(case.deprecated)}:simulator.errors.ConfigWarning"
            )
        )
    return pytest.param(case, id=case.id, marks=marks)


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_simulator_agrees_with_the_gateway(
    case: Case, provider_harness: ProviderHarness, tmp_path: Path
) -> None:
    gateway = run_gateway(case, provider_harness, tmp_path / "gateway")
    simulated = run_simulator(case, tmp_path / "simulator")
    assert len(gateway) == len(simulated) == len(case.steps)
    for i, (want, got) in enumerate(zip(gateway, simulated, strict=True)):
        where = f"step {i} ({case.steps[i]})"
        assert (got.kind, got.status, got.message) == (
            want.kind,
            want.status,
            want.message,
        ), where
        assert got.variant == want.variant, where
        assert got.usage == want.usage, where
        if case.concurrent:
            assert Counter(got.calls) == Counter(want.calls), where
        else:
            assert got.calls == want.calls, where


def test_the_table_is_big_enough() -> None:
    assert len(CASES) >= 50
    assert len({c.id for c in CASES}) == len(CASES)
