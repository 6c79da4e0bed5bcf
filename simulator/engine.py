"""The simulated gateway: variants, routing, retries, timeouts and cost.

Everything that can be decided when the simulation is built is decided
then: each model becomes a :class:`ModelPlan` (its routing, timeouts, the
world's behaviour of every provider, the cost formula resolved from the
provider's pointers), each variant a :class:`VariantPlan`.  An inference
then walks these plans on a virtual timeline.

Time: every provider attempt has a virtual start and end.  Routing
fallback is immediate, retry rounds wait the gateway's backoff, best-of-N
and mixture-of-N candidates start together (the variant's evaluator or
fuser starts when the last candidate ends).  Timeouts compare that
timeline with the provider, model and variant ``timeouts``.

When the config's ``[rate_limiting]`` or the world's ``rate_limits``
declare a limit, every provider attempt goes through
:class:`simulator.admission.Admission` first, and inferences and fan-out
candidates run side by side in virtual-time order (``simulator.timeline``);
with no limits the engine runs each inference straight through.
"""

from __future__ import annotations

import functools
import json
import math
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from uuid import UUID

from simulator.admission import Admission
from simulator.config.model import (
    BestOfNVariant,
    ChainOfThoughtVariant,
    ChatCompletionConfig,
    ChatCompletionVariant,
    Config,
    DiclVariant,
    FunctionConfig,
    MixtureOfNVariant,
    RetryConfig,
    Timeouts,
)
from simulator.contextwindow import error_body, exceeds
from simulator.failures import (
    AllCandidatesFailed,
    AllModelProvidersFailed,
    AllRetriesFailed,
    Failure,
    GlobalTimeout,
    ModelTimeout,
    ProviderError,
    ProviderTimeout,
    RequestError,
    VariantTimeout,
)
from simulator.gateway_limits import GatewayLimits
from simulator.ledger import Ledger
from simulator.outputs import chat_text, example_json, schema_example
from simulator.pricing import (
    ATTO_PER_USD,
    CostFormula,
    TableRates,
    atto_to_nano,
    table_rates,
    usage_values,
)
from simulator.prompts import (
    PlainKey,
    Prompt,
    PromptCounter,
    Rendered,
    candidate_text,
    for_provider,
    judge_prompt,
    make_prompt,
    provider_json_rule,
    serialized_input_tokens,
)
from simulator.ratelimits import world_declares_limits
from simulator.rng import Sampler, UniformStream, generator, sampler
from simulator.sampling import VariantSampler
from simulator.timeline import run_concurrently
from simulator.tokens import MESSAGE_TOKENS
from simulator.usage import cache_read_default
from simulator.world import World

INF = math.inf

OK, RATE_LIMITED, SERVER_ERROR, CLIENT_ERROR, TIMEOUT = (
    "ok",
    "rate_limited",
    "server_error",
    "client_error",
    "timeout",
)
_KIND_STATUS = {
    OK: 200,
    RATE_LIMITED: 429,
    SERVER_ERROR: 500,
    CLIENT_ERROR: 400,
    TIMEOUT: 408,
}


class FixedAttempt(NamedTuple):
    """A sure provider's attempt that draws nothing, for one plain input:
    everything but its times and labels (:meth:`Engine.fixed_attempt`)."""

    input_tokens: int
    output_tokens: int
    cached_tokens: int | None
    reported_atto: int | None
    billed_nano: int | None
    latency_s: float
    roles: str
    model: str
    provider: str
    #: the chat answer's text and the response's ``usage.cost``
    text: str
    cost_usd: float | None


#: :meth:`Engine.fixed_attempt` for a prompt that needs the routing loop
ROUTED: tuple[Any, ...] = ()
#: how many plain inputs a variant remembers fixed attempts for
_REMEMBERED_ATTEMPTS = 4096


#: default ``api_base`` and request path per provider type, for the URL the
#: gateway's timeout messages name (measured on tensorzero 2026.6.0)
_ENDPOINTS = {
    "openai": ("https://api.openai.com/v1/", "chat/completions"),
    "anthropic": ("https://api.anthropic.com/v1/", "messages"),
    "vllm": (None, "chat/completions"),
    "sglang": (None, "chat/completions"),
    "tgi": (None, "chat/completions"),
}
_AZURE_API_VERSION = "2025-04-01-preview"


def _request_url(provider: Any, *, embedding: bool) -> str | None:
    """Where the gateway posts a provider's request; ``None`` where the
    simulator does not know (its timeout message then leaves it out)."""
    options = provider.options
    if provider.type == "azure" and not embedding:
        endpoint, deployment = options.get("endpoint"), options.get("deployment_id")
        if not isinstance(endpoint, str) or not isinstance(deployment, str):
            return None
        return (
            f"{endpoint.rstrip('/')}/openai/deployments/{deployment}/chat/"
            f"completions?api-version={_AZURE_API_VERSION}"
        )
    known = _ENDPOINTS.get(provider.type)
    if known is None or (embedding and provider.type != "openai"):
        return None
    default, path = known
    if embedding:
        path = "embeddings"
    elif options.get("api_type") == "responses":
        path = "responses"
    base = options.get("api_base") or default
    if not isinstance(base, str):
        return None
    # joined as a URL (dot segments resolved, the base's query dropped),
    # with the trailing slash the gateway adds and a lower-case scheme
    url = urllib.parse.urljoin(base if base.endswith("/") else base + "/", path)
    scheme, rest = url.split(":", 1) if ":" in url else ("", url)
    return f"{scheme.lower()}:{rest}" if scheme else url


def _outcome_of(item: Any) -> tuple[str, int]:
    if isinstance(item, int):
        if item == 200:
            return OK, 200
        if item == 429:
            return RATE_LIMITED, 429
        return (SERVER_ERROR if item >= 500 else CLIENT_ERROR), item
    return item, _KIND_STATUS[item]


