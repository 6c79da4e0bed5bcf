"""Static call and cost analysis of a loaded config, per function and
variant, without running anything.

Counting rules (measured on the real gateway): a chat_completion variant
makes one provider call; retries repeat the whole routing loop, so the
worst case is ``(num_retries + 1) * len(routing)``.  Best-of-N and
mixture-of-N run every candidate then one evaluator/fuser call (N + 1).
DICL makes one embedding call and one generation call.  A sampled
inference whose variant fails falls back to the function's other variants,
so a function's worst case adds up every variant it may try.

Token sizes are stated assumptions (``TokenSizes``), not measurements: the
evaluator/fuser sees the input plus every candidate's output, and a DICL
generation sees ``k`` examples of input plus output.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from simulator.catalog import catalog_rates
from simulator.config.model import (
    AnyVariant,
    BestOfNVariant,
    ChainOfThoughtVariant,
    ChatCompletionConfig,
    ChatCompletionVariant,
    Config,
    CostEntry,
    DiclVariant,
    EmbeddingProviderConfig,
    FunctionConfig,
    MixtureOfNVariant,
    ProviderConfig,
)

#: prompt text the gateway adds around candidates for an evaluator or fuser
#: (its instructions plus separators), in tokens; an estimate.
JUDGE_OVERHEAD_TOKENS = 250
#: a variant this many times dearer than the cheapest one with traffic is
#: flagged when it receives at least ``PRICEY_SHARE`` of the traffic
PRICEY_FACTOR = Decimal(3)
PRICEY_SHARE = Decimal("0.05")
#: blended costs are rounded to the ClickHouse cost column's precision
USD_QUANTUM = Decimal("1e-9")

_INPUT_HINTS = ("prompt_tokens", "input_tokens", "inputTokens", "promptTokenCount")
_OUTPUT_HINTS = (
    "completion_tokens",
    "output_tokens",
    "outputTokens",
    "candidatesTokenCount",
)
_CACHE_HINTS = ("cached", "cache")


@dataclass(frozen=True)
class TokenSizes:
    input_tokens: int = 1000
    output_tokens: int = 200


@dataclass(frozen=True)
class ProviderPrice:
    provider: str
    #: "config cost", a catalog source string, or "unpriced"
    source: str
    input_per_token: Decimal | None
    output_per_token: Decimal | None

    @property
    def priced(self) -> bool:
        return self.input_per_token is not None

    def call_usd(self, input_tokens: int, output_tokens: int) -> Decimal | None:
        if self.input_per_token is None or self.output_per_token is None:
            return None
        return (
            self.input_per_token * input_tokens + self.output_per_token * output_tokens
        )


@dataclass(frozen=True)
class ModelPricing:
    model: str
    providers: tuple[ProviderPrice, ...]

    @property
    def priced(self) -> bool:
        return all(p.priced for p in self.providers)

    @property
    def source(self) -> str:
        sources = sorted({p.source for p in self.providers})
        return "; ".join(sources)

    def first_call_usd(self, input_tokens: int, output_tokens: int) -> Decimal | None:
        return self.providers[0].call_usd(input_tokens, output_tokens)

    def dearest_call_usd(self, input_tokens: int, output_tokens: int) -> Decimal | None:
        prices = [p.call_usd(input_tokens, output_tokens) for p in self.providers]
        if any(p is None for p in prices):
            return None
        return max(p for p in prices if p is not None)


@dataclass(frozen=True)
class VariantAnalysis:
    function: str
    variant: str
    type: str
    calls_typical: int
    calls_worst: int
    #: input tokens of the generation call over the inference's own input
    prompt_inflation: Decimal
    models: tuple[ModelPricing, ...]
    expected_usd: Decimal | None
    worst_usd: Decimal | None
    #: share of sampled traffic (0 for fallback-only or never-sampled)
    share: Decimal
    notes: tuple[str, ...] = ()

    @property
    def priced(self) -> bool:
        return all(m.priced for m in self.models)


@dataclass(frozen=True)
class FunctionAnalysis:
    name: str
    type: str
    experimentation: str
    variants: tuple[VariantAnalysis, ...]
    #: Σ share × expected, ``None`` when a variant with traffic is unpriced
    blended_expected_usd: Decimal | None
    #: every variant the sampler may fall back through, all failing
    calls_worst_with_fallback: int


@dataclass(frozen=True)
class Analysis:
    sizes: TokenSizes
    functions: tuple[FunctionAnalysis, ...]
    warnings: tuple[str, ...] = field(default_factory=tuple)


# -- pricing -----------------------------------------------------------------


def _cost_rates(entries: tuple[CostEntry, ...]) -> tuple[Decimal, Decimal]:
    """Per-token input and output rates implied by ``cost`` entries whose
    pointers name the usual usage fields; cache discounts are left out
    because the default sizes assume no cached tokens."""
    input_rate = output_rate = Decimal(0)
    for entry in entries:
        pointer = entry.pointer_nonstreaming
        if any(h in pointer for h in _CACHE_HINTS):
            continue
        if any(h in pointer for h in _INPUT_HINTS):
            input_rate += entry.rate_per_unit
        elif any(h in pointer for h in _OUTPUT_HINTS):
            output_rate += entry.rate_per_unit
    return input_rate, output_rate


def price_model(
    config: Config, model_name: str, at: datetime.date | None = None
) -> ModelPricing:
    model = config.model(model_name)
    prices = tuple(
        _provider_price(name, model.providers[name], at, embedding=False)
        for name in model.routing
    )
    return ModelPricing(model_name, prices)


def price_embedding_model(
    config: Config, name: str, at: datetime.date | None = None
) -> ModelPricing:
    model = config.embedding_model(name)
    prices = tuple(
        _provider_price(provider, model.providers[provider], at, embedding=True)
        for provider in model.routing
    )
    return ModelPricing(name, prices)


def _provider_price(
    name: str,
    provider: ProviderConfig | EmbeddingProviderConfig,
    at: datetime.date | None,
    *,
    embedding: bool,
) -> ProviderPrice:
    """One provider's rates: its ``cost`` entries, else the catalog, else
    unpriced.  Embeddings produce no output tokens, so their output rate is 0."""
    if provider.cost is not None:
        input_rate, output_rate = _cost_rates(provider.cost)
        return ProviderPrice(
            name, "config cost", input_rate, Decimal(0) if embedding else output_rate
        )
    rates = (
        catalog_rates(provider.type, provider.model_name, at)
        if provider.model_name
        else None
    )
    if rates is None:
        return ProviderPrice(name, "unpriced", None, None)
    output_rate = Decimal(0) if embedding else rates.output_per_token
    return ProviderPrice(name, rates.source, rates.input_per_token, output_rate)


# -- per variant -------------------------------------------------------------


@dataclass
class _Walker:
    config: Config
    function: FunctionConfig
    sizes: TokenSizes
    at: datetime.date | None
    cache: dict[str, VariantAnalysis] = field(default_factory=dict)

    def pricing(self, model: str) -> ModelPricing:
        return price_model(self.config, model, self.at)

    def single(
        self, inner: ChatCompletionConfig, input_tokens: int
    ) -> tuple[int, ModelPricing, Decimal | None, Decimal | None]:
        """Worst-case calls, pricing, expected and worst USD of one
        chat-completion-style model call with its retries and routing."""
        pricing = self.pricing(inner.model)
        attempts = inner.retries.num_retries + 1
        worst_calls = attempts * len(pricing.providers)
        out = self.sizes.output_tokens
        expected = pricing.first_call_usd(input_tokens, out)
        dearest = pricing.dearest_call_usd(input_tokens, out)
        worst = None if dearest is None else dearest * worst_calls
        return worst_calls, pricing, expected, worst

    def analyse(self, name: str) -> VariantAnalysis:
        if name not in self.cache:
            self.cache[name] = self._analyse(self.function.variants[name])
        return self.cache[name]

    def _analyse(self, variant: AnyVariant) -> VariantAnalysis:
        sizes = self.sizes
        base: dict[str, Any] = {
            "function": self.function.name,
            "variant": variant.name,
            "type": variant.type,
        }
        one = Decimal(1)
        if isinstance(variant, (ChatCompletionVariant, ChainOfThoughtVariant)):
            worst_calls, pricing, expected, worst = self.single(
                variant.inner, sizes.input_tokens
            )
            return VariantAnalysis(
                **base,
                calls_typical=1,
                calls_worst=worst_calls,
                prompt_inflation=one,
                models=(pricing,),
                expected_usd=expected,
                worst_usd=worst,
                share=Decimal(0),
            )
        if isinstance(variant, (BestOfNVariant, MixtureOfNVariant)):
            children = [self.analyse(c) for c in variant.candidates]
            judge = (
                variant.evaluator
                if isinstance(variant, BestOfNVariant)
                else variant.fuser
            )
            n = len(children)
            judge_input = (
                sizes.input_tokens + n * sizes.output_tokens + JUDGE_OVERHEAD_TOKENS
            )
            judge_worst_calls, judge_pricing, judge_expected, judge_worst = self.single(
                judge, judge_input
            )
            # With one candidate (or none) there is nothing to judge: the
            # gateway skips the evaluator/fuser call.
            judge_calls = 1 if n > 1 else 0
            models = [judge_pricing] if judge_calls else []
            for child in children:
                models.extend(m for m in child.models if m not in models)
            expected = _sum(
                [c.expected_usd for c in children]
                + ([judge_expected] if judge_calls else [])
            )
            worst = _sum(
                [c.worst_usd for c in children] + ([judge_worst] if judge_calls else [])
            )
            role = "evaluator" if isinstance(variant, BestOfNVariant) else "fuser"
            return VariantAnalysis(
                **base,
                calls_typical=sum(c.calls_typical for c in children) + judge_calls,
                calls_worst=sum(c.calls_worst for c in children)
                + judge_worst_calls * judge_calls,
                prompt_inflation=Decimal(judge_input) / sizes.input_tokens
                if judge_calls
                else one,
                models=tuple(models),
                expected_usd=expected,
                worst_usd=worst,
                share=Decimal(0),
                notes=(f"{n} candidates + {role} ({judge.model})",),
            )
        assert isinstance(variant, DiclVariant)
        embed = price_embedding_model(self.config, variant.embedding_model, self.at)
        example = sizes.input_tokens + sizes.output_tokens
        gen_input = sizes.input_tokens + variant.k * example
        gen_pricing = self.pricing(variant.model)
        attempts = variant.retries.num_retries + 1
        gen_worst_calls = attempts * len(gen_pricing.providers)
        embed_expected = embed.first_call_usd(sizes.input_tokens, 0)
        embed_worst = embed.dearest_call_usd(sizes.input_tokens, 0)
        gen_expected = gen_pricing.first_call_usd(gen_input, sizes.output_tokens)
        gen_dearest = gen_pricing.dearest_call_usd(gen_input, sizes.output_tokens)
        return VariantAnalysis(
            **base,
            calls_typical=2,
            calls_worst=len(embed.providers) + gen_worst_calls,
            prompt_inflation=Decimal(gen_input) / sizes.input_tokens,
            models=(embed, gen_pricing),
            expected_usd=_sum([embed_expected, gen_expected]),
            worst_usd=_sum(
                [
                    None if embed_worst is None else embed_worst * len(embed.providers),
                    None if gen_dearest is None else gen_dearest * gen_worst_calls,
                ]
            ),
            share=Decimal(0),
            notes=(f"1 embedding + 1 generation with k={variant.k} examples",),
        )


def _sum(values: list[Decimal | None]) -> Decimal | None:
    if any(v is None for v in values):
        return None
    return sum((v for v in values if v is not None), Decimal(0))


def traffic_shares(function: FunctionConfig) -> dict[str, Decimal]:
    """Share of sampled (unpinned) inferences each variant serves first."""
    exp = function.experimentation
    names = list(function.variants)
    if exp.kind == "default":
        return {n: Decimal(1) / len(names) for n in names} if names else {}
    weights = {n: Decimal(repr(w)) for n, w in exp.candidate_variants.items()}
    total = sum(weights.values(), Decimal(0))
    if total <= 0:
        first = exp.fallback_variants[:1]
        return {n: Decimal(1 if n in first else 0) for n in names}
    return {n: weights.get(n, Decimal(0)) / total for n in names}


def _tryable(function: FunctionConfig) -> list[str]:
    exp = function.experimentation
    if exp.kind == "default":
        return list(function.variants)
    if exp.kind == "legacy":
        # Weight-0 variants are never tried; unweighted ones are fallbacks.
        return [n for n in function.variants if exp.candidate_variants.get(n, 1.0) > 0]
    return [
        n
        for n in function.variants
        if n in exp.candidate_variants or n in exp.fallback_variants
    ]


def analyze(
    config: Config,
    sizes: TokenSizes | None = None,
    *,
    at: datetime.date | None = None,
) -> Analysis:
    sizes = sizes or TokenSizes()
    functions = []
    notes: list[str] = []
    for fname, function in config.functions.items():
        walker = _Walker(config, function, sizes, at)
        shares = traffic_shares(function)
        variants = []
        for vname in function.variants:
            result = walker.analyse(vname)
            variants.append(_with_share(result, shares.get(vname, Decimal(0))))
        blended: Decimal | None = Decimal(0)
        for v in variants:
            if v.share == 0:
                continue
            if v.expected_usd is None or blended is None:
                blended = None
                continue
            blended += v.expected_usd * v.share
        if blended is not None:
            blended = blended.quantize(USD_QUANTUM)
        worst_fallback = sum(walker.analyse(n).calls_worst for n in _tryable(function))
        functions.append(
            FunctionAnalysis(
                name=fname,
                type=function.type,
                experimentation=function.experimentation.kind,
                variants=tuple(variants),
                blended_expected_usd=blended,
                calls_worst_with_fallback=worst_fallback,
            )
        )
        notes.extend(_warnings(config, function, variants, walker))
    return Analysis(sizes=sizes, functions=tuple(functions), warnings=tuple(notes))


def _with_share(v: VariantAnalysis, share: Decimal) -> VariantAnalysis:
    from dataclasses import replace

    return replace(v, share=share)


def _warnings(
    config: Config,
    function: FunctionConfig,
    variants: list[VariantAnalysis],
    walker: _Walker,
) -> list[str]:
    out: list[str] = []
    sizes = walker.sizes
    for v in variants:
        for model in v.models:
            if not model.priced:
                # A shorthand model (`openai::x`) cannot carry `cost` entries.
                fix = (
                    "add `cost` entries to its providers"
                    if model.model in config.models
                    or model.model in config.embedding_models
                    else "declare it under [models] with `cost` entries on its provider"
                )
                out.append(
                    f"functions.{function.name}.variants.{v.variant}: "
                    f"model {model.model!r} "
                    "has no price (no `cost` entries and not in the price catalog); "
                    f"{fix} or a world price"
                )
    for name, variant in function.variants.items():
        if not isinstance(variant, (BestOfNVariant, MixtureOfNVariant)):
            continue
        judge = (
            variant.evaluator if isinstance(variant, BestOfNVariant) else variant.fuser
        )
        role = "evaluator" if isinstance(variant, BestOfNVariant) else "fuser"
        judge_rate = _rate(walker.pricing(judge.model), sizes)
        candidate_rates = [
            _rate(m, sizes)
            for c in variant.candidates
            for m in walker.analyse(c).models
        ]
        if (
            judge_rate is not None
            and candidate_rates
            and all(r is not None for r in candidate_rates)
            and judge_rate > max(r for r in candidate_rates if r is not None)
        ):
            out.append(
                f"functions.{function.name}.variants.{name}.{role}: "
                f"model {judge.model!r} "
                "costs more per token than every candidate's model"
            )
    live = [
        v for v in variants if v.share >= PRICEY_SHARE and v.expected_usd is not None
    ]
    for v in live:
        others = [o.expected_usd for o in live if o is not v and o.expected_usd]
        if (
            others
            and v.expected_usd is not None
            and v.expected_usd >= PRICEY_FACTOR * min(others)
        ):
            ratio = v.expected_usd / min(others)
            out.append(
                f"functions.{function.name}.variants.{v.variant}: gets "
                f"{v.share:.0%} of traffic but costs {ratio:.1f}x the cheapest "
                "other variant per inference"
            )
    return out


def _rate(pricing: ModelPricing, sizes: TokenSizes) -> Decimal | None:
    return pricing.first_call_usd(sizes.input_tokens, sizes.output_tokens)


def by_function(analysis: Analysis) -> Mapping[str, FunctionAnalysis]:
    return {f.name: f for f in analysis.functions}
