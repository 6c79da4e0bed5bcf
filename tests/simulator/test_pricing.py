from __future__ import annotations

from decimal import Decimal

import pytest

from simulator.config.model import CostEntry
from simulator.pricing import CostFormula, atto_to_nano, usage_values

M = Decimal(1_000_000)


def entry(pointer: str, per_million: str, required: bool = False) -> CostEntry:
    return CostEntry(pointer, pointer, Decimal(per_million) / M, required)


@pytest.mark.parametrize(
    ("provider_type", "pointers", "expected"),
    [
        (
            "openai",
            ("/usage/prompt_tokens", "/usage/completion_tokens"),
            1000 * 1 + 500 * 2,
        ),
        (
            "anthropic",
            ("/usage/input_tokens", "/usage/output_tokens"),
            600 * 1 + 500 * 2,
        ),
        (
            "gcp_vertex_gemini",
            ("/usageMetadata/promptTokenCount", "/usageMetadata/candidatesTokenCount"),
            1000 * 1 + 500 * 2,
        ),
        (
            "aws_bedrock",
            ("/usage/inputTokens", "/usage/outputTokens"),
            600 * 1 + 500 * 2,
        ),
    ],
)
def test_provider_shapes(
    provider_type: str, pointers: tuple[str, str], expected: int
) -> None:
    formula = CostFormula(
        (entry(pointers[0], "1", True), entry(pointers[1], "2", True)),
        provider_type,
        embedding=False,
    )
    # 1000 prompt tokens of which 400 were cache reads
    atto = formula.atto(usage_values(1000, 500, cached=400))
    assert atto == expected * 10**12


def test_missing_required_pointer_is_null_and_optional_adds_zero() -> None:
    required = CostFormula(
        (entry("/usage/nope", "1", True),), "openai", embedding=False
    )
    assert required.atto(usage_values(10, 10)) is None
    optional = CostFormula(
        (entry("/usage/nope", "1"), entry("/usage/prompt_tokens", "1")),
        "openai",
        embedding=False,
    )
    assert optional.atto(usage_values(10, 10)) == 10 * 10**12


def test_gemini_cache_field_is_absent_when_zero() -> None:
    formula = CostFormula(
        (entry("/usageMetadata/cachedContentTokenCount", "1", True),),
        "google_ai_studio_gemini",
        embedding=False,
    )
    assert formula.atto(usage_values(10, 10)) is None
    assert formula.atto(usage_values(10, 10, cached=4)) == 4 * 10**12


def test_negative_total_is_null() -> None:
    formula = CostFormula(
        (entry("/usage/prompt_tokens", "-1"),), "openai", embedding=False
    )
    assert formula.atto(usage_values(10, 0)) is None


def test_nano_rounding_is_half_even() -> None:
    assert atto_to_nano(1_500_000_000) == 2
    assert atto_to_nano(2_500_000_000) == 2
    assert atto_to_nano(2_500_000_001) == 3
