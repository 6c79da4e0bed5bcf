from __future__ import annotations

from pathlib import Path

import numpy  # noqa: F401  (imported here so pytester's inline runs never re-import it)
import pytest

HERE = Path(__file__).parent


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A pytester folder with the split config and the test agents (as
    ``budget_agents``, a name no other test module imports)."""
    (pytester.path / "split.toml").write_text(
        (HERE / "configs" / "split.toml").read_text()
    )
    (pytester.path / "budget_agents.py").write_text(
        (HERE / "plugin_agents.py").read_text()
    )
    return pytester
