"""What a provider call costs: the gateway's ``cost`` pointers and the catalog.

The gateway prices a call by reading JSON pointers out of the provider's raw
response (``cost = [{pointer = "/usage/prompt_tokens", ...}]``).  We build
the raw usage object each provider type really returns (OpenAI, Anthropic,
Gemini, Bedrock shapes) with symbolic leaves, resolve every pointer once
when the simulation is built, and are left with a linear formula over the
call's token counts.  The rules are the gateway's: a missing pointer adds 0
unless it is ``required`` (then the cost is null), a non-number is null, a
negative total is null.

Amounts are integer atto-dollars (1e-18 USD) while they are summed, so
``cost_per_million`` rates of any realistic precision stay exact; the
ledger stores nano-dollars, the precision of the gateway's own
``Decimal(18,9)`` cost column.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from simulator.config.model import CostEntry

ATTO_PER_USD = 10**18
ATTO_PER_NANO = 10**9

# Symbols of the simulated raw usage.  ``IN`` counts every prompt token
# (cached ones included), ``OUT`` every output token (reasoning included).
IN, OUT, CACHED, REASONING, CACHE_WRITE, TOTAL, IN_UNCACHED = range(7)

_OPENAI_LIKE = {
    "openai",
    "azure",
    "deepseek",
    "fireworks",
    "groq",
    "hyperbolic",
    "mistral",
    "openrouter",
    "together",
    "vllm",
    "xai",
    "sglang",
    "tgi",
    "dummy",
}
_ANTHROPIC_LIKE = {"anthropic", "gcp_vertex_anthropic"}
_GEMINI_LIKE = {"google_ai_studio_gemini", "gcp_vertex_gemini"}


@dataclass(frozen=True)
class Leaf:
    symbol: int
    #: present in the real response only when the value is not zero
    only_nonzero: bool = False


def raw_usage_shape(provider_type: str, *, embedding: bool = False) -> dict[str, Any]:
    """The raw response's usage part as the provider type returns it."""
    if embedding:
        return {"usage": {"prompt_tokens": Leaf(IN), "total_tokens": Leaf(IN)}}
    if provider_type in _ANTHROPIC_LIKE:
        return {
            "usage": {
                "input_tokens": Leaf(IN_UNCACHED),
                "output_tokens": Leaf(OUT),
                "cache_read_input_tokens": Leaf(CACHED),
                "cache_creation_input_tokens": Leaf(CACHE_WRITE),
            }
        }
    if provider_type in _GEMINI_LIKE:
        return {
            "usageMetadata": {
                "promptTokenCount": Leaf(IN),
                "candidatesTokenCount": Leaf(OUT),
                "totalTokenCount": Leaf(TOTAL),
                "cachedContentTokenCount": Leaf(CACHED, only_nonzero=True),
                "thoughtsTokenCount": Leaf(REASONING, only_nonzero=True),
            }
        }
    if provider_type == "aws_bedrock":
        return {
            "usage": {
                "inputTokens": Leaf(IN_UNCACHED),
                "outputTokens": Leaf(OUT),
                "totalTokens": Leaf(TOTAL),
                "cacheReadInputTokens": Leaf(CACHED, only_nonzero=True),
                "cacheWriteInputTokens": Leaf(CACHE_WRITE, only_nonzero=True),
            }
        }
    if provider_type in _OPENAI_LIKE:
        return {
            "usage": {
                "prompt_tokens": Leaf(IN),
                "completion_tokens": Leaf(OUT),
                "total_tokens": Leaf(TOTAL),
                "prompt_tokens_details": {"cached_tokens": Leaf(CACHED)},
                "completion_tokens_details": {"reasoning_tokens": Leaf(REASONING)},
            }
        }
    raise NotImplementedError(
        f"runguard: the raw usage of provider type `{provider_type}` is not simulated "
        "yet, so its `cost` pointers cannot be evaluated"
    )


def _resolve(shape: Any, pointer: str) -> Any:
    """RFC 6901 lookup; ``None`` when absent."""
    if pointer == "":
        return shape
    if not pointer.startswith("/"):
        return None
    node = shape
    for raw in pointer[1:].split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and token in node:
            node = node[token]
        else:
            return None
    return node


