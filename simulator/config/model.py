"""The typed, immutable form of a loaded ``tensorzero.toml``.

These classes are what the rest of the simulator reads; the loader in
``simulator.config.loader`` builds them and the validator refuses what the
gateway refuses.  Field names follow the TOML keys so a reader can find a
setting by the name they wrote.  Money is ``Decimal``; nothing here is a float
sum.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

FunctionType = Literal["chat", "json"]
VariantType = Literal[
    "chat_completion",
    "experimental_best_of_n_sampling",
    "experimental_mixture_of_n",
    "experimental_dynamic_in_context_learning",
    "experimental_chain_of_thought",
]
JsonMode = Literal["off", "on", "strict", "tool"]

#: Prefixes that make ``prefix::model`` a valid model name with no
#: ``[models]`` entry (``core/model.rs`` ``SHORTHAND_MODEL_PREFIXES``).
SHORTHAND_MODEL_PREFIXES: tuple[str, ...] = (
    "anthropic",
    "deepseek",
    "fireworks",
    "google_ai_studio_gemini",
    "gcp_vertex_gemini",
    "gcp_vertex_anthropic",
    "hyperbolic",
    "groq",
    "mistral",
    "openai",
    "openrouter",
    "together",
    "xai",
    "dummy",
)
SHORTHAND_EMBEDDING_PREFIXES: tuple[str, ...] = ("openai", "openrouter")

EMPTY: Mapping[str, Any] = MappingProxyType({})


def frozen_map(items: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    """A read-only mapping, for the dict-valued fields below."""
    return MappingProxyType(dict(items or {}))


@dataclass(frozen=True)
class Timeouts:
    """``timeouts = {non_streaming.total_ms, streaming.ttft_ms, ...}``."""

    non_streaming_total_ms: int | None = None
    streaming_ttft_ms: int | None = None
    streaming_total_ms: int | None = None


NO_TIMEOUTS = Timeouts()


@dataclass(frozen=True)
class CostEntry:
    """One entry of a provider's ``cost = [...]`` list.

    ``rate_per_unit`` is already normalised: ``cost_per_million / 10**6`` or
    ``cost_per_unit``.  A unified ``pointer`` fills both pointer fields.
    """

    pointer_nonstreaming: str
    pointer_streaming: str
    rate_per_unit: Decimal
    required: bool = False


@dataclass(frozen=True)
class RetryConfig:
    num_retries: int = 0
    max_delay_s: float = 10.0


NO_RETRIES = RetryConfig()


@dataclass(frozen=True)
class ProviderConfig:
    """``[models.M.providers.P]`` (or the single provider of a shorthand)."""

    name: str
    type: str
    model_name: str | None = None
    timeouts: Timeouts = NO_TIMEOUTS
    #: ``None`` means no ``cost`` key: calls are priced from the catalog.
    cost: tuple[CostEntry, ...] | None = None
    batch_cost: tuple[CostEntry, ...] | None = None
    #: every other key as written (api_base, api_key_location, region, ...)
    options: Mapping[str, Any] = field(default_factory=lambda: EMPTY)


@dataclass(frozen=True)
class ModelConfig:
    name: str
    routing: tuple[str, ...]
    providers: Mapping[str, ProviderConfig]
    timeouts: Timeouts = NO_TIMEOUTS
    namespace: str | None = None
    #: built on the fly from ``prefix::model`` with no ``[models]`` entry
    shorthand: bool = False


@dataclass(frozen=True)
class EmbeddingProviderConfig:
    name: str
    type: str
    model_name: str | None = None
    timeout_ms: int | None = None
    cost: tuple[CostEntry, ...] | None = None
    options: Mapping[str, Any] = field(default_factory=lambda: EMPTY)


@dataclass(frozen=True)
class EmbeddingModelConfig:
    name: str
    routing: tuple[str, ...]
    providers: Mapping[str, EmbeddingProviderConfig]
    timeout_ms: int | None = None
    shorthand: bool = False


@dataclass(frozen=True)
class Template:
    """A template file's contents, loaded at config time."""

    name: str
    source: str
    path: Path | None = None
    #: set by a legacy ``system_template``-style key rather than
    #: ``templates.<name>.path`` (the gateway treats the two differently
    #: when it checks object arguments against templates)
    legacy: bool = False


