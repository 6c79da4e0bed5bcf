"""The pytest plugin: options, markers, fixtures and report hooks.

Kept thin on purpose: everything heavy is imported inside the hooks and
fixtures, so installing the plugin costs a test run nothing until a test asks
for the simulator.
"""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("runguard", "spend ceilings for TensorZero agents")