def to_atto(rate_usd: Decimal) -> int:
    return int((rate_usd * ATTO_PER_USD).to_integral_value(ROUND_HALF_EVEN))


def atto_to_nano(atto: int) -> int:
    """Round half to even, as ``Decimal(18,9)`` would store it."""
    q, r = divmod(atto, ATTO_PER_NANO)
    twice = 2 * r
    if twice > ATTO_PER_NANO or (twice == ATTO_PER_NANO and q % 2):
        q += 1
    return q


class CostFormula:
    """A provider's ``cost`` entries, resolved to a formula over symbols."""

    __slots__ = ("terms", "always_null", "guards", "linear")

    def __init__(
        self, entries: Sequence[CostEntry], provider_type: str, *, embedding: bool
    ) -> None:
        shape = raw_usage_shape(provider_type, embedding=embedding)
        #: (symbol, atto per unit)
        self.terms: list[tuple[int, int]] = []
        #: a required pointer that no response of this type carries
        self.always_null = False
        #: required symbols that vanish from the response when zero
        self.guards: list[int] = []
        for entry in entries:
            found = _resolve(shape, entry.pointer_nonstreaming)
            if not isinstance(found, Leaf):
                if entry.required:
                    self.always_null = True
                continue
            if entry.required and found.only_nonzero:
                self.guards.append(found.symbol)
            self.terms.append((found.symbol, to_atto(entry.rate_per_unit)))
        #: ``(atto per input token, atto per output token)`` when the
        #: formula reads only the input, output and total counts
        self.linear: tuple[int, int] | None = None
        if not self.always_null and not self.guards:
            per_in = per_out = 0
            for symbol, rate in self.terms:
                if symbol == IN:
                    per_in += rate
                elif symbol == OUT:
                    per_out += rate
                elif symbol == TOTAL:
                    per_in += rate
                    per_out += rate
                else:
                    break
            else:
                self.linear = (per_in, per_out)

    def atto(self, values: Sequence[int]) -> int | None:
        if self.always_null:
            return None
        for symbol in self.guards:
            if not values[symbol]:
                return None
        total = 0
        for symbol, rate in self.terms:
            total += values[symbol] * rate
        return None if total < 0 else total


@dataclass(frozen=True)
class TableRates:
    """Per-token prices from the world's table or the catalog, in atto-USD."""

    input_atto: int
    output_atto: int
    cache_read_atto: int
    source: str

    def atto(self, values: Sequence[int]) -> int:
        cached = values[CACHED]
        return (
            (values[IN] - cached) * self.input_atto
            + cached * self.cache_read_atto
            + values[OUT] * self.output_atto
        )


def table_rates(
    world_price: tuple[Decimal, Decimal, Decimal | None] | None,
    provider_type: str,
    model_name: str | None,
    model: str,
    price_date: dt.date,
) -> TableRates | None:
    """The world's price for ``model`` if it has one, else the catalog's."""
    if world_price is not None:
        inp, out, cache = world_price
        return TableRates(
            to_atto(inp),
            to_atto(out),
            to_atto(inp if cache is None else cache),
            f"world prices.{model}",
        )
    if model_name is None:
        return None
    lookup = _catalog()
    if lookup is None:
        return None
    rates = lookup(provider_type, model_name, price_date)
    if rates is None:
        return None
    cache = rates.cache_read_per_token
    return TableRates(
        to_atto(rates.input_per_token),
        to_atto(rates.output_per_token),
        to_atto(rates.input_per_token if cache is None else cache),
        rates.source,
    )


def _catalog() -> Any:
    try:
        from simulator.catalog import catalog_rates
    except ImportError:  # pragma: no cover - the catalog ships with the package
        return None
    return catalog_rates


def usage_values(
    inp: int, out: int, cached: int = 0, reasoning: int = 0, cache_write: int = 0
) -> list[int]:
    """The symbol values of one call, indexed by the symbols above."""
    return [
        inp,
        out,
        cached,
        reasoning,
        cache_write,
        inp + out,
        inp - cached - cache_write,
    ]