@dataclass(frozen=True)
class ChatCompletionConfig:
    """The fields shared by ``chat_completion`` variants, evaluators, fusers
    and chain-of-thought variants."""

    model: str
    #: ``system`` / ``user`` / ``assistant`` (legacy ``*_template`` keys) and
    #: every ``templates.<name>.path``, by template name.
    templates: Mapping[str, Template] = field(default_factory=lambda: EMPTY)
    input_wrappers: Mapping[str, Template] = field(default_factory=lambda: EMPTY)
    #: temperature, top_p, max_tokens, seed, stop_sequences, ... as written
    params: Mapping[str, Any] = field(default_factory=lambda: EMPTY)
    json_mode: JsonMode | None = None
    retries: RetryConfig = NO_RETRIES
    extra_body: Any = None
    extra_headers: Any = None


@dataclass(frozen=True)
class VariantConfig:
    """Fields every variant type has."""

    name: str
    type: VariantType
    #: deprecated per-variant ``weight`` (``None`` when not written)
    weight: float | None = None
    timeouts: Timeouts = NO_TIMEOUTS
    namespace: str | None = None


@dataclass(frozen=True)
class ChatCompletionVariant(VariantConfig):
    inner: ChatCompletionConfig = field(default=None)  # type: ignore[assignment]


@dataclass(frozen=True)
class BestOfNVariant(VariantConfig):
    #: variant names, in order; duplicates are meaningful
    candidates: tuple[str, ...] = ()
    evaluator: ChatCompletionConfig = field(default=None)  # type: ignore[assignment]


@dataclass(frozen=True)
class MixtureOfNVariant(VariantConfig):
    candidates: tuple[str, ...] = ()
    fuser: ChatCompletionConfig = field(default=None)  # type: ignore[assignment]


@dataclass(frozen=True)
class DiclVariant(VariantConfig):
    embedding_model: str = ""
    k: int = 0
    model: str = ""
    system_instructions: str = ""
    max_distance: float | None = None
    params: Mapping[str, Any] = field(default_factory=lambda: EMPTY)
    json_mode: JsonMode | None = None
    retries: RetryConfig = NO_RETRIES
    extra_body: Any = None
    extra_headers: Any = None


@dataclass(frozen=True)
class ChainOfThoughtVariant(VariantConfig):
    inner: ChatCompletionConfig = field(default=None)  # type: ignore[assignment]


AnyVariant = (
    ChatCompletionVariant
    | BestOfNVariant
    | MixtureOfNVariant
    | DiclVariant
    | ChainOfThoughtVariant
)


@dataclass(frozen=True)
class Experimentation:
    """How a function picks its variant.

    ``kind`` is ``"default"`` (no section, no weights: uniform over all
    variants), ``"legacy"`` (per-variant ``weight``), ``"static"`` or
    ``"adaptive"``.  Deprecated spellings are normalised by the loader
    (``uniform``/``static_weights`` → ``static``, ``track_and_stop`` →
    ``adaptive``).
    """

    kind: Literal["default", "legacy", "static", "adaptive"] = "default"
    #: candidate name → weight (weight 1.0 each for a list)
    candidate_variants: Mapping[str, float] = field(default_factory=lambda: EMPTY)
    fallback_variants: tuple[str, ...] = ()
    #: adaptive only
    metric: str | None = None
    settings: Mapping[str, Any] = field(default_factory=lambda: EMPTY)
    namespaces: Mapping[str, Experimentation] = field(default_factory=lambda: EMPTY)


DEFAULT_EXPERIMENTATION = Experimentation()


@dataclass(frozen=True)
class ToolConfig:
    name: str
    description: str
    parameters: Mapping[str, Any]
    #: the name sent to the model (``name`` key), defaults to the table key
    model_name: str | None = None
    strict: bool = False


