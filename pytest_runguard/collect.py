"""Collecting a scenario file as a test, for ``pytest --runguard-replay FILE``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from simulator.errors import ScenarioError


class ScenarioFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        yield ScenarioItem.from_parent(self, name="replay")


class ScenarioItem(pytest.Item):
    """Passes when the scenario reruns to its recorded outcome and digest."""

    def runtest(self) -> None:
        from pytest_runguard.plugin import replay_finished
        from pytest_runguard.scenario import load_scenario, replay

        result = replay(load_scenario(self.path))
        replay_finished(self.config, result)
        self.add_report_section("call", "runguard replay", result.describe())
        if not result.reproduced:
            raise ScenarioError(result.describe())

    def repr_failure(self, excinfo: Any, style: Any = None) -> str:
        if isinstance(excinfo.value, ScenarioError):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo, style))

    def reportinfo(self) -> tuple[Any, int | None, str]:
        return self.path, None, f"runguard replay {self.path.name}"