def _error_body(kind: str, status: int) -> str:
    text = {
        RATE_LIMITED: "Rate limit reached (simulated by runguard)",
        SERVER_ERROR: "The server had an error (simulated by runguard)",
    }.get(kind, f"Request failed with status {status} (simulated by runguard)")
    return json.dumps({"error": {"message": text, "type": kind}}, separators=(",", ":"))


@dataclass
class ProviderPlan:
    """One routing entry of a model, with the world's behaviour for it."""

    name: str
    type: str
    model: str
    timeout_s: float
    stream_timeout_s: float
    timeout_ms: int
    stream_timeout_ms: int
    output_tokens: Sampler
    latency: Sampler
    input_tokens: Sampler | None
    schedule: list[tuple[str, int]]
    #: cumulative (threshold, kind) pairs for the failure rates
    rates: list[tuple[float, str]]
    outcome_draws: UniformStream | None
    bill_failed: bool
    bill_timeouts: bool
    context_window: int
    cached: Sampler | None
    reasoning: Sampler | None
    cache_write: Sampler | None
    formula: CostFormula | None
    table: TableRates | None
    invalid_rate: float
    invalid_draws: UniformStream | None
    embedding: bool = False
    position: int = 0
    #: is a 429 answer billed (world ``bill_rate_limited``)?
    bill_rate_limited: bool = False
    #: the cache-read count a response reports with no hit (0 or None)
    cache_default: int | None = None
    #: no cached/reasoning/cache-write counts: the cost is a linear formula
    simple: bool = False
    #: how the provider adds the JSON instruction (``prompts.provider_json_rule``)
    json_rule: int = 0
    #: no outcome schedule and no failure rates: every attempt is answered
    always_ok: bool = False
    #: (input, output) atto-USD per token when the cost is a linear formula
    #: of the two counts alone (``simple`` and priced by pointers)
    linear: tuple[int, int] | None = None
    #: the URL the gateway posts to, where known (its timeout messages)
    url: str | None = None

    def __post_init__(self) -> None:
        self.simple = (
            self.cached is None and self.reasoning is None and self.cache_write is None
        )
        self.always_ok = not self.schedule and self.outcome_draws is None
        if self.simple and self.formula is not None:
            self.linear = self.formula.linear

    def next_outcome(self) -> tuple[str, int]:
        if self.position < len(self.schedule):
            self.position += 1
            return self.schedule[self.position - 1]
        if self.outcome_draws is not None:
            u = self.outcome_draws.next()
            for threshold, kind in self.rates:
                if u < threshold:
                    return kind, _KIND_STATUS[kind]
        return OK, 200


@dataclass
class ModelPlan:
    name: str
    providers: list[ProviderPlan]
    timeout_s: float
    stream_timeout_s: float
    timeout_ms: int
    stream_timeout_ms: int


@dataclass(slots=True)
class Call:
    """A successful model inference (one ``ModelInference`` row)."""

    row: int
    input_tokens: int
    output_tokens: int
    cached_tokens: int | None
    reported_atto: int | None
    end: float
    #: the model's answer was unusable (non-JSON / out of range)
    invalid: bool


@dataclass(slots=True)
class Output:
    """What a variant answered: chat content or json text."""

    text: str | None = None
    raw_json: str | None = None
    parsed_ok: bool = True
    tool: tuple[str, str] | None = None  # (tool name, arguments json)


@dataclass(slots=True)
class VariantResult:
    #: the answer is built only for the result the agent receives
    model: str
    answer: Call
    calls: list[Call]
    end: float


class Context:
    """The inference being simulated (the ledger's per-row labels)."""

    __slots__ = (
        "function",
        "variant",
        "episode_id",
        "inference_id",
        "inp",
        "params",
        "streaming",
        "prompt_cache",
        "tags",
        "key",
    )

    def __init__(
        self,
        function: str,
        variant: str,
        episode_id: UUID,
        inference_id: UUID,
        inp: Mapping[str, Any],
        params: Mapping[str, Any] | None,
        streaming: bool,
        tags: Mapping[str, str] | None = None,
        key: PlainKey | None = None,
    ) -> None:
        self.function = function
        self.variant = variant
        self.episode_id = episode_id
        self.inference_id = inference_id
        self.inp = inp
        self.params = params
        self.streaming = streaming
        #: prompt tokens per counter, so fan-outs render the input once
        self.prompt_cache: dict[int, Any] = {}
        #: the request's tags (the scope of ``[rate_limiting]`` rules)
        self.tags = tags
        #: ``prompts.plain_key(inp)``, computed once per inference
        self.key = key


@dataclass
class VariantPlan:
    name: str
    kind: str
    timeout_s: float
    timeout_ms: int
    stream_timeout_s: float
    stream_timeout_ms: int
    model: ModelPlan | None = None
    inner: ChatCompletionConfig | None = None
    counter: PromptCounter | None = None
    retries: RetryConfig = field(default_factory=RetryConfig)
    max_tokens: int | None = None
    candidates: tuple[str, ...] = ()
    judge: ModelPlan | None = None
    judge_inner: ChatCompletionConfig | None = None
    judge_counter: PromptCounter | None = None
    choice_draws: UniformStream | None = None
    embedding: ModelPlan | None = None
    k: int = 0
    max_distance: float | None = None
    pool_size: int = 0
    example_tokens: Sampler | None = None
    distances: Sampler | None = None
    #: DICL's system prompt, which replaces the input's system prompt
    instructions: str = ""
    #: the first provider, when it answers every attempt in time (see
    #: :meth:`Engine._sure_provider`): the variant's answer is then its
    #: first attempt whenever the prompt fits its context window
    sure: ProviderPlan | None = None
    #: the sure provider's attempt per plain input when it draws nothing
    #: (:meth:`Engine.answer_plain`); ``None`` when it draws
    fixed_attempts: dict[PlainKey, tuple[Any, ...]] | None = None


