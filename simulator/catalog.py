"""Per-token list prices for models that have no ``cost`` entries, from the
genai-prices catalog bundled with the installed package (never fetched).

The gateway itself only reports a cost for providers with ``cost`` entries;
the catalog tells us what the provider would bill for the others.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version

#: TensorZero provider type -> genai-prices provider id
PROVIDER_IDS: dict[str, str] = {
    "openai": "openai",
    "anthropic": "anthropic",
    "google_ai_studio_gemini": "google",
    "gcp_vertex_gemini": "google",
    "gcp_vertex_anthropic": "anthropic",
    "aws_bedrock": "aws",
    "azure": "azure",
    "together": "together",
    "fireworks": "fireworks",
    "mistral": "mistral",
    "groq": "groq",
    "xai": "x-ai",
    "deepseek": "deepseek",
    "openrouter": "openrouter",
}

#: Prices are derived from a small request so that tiered prices (cheaper
#: or dearer above some context length) resolve to their first tier.
_PROBE_TOKENS = 1000


@dataclass(frozen=True)
class CatalogRates:
    input_per_token: Decimal
    output_per_token: Decimal
    cache_read_per_token: Decimal | None
    source: str


def _package_version() -> str:
    try:
        return version("genai-prices")
    except PackageNotFoundError:  # pragma: no cover - the package is a dependency
        return "unknown"


def _as_datetime(
    at: datetime.date | datetime.datetime | None,
) -> datetime.datetime | None:
    if at is None or isinstance(at, datetime.datetime):
        return at
    return datetime.datetime(at.year, at.month, at.day, tzinfo=datetime.timezone.utc)


def catalog_rates(
    provider_type: str,
    model_name: str,
    at: datetime.date | datetime.datetime | None = None,
) -> CatalogRates | None:
    """USD per token for ``model_name`` served by a ``provider_type``
    provider, as priced on ``at`` (default: the catalog's current price);
    ``None`` when the catalog does not know the model."""
    when = _as_datetime(at)
    return _rates(provider_type, model_name, when)


@lru_cache(maxsize=4096)
def _rates(
    provider_type: str, model_name: str, when: datetime.datetime | None
) -> CatalogRates | None:
    import genai_prices

    provider_id = PROVIDER_IDS.get(provider_type)
    if provider_id is None:
        return None

    def price(**tokens: int) -> Decimal | None:
        try:
            result = genai_prices.calc_price(
                genai_prices.Usage(**tokens),
                model_ref=model_name,
                provider_id=provider_id,
                genai_request_timestamp=when,
            )
        except LookupError:
            return None
        return Decimal(result.total_price)

    input_price = price(input_tokens=_PROBE_TOKENS)
    if input_price is None:
        return None
    output_price = price(output_tokens=_PROBE_TOKENS)
    cached_price = price(input_tokens=_PROBE_TOKENS, cache_read_tokens=_PROBE_TOKENS)
    if output_price is None:  # pragma: no cover - same lookup as input
        return None
    cache_read: Decimal | None = None
    snapshot_model = _model_price(provider_id, model_name, when)
    if snapshot_model is not None and cached_price is not None:
        cache_read = cached_price / _PROBE_TOKENS
    return CatalogRates(
        input_per_token=input_price / _PROBE_TOKENS,
        output_per_token=output_price / _PROBE_TOKENS,
        cache_read_per_token=cache_read,
        source=f"genai-prices {_package_version()}: {provider_id}/{model_name}",
    )


def _model_price(
    provider_id: str, model_name: str, when: datetime.datetime | None
) -> object | None:
    """The catalog's price entry when it lists a cache-read price."""
    import genai_prices

    try:
        result = genai_prices.calc_price(
            genai_prices.Usage(input_tokens=1),
            model_ref=model_name,
            provider_id=provider_id,
            genai_request_timestamp=when,
        )
    except LookupError:  # pragma: no cover - callers checked the model exists
        return None
    model_price = result.model_price
    if getattr(model_price, "cache_read_mtok", None) is None:
        return None
    return model_price
