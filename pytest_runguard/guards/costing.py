"""The worst case one inference may cost, read from the config.

Call counts and prices come from ``simulator.analysis`` (the counting rules
``runguard check`` reports) and its price lookup (config ``cost`` entries,
else the genai-prices catalog): the simulator bills with the same sources,
so a guard and the ledger agree on what a token costs.  Token sizes are
bounded per call: the prompt from the request itself with the simulator's
token estimator, the output from the variant's ``max_tokens``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID

from simulator.analysis import (
    JUDGE_OVERHEAD_TOKENS,
    ModelPricing,
    price_embedding_model,
    price_model,
)
from simulator.config.model import (
    AnyVariant,
    BestOfNVariant,
    ChatCompletionConfig,
    Config,
    DiclVariant,
    FunctionConfig,
    MixtureOfNVariant,
)
from simulator.errors import UsageError
from simulator.sampling import VariantSampler
from simulator.tokens import MESSAGE_TOKENS, REQUEST_TOKENS, text_tokens, value_tokens

#: headroom over the token estimate: templates may expand their arguments
#: (a loop renders a line per list item) beyond the arguments' own size
PROMPT_MARGIN = Decimal("1.25")
PROMPT_SLACK = 32
#: what listing one candidate adds to an evaluator or fuser prompt
#: (its index, separators and the serialized content wrapper)
CANDIDATE_WRAPPER_TOKENS = 24


@dataclass(frozen=True)
class Bound:
    """The most a set of provider calls can bill."""

    #: ``None`` when some model on the path has no known price
    usd: Decimal | None
    calls: int
    #: the largest prompt of any single call on the path
    max_call_input_tokens: int
    unpriced_models: tuple[str, ...] = ()

    def __add__(self, other: Bound) -> Bound:
        usd = None if self.usd is None or other.usd is None else self.usd + other.usd
        return Bound(
            usd,
            self.calls + other.calls,
            max(self.max_call_input_tokens, other.max_call_input_tokens),
            tuple(dict.fromkeys(self.unpriced_models + other.unpriced_models)),
        )


ZERO = Bound(Decimal(0), 0, 0)


class CostModel:
    """Worst-case bounds per function and variant of one loaded config."""

    def __init__(
        self,
        config: Config,
        *,
        max_output_tokens: int | None = None,
        dicl_example_tokens: int | None = None,
        price_date: dt.date | None = None,
        calls_only: bool = False,
    ) -> None:
        self.config = config
        #: only call counts are wanted: token sizes need no stated bounds
        self.calls_only = calls_only
        self.max_output_tokens = max_output_tokens
        self.dicl_example_tokens = dicl_example_tokens
        self.price_date = price_date
        self._pricing: dict[tuple[str, bool], ModelPricing] = {}
        self._reachable: dict[str, tuple[str, ...]] = {}

    # -- lookups ---------------------------------------------------------

    def function(self, name: str) -> FunctionConfig:
        try:
            return self.config.functions[name]
        except KeyError:
            raise UsageError(
                f"function {name!r} is not in the config the guard was built "
                f"from (it has {sorted(self.config.functions)}); build the guard "
                "from the same tensorzero.toml the gateway loads"
            ) from None

    def reachable(self, function_name: str) -> tuple[str, ...]:
        """Every variant an unpinned inference may try, in no promised order."""
        found = self._reachable.get(function_name)
        if found is None:
            sampler = VariantSampler(self.function(function_name))
            # The set of variants the fallback loop walks does not depend on
            # the episode, only their order does.
            found = tuple(sampler.order(UUID(int=0)))
            self._reachable[function_name] = found
        return found

    def pricing(self, model: str, *, embedding: bool = False) -> ModelPricing:
        key = (model, embedding)
        found = self._pricing.get(key)
        if found is None:
            found = (
                price_embedding_model(self.config, model, self.price_date)
                if embedding
                else price_model(self.config, model, self.price_date)
            )
            self._pricing[key] = found
        return found

    # -- bounds ----------------------------------------------------------

    def inference(
        self, function_name: str, input: Any, variants: Iterable[str] | None = None
    ) -> Bound:
        """The worst case of one inference that may try ``variants`` (default:
        every variant the sampler may reach)."""
        function = self.function(function_name)
        names = self.reachable(function_name) if variants is None else tuple(variants)
        total = ZERO
        for name in names:
            total = total + self.variant(function, name, input)
        return total

    def variant(self, function: FunctionConfig, name: str, input: Any) -> Bound:
        try:
            variant = function.variants[name]
        except KeyError:
            raise UsageError(
                f"functions.{function.name} has no variant {name!r}; pin one of "
                f"{sorted(function.variants)}"
            ) from None
        return self._variant(function, variant, input)

    def output_bound(
        self, inner: ChatCompletionConfig | DiclVariant, where: str
    ) -> int:
        found = inner.params.get("max_tokens")
        if isinstance(found, int) and found > 0:
            return found
        if self.max_output_tokens is not None:
            return self.max_output_tokens
        if self.calls_only:
            return 0
        raise UsageError(
            f"{where} sets no max_tokens, so its output has no bound to reserve; "
            "set max_tokens on the variant in tensorzero.toml or pass "
            "max_output_tokens= to the guard"
        )

    def variant_output_bound(self, function: FunctionConfig, name: str) -> int:
        variant = function.variants[name]
        where = f"functions.{function.name}.variants.{name}"
        if isinstance(variant, BestOfNVariant):
            return max(
                (self.variant_output_bound(function, c) for c in variant.candidates),
                default=0,
            )
        if isinstance(variant, MixtureOfNVariant):
            return self.output_bound(variant.fuser, f"{where}.fuser")
        if isinstance(variant, DiclVariant):
            return self.output_bound(variant, where)
        return self.output_bound(variant.inner, where)

    def _variant(
        self, function: FunctionConfig, variant: AnyVariant, input: Any
    ) -> Bound:
        where = f"functions.{function.name}.variants.{variant.name}"
        if isinstance(variant, (BestOfNVariant, MixtureOfNVariant)):
            total = ZERO
            candidate_out = 0
            for candidate in variant.candidates:
                total = total + self.variant(function, candidate, input)
                candidate_out += self.variant_output_bound(function, candidate)
            if len(variant.candidates) > 1:
                judge = (
                    variant.evaluator
                    if isinstance(variant, BestOfNVariant)
                    else variant.fuser
                )
                prompt = (
                    prompt_tokens(function, judge, input)
                    + candidate_out
                    + JUDGE_OVERHEAD_TOKENS
                    + CANDIDATE_WRAPPER_TOKENS * len(variant.candidates)
                )
                role = "evaluator" if isinstance(variant, BestOfNVariant) else "fuser"
                total = total + self._model_calls(
                    judge.model,
                    prompt,
                    self.output_bound(judge, f"{where}.{role}"),
                    attempts=judge.retries.num_retries + 1,
                )
            return total
        if isinstance(variant, DiclVariant):
            serialized = value_tokens(input)
            embed = self._model_calls(
                variant.embedding_model, serialized, 0, attempts=1, embedding=True
            )
            k = variant.k
            example = self._example_tokens(where)
            # The examples' size is the caller's stated bound; only the part
            # estimated from the request gets the margin.
            prompt = (
                margin(serialized + text_tokens(variant.system_instructions))
                + k * example
                + (2 * k + 2) * MESSAGE_TOKENS
                + REQUEST_TOKENS
            )
            generation = self._model_calls(
                variant.model,
                prompt,
                self.output_bound(variant, where),
                attempts=variant.retries.num_retries + 1,
            )
            return embed + generation
        inner = variant.inner
        return self._model_calls(
            inner.model,
            prompt_tokens(function, inner, input),
            self.output_bound(inner, where),
            attempts=inner.retries.num_retries + 1,
        )

    def dicl_prompt_tokens(
        self, function: FunctionConfig, name: str, input: Any
    ) -> int:
        """The projected prompt of a DICL variant's generation call."""
        variant = function.variants[name]
        if not isinstance(variant, DiclVariant):
            raise UsageError(f"functions.{function.name}.variants.{name} is not DICL")
        return self.variant(function, name, input).max_call_input_tokens

    def _example_tokens(self, where: str) -> int:
        if self.dicl_example_tokens is None and self.calls_only:
            return 0
        if self.dicl_example_tokens is None:
            raise UsageError(
                f"{where} is a DICL variant: its prompt grows by k retrieved "
                "examples, so the guard needs their size; pass "
                "dicl_example_tokens= (the largest example, input plus output, "
                "in tokens)"
            )
        return self.dicl_example_tokens

    def _model_calls(
        self,
        model: str,
        input_tokens: int,
        output_tokens: int,
        *,
        attempts: int,
        embedding: bool = False,
    ) -> Bound:
        pricing = self.pricing(model, embedding=embedding)
        # Every retry round walks the whole routing list, and any provider
        # in it may be the one that answers.
        calls = attempts * len(pricing.providers)
        dearest = pricing.dearest_call_usd(input_tokens, output_tokens)
        return Bound(
            None if dearest is None else dearest * calls,
            calls,
            input_tokens,
            () if dearest is not None else (model,),
        )

    def token_rates(
        self, function_name: str, variant: str
    ) -> tuple[Decimal, Decimal] | None:
        """The dearest input and output rates of any model ``variant`` calls."""
        function = self.function(function_name)
        rates: list[tuple[Decimal, Decimal]] = []
        for model, embedding in self._models(function, variant):
            for price in self.pricing(model, embedding=embedding).providers:
                if price.input_per_token is None or price.output_per_token is None:
                    return None
                rates.append((price.input_per_token, price.output_per_token))
        if not rates:
            return None
        return max(r[0] for r in rates), max(r[1] for r in rates)

    def _models(self, function: FunctionConfig, name: str) -> list[tuple[str, bool]]:
        variant = function.variants[name]
        if isinstance(variant, BestOfNVariant):
            found = [(variant.evaluator.model, False)]
            for candidate in variant.candidates:
                found += self._models(function, candidate)
            return found
        if isinstance(variant, MixtureOfNVariant):
            found = [(variant.fuser.model, False)]
            for candidate in variant.candidates:
                found += self._models(function, candidate)
            return found
        if isinstance(variant, DiclVariant):
            return [(variant.embedding_model, True), (variant.model, False)]
        return [(variant.inner.model, False)]


