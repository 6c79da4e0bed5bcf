from __future__ import annotations

import pytest

CONFIG = """
[models.m]
routing = ["p1", "p2"]

[models.m.providers.p1]
type = "openai"
model_name = "gpt-4o-mini"

[models.m.providers.p2]
type = "openai"
model_name = "gpt-4o-mini"

[functions.f]
type = "chat"

[functions.f.variants.a]
type = "chat_completion"
model = "m"
"""


def test_fixture_serves_the_real_gateway_from_the_markers_world(
    pytester: pytest.Pytester,
) -> None:
    pytester.makefile(".toml", tensorzero=CONFIG)
    pytester.makepyfile(
        """
        import pytest

        WORLD = {
            "defaults": {"latency_s": 0, "output_tokens": 11},
            "models": {"m": {"providers": {"p1": {"outcomes": [500]}}}},
        }

        @pytest.mark.runguard_provider(world=WORLD)
        def test_agent(runguard_provider):
            client = runguard_provider.gateway("tensorzero.toml")
            response = client.inference(
                function_name="f",
                input={"messages": [{"role": "user", "content": "hi"}]},
            )
            assert response.usage.output_tokens == 11
            calls = runguard_provider.calls()
            assert [(c.provider, c.outcome) for c in calls] == [
                ("p1", "server_error"),
                ("p2", "ok"),
            ]
            rows = runguard_provider.ledger_rows()
            assert [(r.role, r.counted) for r in rows] == [
                ("generation", False),
                ("generation", True),
            ]

        @pytest.mark.runguard_provider(wrold={})
        def test_typo(runguard_provider):
            pass
        """
    )
    result = pytester.runpytest("-p", "no:randomly", "-p", "no:runguard")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*unknown keyword(s) wrold*"])