@dataclass
class FunctionPlan:
    config: FunctionConfig
    sampler: VariantSampler
    variants: dict[str, VariantPlan]
    json_example: str | None
    tool_call: tuple[str, str] | None
    #: a chat function whose answer is one text block
    text_only: bool = False

    def __post_init__(self) -> None:
        self.text_only = self.json_example is None and self.tool_call is None


def _ms_timeout(ms: int | None) -> tuple[float, int]:
    """(seconds, milliseconds) of a timeout; ``(inf, 0)`` when there is none."""
    return (INF, 0) if ms is None else (ms / 1000.0, ms)


def _timeout_s(timeouts: Timeouts, streaming: bool) -> tuple[float, int]:
    return _ms_timeout(
        timeouts.streaming_total_ms if streaming else timeouts.non_streaming_total_ms
    )


class Engine:
    """Answers inferences for one config and world, writing the ledger."""

    def __init__(self, config: Config, world: World, seed: int, ledger: Ledger) -> None:
        self.config = config
        self.world = world
        self.seed = seed
        self.ledger = ledger
        self.global_timeout_s = config.global_outbound_http_timeout_ms / 1000.0
        self._models: dict[str, ModelPlan] = {}
        self._embeddings: dict[str, ModelPlan] = {}
        self._backoff = UniformStream(generator(seed, "backoff"))
        limiting = config.rate_limiting
        gateway_limits = (
            GatewayLimits(limiting) if limiting.enabled and limiting.rules else None
        )
        #: set only when a limit is declared: then attempts are admitted in
        #: virtual-time order and fan-outs run side by side
        self.admission: Admission | None = (
            Admission(gateway_limits, world, ledger)
            if gateway_limits is not None or world_declares_limits(world.to_dict())
            else None
        )
        self.functions: dict[str, FunctionPlan] = {
            name: self._function_plan(fn) for name, fn in config.functions.items()
        }

    # -- building plans -----------------------------------------------------

    def _provider_plan(
        self,
        model: str,
        provider: Any,
        settings: Mapping[str, Any],
        *,
        embedding: bool,
    ) -> ProviderPlan:
        seed = self.seed
        keys = (model, provider.name)

        def dist(key: str, integer: bool, low: float = 0.0) -> Sampler:
            return sampler(
                settings[key], generator(seed, key, *keys), integer=integer, low=low
            )

        def optional(key: str, sub: Mapping[str, Any]) -> Sampler | None:
            if key not in sub:
                return None
            return sampler(
                sub[key], generator(seed, "raw_usage", key, *keys), integer=True
            )

        rates_spec: Mapping[str, float] = settings.get("failure_rates", {})
        rates: list[tuple[float, str]] = []
        cumulative = 0.0
        for kind in (RATE_LIMITED, SERVER_ERROR, CLIENT_ERROR, TIMEOUT):
            rate = float(rates_spec.get(kind, 0.0))
            if rate > 0:
                cumulative += rate
                rates.append((cumulative, kind))
        raw = settings.get("raw_usage", {})
        if embedding:
            t_s, t_ms = st_s, st_ms = _ms_timeout(provider.timeout_ms)
        else:
            t_s, t_ms = _timeout_s(provider.timeouts, False)
            st_s, st_ms = _timeout_s(provider.timeouts, True)
        formula = (
            None
            if provider.cost is None
            else CostFormula(provider.cost, provider.type, embedding=embedding)
        )
        table = table_rates(
            self.world.price(model),
            provider.type,
            provider.model_name,
            model,
            self.world.price_date,
        )
        invalid_rate = (
            0.0 if embedding else float(settings.get("invalid_answer_rate", 0.0))
        )
        return ProviderPlan(
            name=provider.name,
            type=provider.type,
            model=model,
            timeout_s=t_s,
            stream_timeout_s=st_s,
            timeout_ms=t_ms,
            stream_timeout_ms=st_ms,
            output_tokens=(
                sampler(0, None, integer=True)
                if embedding
                else dist("output_tokens", True)
            ),
            latency=dist("latency_s", False),
            input_tokens=dist("input_tokens", True)
            if "input_tokens" in settings
            else None,
            schedule=[_outcome_of(item) for item in settings.get("outcomes", ())],
            rates=rates,
            outcome_draws=(
                UniformStream(generator(seed, "outcome", *keys)) if rates else None
            ),
            bill_failed=bool(settings["bill_failed"]),
            bill_timeouts=bool(settings["bill_timeouts"]),
            context_window=int(settings.get("context_window", 0)) or (1 << 62),
            cached=optional("cached_tokens", raw),
            reasoning=optional("reasoning_tokens", raw),
            cache_write=optional("cache_write_tokens", raw),
            formula=formula,
            table=table,
            invalid_rate=invalid_rate,
            invalid_draws=(
                UniformStream(generator(seed, "invalid_answer", *keys))
                if invalid_rate
                else None
            ),
            embedding=embedding,
            json_rule=provider_json_rule(provider.type),
            cache_default=cache_read_default(provider.type, embedding=embedding),
            bill_rate_limited=bool(settings.get("bill_rate_limited", False)),
            url=_request_url(provider, embedding=embedding),
        )

    def model_plan(self, name: str) -> ModelPlan:
        return self._model_plan(name, embedding=False)

    def embedding_plan(self, name: str) -> ModelPlan:
        return self._model_plan(name, embedding=True)

    def _model_plan(self, name: str, *, embedding: bool) -> ModelPlan:
        plans = self._embeddings if embedding else self._models
        found = plans.get(name)
        if found is None:
            model: Any
            if embedding:
                model = self.config.embedding_model(name)
                settings = self.world.embedding_settings
                t_s, t_ms = st_s, st_ms = _ms_timeout(model.timeout_ms)
            else:
                model = self.config.model(name)
                settings = self.world.model_settings
                t_s, t_ms = _timeout_s(model.timeouts, False)
                st_s, st_ms = _timeout_s(model.timeouts, True)
            providers = [
                self._provider_plan(
                    name, model.providers[p], settings(name, p), embedding=embedding
                )
                for p in model.routing
            ]
            found = ModelPlan(name, providers, t_s, st_s, t_ms, st_ms)
            plans[name] = found
        return found

    def _variant_plan(self, fn: FunctionConfig, variant: Any) -> VariantPlan:
        if variant.namespace is not None:
            raise NotImplementedError(
                f"runguard: variant namespaces are not simulated yet "
                f"(functions.{fn.name}.variants.{variant.name}.namespace)"
            )
        t_s, t_ms = _timeout_s(variant.timeouts, False)
        st_s, st_ms = _timeout_s(variant.timeouts, True)
        plan = VariantPlan(variant.name, "", t_s, t_ms, st_s, st_ms)
        if isinstance(variant, ChatCompletionVariant | ChainOfThoughtVariant):
            inner = variant.inner
            plan.kind = (
                "chat_completion"
                if isinstance(variant, ChatCompletionVariant)
                else "chain_of_thought"
            )
            plan.model = self.model_plan(inner.model)
            plan.inner = inner
            plan.counter = PromptCounter(inner)
            plan.retries = inner.retries
            plan.max_tokens = inner.params.get("max_tokens")
            plan.sure = sure = self._sure_provider(plan)
            if (
                sure is not None
                and sure.simple
                and self._in_time(sure)
                and sure.invalid_draws is None
                and sure.latency.fixed is not None
                and sure.output_tokens.fixed is not None
            ):
                plan.fixed_attempts = {}
        elif isinstance(variant, BestOfNVariant | MixtureOfNVariant):
            judge = (
                variant.evaluator
                if isinstance(variant, BestOfNVariant)
                else variant.fuser
            )
            plan.kind = (
                "best_of_n" if isinstance(variant, BestOfNVariant) else "mixture_of_n"
            )
            plan.candidates = variant.candidates
            plan.judge = self.model_plan(judge.model)
            plan.judge_inner = judge
            plan.judge_counter = PromptCounter(judge)
            plan.retries = judge.retries
            plan.max_tokens = judge.params.get("max_tokens")
            plan.choice_draws = UniformStream(
                generator(self.seed, "candidate_choice", fn.name, variant.name)
            )
        elif isinstance(variant, DiclVariant):
            plan.kind = "dicl"
            plan.model = self.model_plan(variant.model)
            plan.embedding = self.embedding_plan(variant.embedding_model)
            plan.counter = PromptCounter(None)
            plan.retries = variant.retries
            plan.max_tokens = variant.params.get("max_tokens")
            plan.k = variant.k
            plan.max_distance = variant.max_distance
            plan.instructions = variant.system_instructions
            world = self.world.dicl(fn.name, variant.name)
            plan.pool_size = int(world["pool_size"])
            keys = (fn.name, variant.name)
            plan.example_tokens = sampler(
                world["example_tokens"],
                generator(self.seed, "dicl_example_tokens", *keys),
                integer=True,
            )
            plan.distances = sampler(
                world["distances"],
                generator(self.seed, "dicl_distances", *keys),
                integer=False,
            )
        else:  # pragma: no cover - the config model has no other variant type
            raise NotImplementedError(
                f"runguard: variant type {variant.type} is not simulated"
            )
        return plan

    def _sure_provider(self, plan: VariantPlan) -> ProviderPlan | None:
        """The first provider of a non-streaming chat_completion or
        chain-of-thought variant if nothing can make its attempt fail: no
        outcome schedule or failure rates, no input-token override (so the
        context-window check needs no draw), no timeout at the provider,
        model or variant level, and no rate limits."""
        mp = plan.model
        if self.admission is not None or mp is None or not mp.providers:
            return None
        pp = mp.providers[0]
        if (
            pp.always_ok
            and pp.input_tokens is None
            and pp.timeout_s == INF
            and mp.timeout_s == INF
            and plan.timeout_s == INF
        ):
            return pp
        return None

    def _in_time(self, pp: ProviderPlan) -> bool:
        """No latency the sure provider can draw next, up to its next batch,
        reaches the gateway's global timeout (which only the routing loop
        handles)."""
        return pp.latency.ceiling() < self.global_timeout_s

    def _function_plan(self, fn: FunctionConfig) -> FunctionPlan:
        variants = {name: self._variant_plan(fn, v) for name, v in fn.variants.items()}
        json_example = example_json(fn.output_schema) if fn.type == "json" else None
        tool_call = None
        choice = fn.tool_choice
        if fn.type == "chat" and fn.tools and choice != "none" and choice != "auto":
            name = choice["specific"] if isinstance(choice, Mapping) else fn.tools[0]
            tool = self.config.tools[name]
            args = json.dumps(schema_example(tool.parameters), separators=(",", ":"))
            tool_call = (tool.model_name or tool.name, args)
        return FunctionPlan(fn, VariantSampler(fn), variants, json_example, tool_call)

    # -- provider attempts and routing ---------------------------------------

    def _call_model(
        self,
        mp: ModelPlan,
        ctx: Context,
        role: str,
        t: float,
        deadline: float,
        deadline_error: Failure | None,
        prompt: Prompt,
        extra: int,
        out_cap: int | None,
    ) -> Call:
        """One ``model.infer``: the routing loop, first success wins."""
        streaming = ctx.streaming
        model_deadline = t + (mp.stream_timeout_s if streaming else mp.timeout_s)
        errors: list[tuple[str, Failure]] = []
        ledger_append = self.ledger.append
        admission = self.admission
        borrow = None
        for pp in mp.providers:
            if prompt.json_on or prompt.split_roles is not None:
                sent, roles = for_provider(prompt, pp.json_rule)
            else:
                # every provider sends a plain prompt as it is
                sent, roles = prompt.tokens, prompt.roles
            in_tokens = (
                sent if pp.input_tokens is None else pp.input_tokens.draw()
            ) + extra
            start = t
            if admission is None:
                kind, status = (OK, 200) if pp.always_ok else pp.next_outcome()
                latency = pp.latency.draw()
            else:
                try:
                    kind, status, latency, borrow = admission.admit(
                        t, pp, mp, in_tokens, out_cap, ctx, role
                    )
                except Failure as refused:
                    # not sent: the routing loop moves on at once
                    errors.append((pp.name, refused))
                    continue
            too_long = exceeds(pp.context_window, in_tokens, out_cap)
            if kind == OK and too_long:
                kind, status = CLIENT_ERROR, 400
            natural = INF if kind == TIMEOUT else start + latency
            provider_cut = start + (pp.stream_timeout_s if streaming else pp.timeout_s)
            # the gateway's HTTP client gives up on any request, slow or
            # hanging, at ``global_outbound_http_timeout_ms``
            end = min(
                natural, provider_cut, model_deadline, deadline,
                start + self.global_timeout_s,
            )  # fmt: skip
            if end < natural:
                out = pp.output_tokens.draw() if pp.bill_timeouts else 0
                cost = self._cost(pp, in_tokens, out)[1] if pp.bill_timeouts else 0
                ledger_append(
                    start, end, ctx.function, ctx.variant, ctx.episode_id,
                    ctx.inference_id, mp.name, pp.name, role, in_tokens, out,
                    cost, TIMEOUT, 408, pp.bill_timeouts, roles,
                )  # fmt: skip
                t = end
                if end == deadline and deadline_error is not None:
                    deadline_error.at = end
                    raise deadline_error
                if end == model_deadline:
                    err: Failure = ModelTimeout(
                        mp.name,
                        mp.stream_timeout_ms if streaming else mp.timeout_ms,
                        streaming,
                    )
                    err.at = end
                    raise err
                if end == provider_cut:
                    errors.append(
                        (
                            pp.name,
                            ProviderTimeout(
                                pp.name,
                                pp.stream_timeout_ms if streaming else pp.timeout_ms,
                                streaming,
                            ),
                        )
                    )
                else:
                    errors.append((pp.name, GlobalTimeout(pp.type, pp.url, streaming)))
                continue
            if kind == OK:
                return self._answer(
                    pp, mp, ctx.function, ctx.variant, ctx.episode_id,
                    ctx.inference_id, role, start, natural, in_tokens, out_cap,
                    roles, borrow,
                )  # fmt: skip
            billed_flag = (
                pp.bill_rate_limited if kind == RATE_LIMITED else pp.bill_failed
            )
            cost = self._cost(pp, in_tokens, 0)[1] if billed_flag else 0
            ledger_append(
                start, natural, ctx.function, ctx.variant, ctx.episode_id,
                ctx.inference_id, mp.name, pp.name, role, in_tokens, 0,
                cost, kind, status, billed_flag, roles,
            )  # fmt: skip
            t = natural
            if too_long and kind == CLIENT_ERROR and status == 400:
                body = error_body(pp.context_window, in_tokens, out_cap)
            else:
                body = _error_body(kind, status)
            errors.append((pp.name, ProviderError(pp.type, status, body)))
        failure = AllModelProvidersFailed(errors)
        failure.at = t
        raise failure

    def _answer(
        self,
        pp: ProviderPlan,
        mp: ModelPlan,
        function: str,
        variant: str,
        episode_id: UUID,
        inference_id: UUID,
        role: str,
        start: float,
        end: float,
        in_tokens: int,
        out_cap: int | None,
        roles: str,
        borrow: Any,
    ) -> Call:
        """A provider's answer: its output draw, cost and ledger row."""
        out = pp.output_tokens.draw()
        if out_cap is not None and out > out_cap:
            out = out_cap
        cached, reported, billed = self._success_cost(pp, in_tokens, out)
        if borrow is not None:
            limits = self.admission.gateway  # type: ignore[union-attr]
            assert limits is not None
            limits.settle(
                borrow,
                end,
                in_tokens + out,
                # the gateway rounds the reported cost up to nano-USD
                None if reported is None else -(-reported // 1_000_000_000),
            )
        row = self.ledger.append(
            start, end, function, variant, episode_id, inference_id, mp.name,
            pp.name, role, in_tokens, out, billed, OK, 200, True, roles,
        )  # fmt: skip
        invalid = pp.invalid_draws is not None and (
            pp.invalid_draws.next() < pp.invalid_rate
        )
        return Call(row, in_tokens, out, cached, reported, end, invalid)

    def _success_cost(
        self, pp: ProviderPlan, in_tokens: int, out: int
    ) -> tuple[int | None, int | None, int | None]:
        """(cached tokens, reported atto-USD, billed nano-USD) of a success."""
        linear = pp.linear
        if linear is not None:
            # the common case: two counts priced by the provider's entries
            atto = in_tokens * linear[0] + out * linear[1]
            if atto >= 0:
                return pp.cache_default, atto, atto_to_nano(atto)
        return self._ok_cost(pp, in_tokens, out)

    def _ok_cost(
        self, pp: ProviderPlan, in_tokens: int, out: int
    ) -> tuple[int | None, int | None, int | None]:
        """(cached tokens, reported atto-USD, billed nano-USD) of a success."""
        if pp.simple and pp.formula is None and pp.table is not None:
            # no cache or reasoning counts in the world and no cost entries:
            # the price table's two rates (a linear formula is
            # :meth:`_success_cost`'s)
            t = pp.table
            nano = atto_to_nano(in_tokens * t.input_atto + out * t.output_atto)
            return pp.cache_default, None, nano
        cached = 0 if pp.cached is None else min(int(pp.cached.draw()), in_tokens)
        values = usage_values(
            in_tokens,
            out,
            cached,
            0 if pp.reasoning is None else min(int(pp.reasoning.draw()), out),
            0 if pp.cache_write is None else int(pp.cache_write.draw()),
        )
        reported = None if pp.formula is None else pp.formula.atto(values)
        billed: int | None
        if reported is not None:
            billed = atto_to_nano(reported)
        elif pp.table is not None:
            billed = atto_to_nano(pp.table.atto(values))
        else:
            billed = None
        return (cached if pp.cached is not None else pp.cache_default), reported, billed

    def _cost(
        self, pp: ProviderPlan, in_tokens: int, out: int
    ) -> tuple[int | None, int | None]:
        """(reported atto, billed nano) of a billed failure (no cache hits)."""
        values = usage_values(in_tokens, out)
        reported = None if pp.formula is None else pp.formula.atto(values)
        if reported is not None:
            return reported, atto_to_nano(reported)
        if pp.table is not None:
            return None, atto_to_nano(pp.table.atto(values))
        return None, None

    def _backoff_delay(self, retry: int, max_delay_s: float) -> float:
        """backon's exponential backoff as the gateway configures it: the
        first delay is 1 s (the builder's minimum, not capped by
        ``max_delay_s``), then ``min(2**k, max_delay_s)``; each with jitter
        ``x (1 + U[0,1))``."""
        base = 1.0 if retry == 0 else min(float(2**retry), max_delay_s)
        return base * (1.0 + self._backoff.next())

    def _call_with_retries(
        self,
        mp: ModelPlan,
        retries: RetryConfig,
        ctx: Context,
        role: str,
        t: float,
        deadline: float,
        deadline_error: Failure | None,
        prompt: Prompt,
        extra: int,
        out_cap: int | None,
    ) -> Call:
        """``infer_model_request``: retries around the routing loop."""
        errors: list[Failure] = []
        retry = 0
        while True:
            try:
                return self._call_model(
                    mp, ctx, role, t, deadline, deadline_error, prompt, extra, out_cap
                )
            except (AllModelProvidersFailed, ModelTimeout) as err:
                t = err.at
                if not err.retryable or retry >= retries.num_retries:
                    if not errors:
                        raise
                    errors.append(err)
                    final = AllRetriesFailed(errors)
                    final.at = t
                    raise final from None
                errors.append(err)
                t += self._backoff_delay(retry, retries.max_delay_s)
                retry += 1
                if t >= deadline and deadline_error is not None:
                    deadline_error.at = deadline
                    raise deadline_error from None

    # -- variants ------------------------------------------------------------

    def _prompt(self, ctx: Context, counter: PromptCounter) -> Prompt:
        key = id(counter)
        found: Prompt | None = ctx.prompt_cache.get(key)
        if found is None:
            found = counter.prompt(ctx.inp, ctx.key)
            ctx.prompt_cache[key] = found
        return found

    def _rendered(self, ctx: Context, counter: PromptCounter) -> Rendered:
        key = -2 - id(counter)
        found: Rendered | None = ctx.prompt_cache.get(key)
        if found is None:
            found = counter.render(ctx.inp, ctx.key)
            ctx.prompt_cache[key] = found
        return found

    def run_variant(
        self,
        fp: FunctionPlan,
        vp: VariantPlan,
        ctx: Context,
        t: float,
        role: str,
        params: Mapping[str, Any] | None,
        deadline: float,
        deadline_error: Failure | None,
    ) -> VariantResult:
        own = vp.stream_timeout_s if ctx.streaming else vp.timeout_s
        if t + own < deadline:
            deadline = t + own
            deadline_error = VariantTimeout(
                vp.name,
                vp.stream_timeout_ms if ctx.streaming else vp.timeout_ms,
                ctx.streaming,
            )
        kind = vp.kind
        if kind == "chat_completion" or kind == "chain_of_thought":
            # the common case, kept to as few calls as it takes
            assert vp.model is not None and vp.counter is not None
            if ctx.streaming and kind == "chain_of_thought":
                raise RequestError(
                    500,
                    "Unsupported variant for streaming inference of type "
                    "chain_of_thought",
                )
            key = ctx.key
            prompt = (
                self._prompt(ctx, vp.counter)
                if key is None
                # a plain input's prompt is one lookup in the counter's cache
                else vp.counter.prompt(ctx.inp, key)
            )
            cap = self._out_cap(vp, params) if params else vp.max_tokens
            call: Call | None = None
            if vp.sure is not None and deadline == INF and not ctx.streaming:
                call = self.answer_sure(
                    vp, ctx.function, ctx.variant, ctx.episode_id, ctx.inference_id,
                    role, prompt, cap, t,
                )  # fmt: skip
            if call is None:
                call = self._call_with_retries(
                    vp.model, vp.retries, ctx, role, t, deadline, deadline_error,
                    prompt, 0, cap,
                )  # fmt: skip
            return VariantResult(vp.model.name, call, [call], call.end)
        if kind == "dicl":
            return self._run_dicl(
                fp, vp, ctx, t, role, params, deadline, deadline_error
            )
        return self._run_fan_out(fp, vp, ctx, t, deadline, deadline_error)

    def answer_sure(
        self,
        vp: VariantPlan,
        function: str,
        variant: str,
        episode_id: UUID,
        inference_id: UUID,
        role: str,
        prompt: Prompt,
        out_cap: int | None,
        start: float,
    ) -> Call | None:
        """A non-streaming request to a variant with a sure provider, with
        no deadline but the variant's: that provider's first attempt, which
        nothing can fail, with the same draws in the same order as the
        routing loop would make.  ``None`` (and nothing drawn or written)
        when the prompt needs the routing loop: a JSON instruction or tool
        messages to add, or more tokens than the context window holds."""
        pp = vp.sure
        assert pp is not None and vp.model is not None
        if (
            prompt.json_on
            or prompt.split_roles is not None
            or exceeds(pp.context_window, prompt.tokens, out_cap)
            or not self._in_time(pp)
        ):
            return None
        return self._answer(
            pp, vp.model, function, variant, episode_id, inference_id, role, start,
            start + pp.latency.draw(), prompt.tokens, out_cap, prompt.roles, None,
        )  # fmt: skip

    def answer_plain(
        self,
        vp: VariantPlan,
        function: str,
        variant: str,
        episode_id: UUID,
        inference_id: UUID,
        role: str,
        inp: Mapping[str, Any],
        key: PlainKey,
        start: float,
    ) -> Call | None:
        """:meth:`answer_sure` for a plain input and the variant's own
        ``max_tokens``.  When the sure provider's attempt draws nothing
        (fixed latency and output, no raw-usage counts, no invalid answers)
        it is the same for every request with the same input, so it is
        worked out once per input and only its ledger row is written."""
        memo = vp.fixed_attempts
        if memo is None:
            assert vp.counter is not None
            try:
                prompt = vp.counter.prompt(inp, key)
            except RequestError:
                # a template that fails to render fails this variant only;
                # the routing path reports it so, with nothing drawn yet
                return None
            return self.answer_sure(
                vp, function, variant, episode_id, inference_id, role, prompt,
                vp.max_tokens, start,
            )  # fmt: skip
        attempt = memo.get(key)
        if attempt is None:
            attempt = self.fixed_attempt(vp, inp, key)
        if attempt is ROUTED:
            return None
        tokens, out, cached, reported, billed, latency, roles, model, provider = (
            attempt[:9]
        )
        end = start + latency
        row = self.ledger.append(
            start, end, function, variant, episode_id, inference_id, model,
            provider, role, tokens, out, billed, OK, 200, True, roles,
        )  # fmt: skip
        return Call(row, tokens, out, cached, reported, end, False)

    def fixed_attempt(
        self, vp: VariantPlan, inp: Mapping[str, Any], key: PlainKey
    ) -> tuple[Any, ...]:
        """The sure provider's attempt for a plain input when it draws
        nothing (what :meth:`_answer` would compute, as a
        :class:`FixedAttempt`), remembered in ``vp.fixed_attempts``;
        ``ROUTED`` when the prompt needs the routing loop."""
        memo = vp.fixed_attempts
        assert memo is not None
        attempt = self._fixed_attempt(vp, inp, key)
        if len(memo) >= _REMEMBERED_ATTEMPTS:
            memo.clear()
        memo[key] = attempt
        return attempt

    def _fixed_attempt(
        self, vp: VariantPlan, inp: Mapping[str, Any], key: PlainKey
    ) -> tuple[Any, ...]:
        """:meth:`fixed_attempt`, worked out."""
        pp, mp, counter = vp.sure, vp.model, vp.counter
        assert pp is not None and mp is not None and counter is not None
        try:
            prompt = counter.prompt(inp, key)
        except RequestError:
            # as in :meth:`answer_plain`: the routing path reports it
            return ROUTED
        cap = vp.max_tokens
        if (
            prompt.json_on
            or prompt.split_roles is not None
            or exceeds(pp.context_window, prompt.tokens, cap)
        ):
            return ROUTED
        out = pp.output_tokens.draw()
        if cap is not None and out > cap:
            out = cap
        cached, reported, billed = self._success_cost(pp, prompt.tokens, out)
        return FixedAttempt(
            prompt.tokens, out, cached, reported, billed, pp.latency.draw(),
            prompt.roles, mp.name, pp.name, chat_text(mp.name, out),
            None if reported is None else reported / ATTO_PER_USD,
        )  # fmt: skip

    def _out_cap(self, vp: VariantPlan, params: Mapping[str, Any] | None) -> int | None:
        if params:
            chat = params.get("chat_completion")
            if isinstance(chat, Mapping) and chat.get("max_tokens") is not None:
                return int(chat["max_tokens"])
        return vp.max_tokens

    @staticmethod
    def output(fp: FunctionPlan, model: str, call: Call) -> Output:
        """The answer ``call`` (to ``model``) gave, built once it is the one
        returned."""
        if fp.json_example is not None:
            if call.invalid:
                return Output(raw_json="simulated unparseable answer", parsed_ok=False)
            return Output(raw_json=fp.json_example)
        if fp.tool_call is not None:
            return Output(tool=fp.tool_call)
        return Output(text=chat_text(model, call.output_tokens))

    def _run_dicl(
        self,
        fp: FunctionPlan,
        vp: VariantPlan,
        ctx: Context,
        t: float,
        role: str,
        params: Mapping[str, Any] | None,
        deadline: float,
        deadline_error: Failure | None,
    ) -> VariantResult:
        assert vp.model is not None and vp.embedding is not None
        assert vp.example_tokens is not None and vp.distances is not None
        serialized = ctx.prompt_cache.get(-1)
        if serialized is None:
            serialized = serialized_input_tokens(ctx.inp)
            ctx.prompt_cache[-1] = serialized
        # the embedding call has no retries (``embed`` is called once)
        emb = self._call_model(
            vp.embedding,
            ctx,
            "embedding",
            t,
            deadline,
            deadline_error,
            Prompt(serialized, "", serialized, ""),
            0,
            None,
        )
        retrieved = min(vp.k, vp.pool_size)
        examples = 0
        shown = 0
        for _ in range(retrieved):
            distance = vp.distances.draw()
            if vp.max_distance is None or distance <= vp.max_distance:
                examples += int(vp.example_tokens.draw())
                shown += 1
        # Without examples the input messages go as they are; with examples
        # the current input is serialized into the final user message.
        base: Prompt
        if examples:
            final_user = MESSAGE_TOKENS + serialized
            tokens = make_prompt(
                vp.instructions, final_user, (), json_on=False, json_hint=False
            ).tokens
            roles = "system" + ",user,assistant" * shown + ",user"
            base = Prompt(tokens, roles, tokens, roles)
        else:
            # The instructions replace the input's system prompt (dicl.rs
            # ``prepare_request``); the messages go as the variant renders them.
            r = self._rendered(ctx, vp.counter)  # type: ignore[arg-type]
            base = make_prompt(
                vp.instructions,
                r.body_tokens,
                r.body_roles,
                json_on=vp.counter.json_on,  # type: ignore[union-attr]
                json_hint=r.json_hint,
                split_roles=r.split_roles,
                split_tokens=r.split_tokens,
            )
        call = self._call_with_retries(
            vp.model, vp.retries, ctx, role, emb.end, deadline, deadline_error,
            base, examples, self._out_cap(vp, params),
        )  # fmt: skip
        return VariantResult(vp.model.name, call, [emb, call], call.end)

    def _candidate_answers(
        self, fp: FunctionPlan, survivors: list[VariantResult]
    ) -> tuple[str, ...]:
        """Each surviving candidate's output as the candidate list shows it:
        a chat answer's content blocks as JSON, a JSON answer's raw text
        (an unparseable one is left out)."""
        if fp.text_only:
            return tuple(
                [
                    candidate_text(chat_text(r.model, r.answer.output_tokens))
                    for r in survivors
                ]
            )
        answers = []
        for result in survivors:
            out = self.output(fp, result.model, result.answer)
            if out.raw_json is not None:
                if out.parsed_ok:
                    answers.append(out.raw_json)
            elif out.tool is not None:
                name, args = out.tool
                answers.append(
                    json.dumps(
                        [{"type": "tool_call", "name": name, "arguments": args}],
                        separators=(",", ":"),
                    )
                )
            else:
                answers.append(candidate_text(out.text or ""))
        return tuple(answers)

    def _candidate(
        self,
        fp: FunctionPlan,
        name: str,
        ctx: Context,
        t: float,
        deadline: float,
        deadline_error: Failure | None,
    ) -> VariantResult | Failure:
        """One fan-out candidate; its failure is returned, not raised, so it
        does not stop its siblings."""
        vp = fp.variants[name]
        key = ctx.key
        if (
            vp.sure is not None
            and key is not None
            and deadline == INF
            and not ctx.streaming
        ):
            # ``run_variant``'s short path, less the variant checks that a
            # variant with a sure provider passes anyway
            assert vp.model is not None
            call = self.answer_plain(
                vp, ctx.function, ctx.variant, ctx.episode_id, ctx.inference_id,
                "candidate", ctx.inp, key, t,
            )  # fmt: skip
            if call is not None:
                return VariantResult(vp.model.name, call, [call], call.end)
        try:
            # request-level params are not forwarded to candidates
            return self.run_variant(
                fp, fp.variants[name], ctx, t, "candidate", None,
                deadline, deadline_error,
            )  # fmt: skip
        except Failure as err:
            return err

    def _run_fan_out(
        self,
        fp: FunctionPlan,
        vp: VariantPlan,
        ctx: Context,
        t: float,
        deadline: float,
        deadline_error: Failure | None,
    ) -> VariantResult:
        """Best-of-N and mixture-of-N: candidates together, then one judge."""
        assert vp.judge is not None and vp.judge_counter is not None
        survivors: list[VariantResult] = []
        errors: list[tuple[str, Failure]] = []
        end = t
        names = vp.candidates
        # with limits declared the candidates run side by side in virtual
        # time; otherwise one after the other (lazily, so a variant timeout
        # stops the rest)
        outcomes: Iterable[VariantResult | Failure] = (
            run_concurrently(
                [
                    functools.partial(
                        self._candidate, fp, name, ctx, t, deadline, deadline_error
                    )
                    for name in names
                ]
            )
            if self.admission is not None
            else (
                self._candidate(fp, name, ctx, t, deadline, deadline_error)
                for name in names
            )
        )
        for i, (name, result) in enumerate(zip(names, outcomes, strict=True)):
            if isinstance(result, Failure):
                if result is deadline_error:
                    raise result
                end = max(end, getattr(result, "at", t))
                errors.append((f"candidates[{i}] ({name})", result))
                continue
            end = max(end, result.end)
            survivors.append(result)
        if not survivors:
            failure = AllCandidatesFailed(errors)
            failure.at = end
            raise failure
        calls = [c for r in survivors for c in r.calls]
        if len(survivors) == 1:
            only = survivors[0]
            return VariantResult(only.model, only.answer, calls, end)
        best_of_n = vp.kind == "best_of_n"
        prompt = judge_prompt(
            self._rendered(ctx, vp.judge_counter),
            self._candidate_answers(fp, survivors),
            not best_of_n,
            vp.judge_counter.json_on,
        )
        assert vp.choice_draws is not None
        try:
            judge = self._call_with_retries(
                vp.judge, vp.retries, ctx, "evaluator" if best_of_n else "fuser",
                end, deadline, deadline_error, prompt, 0, vp.max_tokens,
            )  # fmt: skip
        except Failure as err:
            if err is deadline_error:
                raise
            pick = int(vp.choice_draws.next() * len(survivors))
            chosen = survivors[pick]
            return VariantResult(chosen.model, chosen.answer, calls, max(end, err.at))
        calls.append(judge)
        if not best_of_n:
            return VariantResult(vp.judge.name, judge, calls, judge.end)
        # a usable answer names a candidate; an unusable one (non-JSON, out of
        # range) makes the gateway pick one at random: either way one draw
        pick = int(vp.choice_draws.next() * len(survivors))
        chosen = survivors[pick]
        return VariantResult(chosen.model, chosen.answer, calls, judge.end)
