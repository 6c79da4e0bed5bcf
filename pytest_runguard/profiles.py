"""Hypothesis profiles that ship with the plugin.

``runguard-ci`` is for CI: derandomized (the same examples on every run, so a
green build stays green until the code changes), no example database (CI
machines do not keep one), no deadline (a simulated run's wall time depends
on the machine, not on the code under test).  Select it with
``pytest --hypothesis-profile=runguard-ci`` or ``settings.load_profile``.
"""

from __future__ import annotations

CI_PROFILE = "runguard-ci"


def register_profiles() -> None:
    from hypothesis import HealthCheck, settings

    settings.register_profile(
        CI_PROFILE,
        derandomize=True,
        database=None,
        deadline=None,
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