@dataclass(frozen=True)
class FunctionConfig:
    name: str
    type: FunctionType
    #: sorted by variant name, as the gateway's BTreeMap is
    variants: Mapping[str, AnyVariant]
    #: ``system`` / ``user`` / ``assistant`` and named schemas, parsed JSON
    schemas: Mapping[str, Mapping[str, Any]] = field(default_factory=lambda: EMPTY)
    experimentation: Experimentation = DEFAULT_EXPERIMENTATION
    description: str | None = None
    # chat only
    tools: tuple[str, ...] = ()
    tool_choice: Any = "auto"
    parallel_tool_calls: bool | None = None
    # json only: parsed JSON schema; ``{}`` accepts anything
    output_schema: Mapping[str, Any] = field(default_factory=lambda: EMPTY)


@dataclass(frozen=True)
class MetricConfig:
    name: str
    type: Literal["boolean", "float"]
    optimize: Literal["min", "max"]
    level: Literal["inference", "episode"]
    description: str | None = None


@dataclass(frozen=True)
class RateLimit:
    """One ``<resource>_per_<interval>`` entry of a rule."""

    resource: Literal["model_inferences", "tokens", "cost"]
    interval: Literal["second", "minute", "hour", "day", "week", "month"]
    capacity: Decimal
    refill_rate: Decimal


@dataclass(frozen=True)
class RateLimitRule:
    limits: tuple[RateLimit, ...]
    #: each entry is the scope table as written, e.g.
    #: ``{"tag_key": "user", "tag_value": "tensorzero::each"}``
    scope: tuple[Mapping[str, str], ...] = ()
    priority: int | None = None
    always: bool = False


@dataclass(frozen=True)
class RateLimitingConfig:
    enabled: bool = True
    default_cost: Decimal = Decimal("1.0")
    rules: tuple[RateLimitRule, ...] = ()


@dataclass(frozen=True)
class Config:
    """A whole gateway configuration, merged from one or more files."""

    models: Mapping[str, ModelConfig]
    embedding_models: Mapping[str, EmbeddingModelConfig]
    functions: Mapping[str, FunctionConfig]
    metrics: Mapping[str, MetricConfig]
    tools: Mapping[str, ToolConfig]
    rate_limiting: RateLimitingConfig = RateLimitingConfig()
    #: ``[gateway]`` as written (validated by the loader)
    gateway: Mapping[str, Any] = field(default_factory=lambda: EMPTY)
    global_outbound_http_timeout_ms: int = 15 * 60 * 1000
    #: the files that were merged, in merge order
    files: tuple[Path, ...] = ()
    #: deprecation warnings the gateway would print, in load order
    warnings: tuple[str, ...] = ()

    def model(self, name: str) -> ModelConfig:
        """The model a variant's ``model = "..."`` names, shorthand included.

        An explicit ``[models]`` entry wins over a shorthand of the same name.
        Raises ``KeyError`` for a name that is neither.
        """
        found = self.models.get(name)
        if found is not None:
            return found
        prefix, sep, rest = name.partition("::")
        if sep and rest and prefix in SHORTHAND_MODEL_PREFIXES:
            provider = ProviderConfig(name=prefix, type=prefix, model_name=rest)
            return ModelConfig(
                name=name,
                routing=(prefix,),
                providers=frozen_map({prefix: provider}),
                shorthand=True,
            )
        raise KeyError(name)

    def embedding_model(self, name: str) -> EmbeddingModelConfig:
        """Like :meth:`model`, for ``embedding_model = "..."``."""
        found = self.embedding_models.get(name)
        if found is not None:
            return found
        prefix, sep, rest = name.partition("::")
        if sep and rest and prefix in SHORTHAND_EMBEDDING_PREFIXES:
            provider = EmbeddingProviderConfig(
                name=prefix, type=prefix, model_name=rest
            )
            return EmbeddingModelConfig(
                name=name,
                routing=(prefix,),
                providers=frozen_map({prefix: provider}),
                shorthand=True,
            )
        raise KeyError(name)