def margin(tokens: int) -> int:
    return int(tokens * PROMPT_MARGIN) + PROMPT_SLACK


def prompt_tokens(
    function: FunctionConfig, inner: ChatCompletionConfig, input: Any
) -> int:
    """An upper estimate of the rendered prompt of one chat-completion call.

    The simulator's estimator counts ``ceil(chars / 4)`` per text plus fixed
    per-message overheads; templates are bounded by their source plus their
    arguments' JSON, then :data:`PROMPT_MARGIN` covers loops that repeat.
    """
    if not isinstance(input, Mapping):
        return margin(value_tokens(input))
    templates = inner.templates
    total = REQUEST_TOKENS
    system = input.get("system")
    if system is not None or "system" in templates:
        total += MESSAGE_TOKENS + _content_tokens(system, templates, "system")
    for message in input.get("messages") or ():
        role = message.get("role", "user") if isinstance(message, Mapping) else "user"
        content = message.get("content") if isinstance(message, Mapping) else message
        total += MESSAGE_TOKENS + _content_tokens(content, templates, str(role))
    return margin(total)


def _content_tokens(content: Any, templates: Mapping[str, Any], role: str) -> int:
    if content is None:
        template = templates.get(role)
        return text_tokens(template.source) if template is not None else 0
    if isinstance(content, str):
        return text_tokens(content)
    if isinstance(content, Mapping):
        if content.get("type") == "template":
            template = templates.get(str(content.get("name")))
            source = text_tokens(template.source) if template is not None else 0
            return source + value_tokens(content.get("arguments", {}))
        if "text" in content and isinstance(content["text"], str):
            template = templates.get(role)
            return text_tokens(content["text"]) + (
                text_tokens(template.source) if template is not None else 0
            )
        # Schema'd content (legacy ``{"type": "text", "arguments": ...}`` or a
        # bare argument object) renders through the role's template.
        arguments = content.get("arguments", content)
        template = templates.get(role)
        source = text_tokens(template.source) if template is not None else 0
        return source + value_tokens(arguments)
    if isinstance(content, (list, tuple)):
        return sum(_content_tokens(block, templates, role) for block in content)
    return value_tokens(content)
