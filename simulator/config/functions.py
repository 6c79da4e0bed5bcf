"""``[functions.*]``: schemas, tools, the five variant types and the
experimentation section.

Reference checks that need the whole config (models, candidates, metrics,
tools) live in :mod:`simulator.config.validate`; this module only checks
what one function's tables say on their own.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from simulator.config.model import (
    AnyVariant,
    BestOfNVariant,
    ChainOfThoughtVariant,
    ChatCompletionConfig,
    ChatCompletionVariant,
    DiclVariant,
    Experimentation,
    FunctionConfig,
    MixtureOfNVariant,
    RetryConfig,
    Template,
    Timeouts,
    frozen_map,
)
from simulator.config.providers import read_timeouts
from simulator.config.reader import Section

VARIANT_TYPES = (
    "chat_completion",
    "experimental_best_of_n_sampling",
    "experimental_dynamic_in_context_learning",
    "experimental_mixture_of_n",
    "experimental_chain_of_thought",
)
JSON_MODES = ("off", "on", "strict", "tool")
#: inference parameters a chat_completion variant may set, with their kinds
CHAT_PARAMS: dict[str, str] = {
    "temperature": "opt_number",
    "top_p": "opt_number",
    "max_tokens": "uint",
    "presence_penalty": "opt_number",
    "frequency_penalty": "opt_number",
    "seed": "uint",
    "stop_sequences": "str_list",
    "reasoning_effort": "str",
    "service_tier": "str",
    "thinking_budget_tokens": "int",
    "verbosity": "str",
}
DICL_PARAMS = {k: v for k, v in CHAT_PARAMS.items() if k != "service_tier"}
LEGACY_TEMPLATES = ("system", "user", "assistant")

_BLOG_FORM_FIX = (
    "best-of-N is a variant: write [functions.F.variants.V] with "
    'type = "experimental_best_of_n_sampling", candidates = ["variant_a", '
    '"variant_a", ...] (N = the list length) and a '
    '[functions.F.variants.V.evaluator] table with model = "..."'
)


def _weight(sec: Section) -> float | None:
    weight = sec.get("weight", "opt_number")
    if weight is not None and weight < 0:
        sec.fail("weight", f"weight {weight} is negative", "use a weight >= 0")
    return None if weight is None else float(weight)


def _retries(sec: Section) -> RetryConfig:
    table = sec.sub("retries")
    if table is None:
        return RetryConfig()
    # The gateway does not deny unknown keys here: extra keys are ignored.
    num = table.get("num_retries", "uint", 0, fix="use a whole number >= 0")
    delay = table.get("max_delay_s", "number", 10.0)
    if delay < 0:
        table.fail("max_delay_s", "max_delay_s is negative", "use a delay >= 0")
    return RetryConfig(num_retries=int(num), max_delay_s=float(delay))


def _template(
    sec: Section, key: str, name: str, *, legacy: bool = False
) -> Template | None:
    found = sec.path_text(key)
    if found is None:
        return None
    path, text = found
    _check_template_syntax(sec, key, name, text)
    return Template(name=name, source=text, path=path, legacy=legacy)


def _check_template_syntax(sec: Section, key: str, name: str, text: str) -> None:
    import minijinja

    try:
        minijinja.Environment().add_template(name, text)
    except minijinja.TemplateError as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else "syntax error"
        sec.fail(
            key,
            f"the template does not compile ({first_line})",
            "fix the template syntax",
        )


def read_chat_completion(
    sec: Section, *, function_type: str, role: str
) -> tuple[ChatCompletionConfig, float | None]:
    """The fields shared by chat_completion, CoT, evaluator and fuser.

    ``role`` is ``"variant"``, ``"evaluator"`` or ``"fuser"``: it decides
    whether ``json_mode`` is required, optional or refused.
    """
    weight = _weight(sec)
    model = sec.get("model", "str", required=True, fix='add `model = "<model name>"`')
    templates: dict[str, Template] = {}
    for name in LEGACY_TEMPLATES:
        found = _template(sec, f"{name}_template", name, legacy=True)
        if found is not None:
            templates[name] = found
    named = sec.sub("templates")
    if named is not None:
        for name, _ in sorted(named.items()):
            entry = named.child(name)
            if name in templates:
                named.fail(
                    name,
                    f"template {name!r} is also set by `{name}_template`",
                    f"keep either `{name}_template` or `templates.{name}.path`",
                )
            found = _template(entry, "path", name)
            if found is None:
                entry.fail(
                    "path", "missing required key", 'add `path = "<template file>"`'
                )
            entry.done()
            templates[name] = found
    wrappers: dict[str, Template] = {}
    wrapper_sec = sec.sub("input_wrappers")
    if wrapper_sec is not None:
        for name in LEGACY_TEMPLATES:
            found = _template(wrapper_sec, name, name)
            if found is not None:
                wrappers[name] = found
        wrapper_sec.done()
    params = _params(sec, CHAT_PARAMS)
    json_mode = _json_mode(sec, function_type=function_type, role=role)
    config = ChatCompletionConfig(
        model=model,
        templates=frozen_map(templates),
        input_wrappers=frozen_map(wrappers),
        params=frozen_map(params),
        json_mode=json_mode,
        retries=_retries(sec),
        extra_body=sec.get("extra_body", "any"),
        extra_headers=sec.get("extra_headers", "any"),
    )
    return config, weight


def _params(sec: Section, kinds: Mapping[str, str]) -> dict[str, Any]:
    # Every parameter is read, present or not, so that a misspelt key's error
    # lists the parameters among the accepted ones.
    read = {key: sec.get(key, kind) for key, kind in kinds.items()}
    return {key: value for key, value in read.items() if value is not None}


def _json_mode(sec: Section, *, function_type: str, role: str) -> Any:
    json_mode = sec.choice("json_mode", JSON_MODES)
    where = sec.key_of()
    if function_type == "json" and json_mode is None and role in ("variant", "fuser"):
        sec.fail(
            "json_mode",
            f"`json_mode` must be set for [{where}] (its function is a json function)",
            'add `json_mode = "strict"` (or "on", "tool", "off")',
        )
    if function_type == "chat" and json_mode is not None and role == "variant":
        sec.fail(
            "json_mode",
            "`json_mode` is only for variants of json functions",
            "remove it (this function is a chat function)",
        )
    return json_mode


def _candidates(sec: Section) -> tuple[str, ...]:
    candidates = sec.get(
        "candidates",
        "str_list",
        required=True,
        fix='add `candidates = ["variant", ...]`',
    )
    return tuple(candidates)


def _fan_out(
    sec: Section, role: str, function_type: str
) -> tuple[float | None, tuple[str, ...], ChatCompletionConfig]:
    """Best-of-N and mixture-of-N: weight, candidates and the one
    chat-completion table (``evaluator`` or ``fuser``) that judges them."""
    weight = _weight(sec)
    _timeout_s(sec)
    candidates = _candidates(sec)
    judge_sec = sec.sub(role, required=True)
    assert judge_sec is not None
    judge, _ = read_chat_completion(judge_sec, function_type=function_type, role=role)
    judge_sec.done()
    return weight, candidates, judge


def _timeout_s(sec: Section) -> None:
    if sec.has("timeout_s"):
        value = sec.get("timeout_s", "opt_number")
        if value is not None and value < 0:
            sec.fail("timeout_s", "timeout_s is negative", "use a positive number")
        sec.ctx.warn(
            (*sec.path, "timeout_s"),
            "`timeout_s` is deprecated; set `timeouts` on the candidate variants",
        )


def read_variant(
    sec: Section, name: str, *, function_type: str, global_ms: int
) -> AnyVariant:
    if (
        sec.has("best_of_n_sampling")
        or sec.get("type", "any") == "latent_space_optimizer"
    ):
        key = "best_of_n_sampling" if sec.has("best_of_n_sampling") else "type"
        sec.fail(
            key,
            "there is no `best_of_n_sampling` table or `latent_space_optimizer` type",
            _BLOG_FORM_FIX,
        )
    kind = sec.get("type", "str", required=True, fix='add `type = "chat_completion"`')
    if kind == "experimental_best_of_n":
        sec.fail(
            "type",
            "unknown variant type `experimental_best_of_n`",
            "the gateway spells it `experimental_best_of_n_sampling`",
        )
    if kind not in VARIANT_TYPES:
        sec.fail(
            "type",
            f"unknown variant type {kind!r}",
            "use one of " + ", ".join(VARIANT_TYPES),
        )
    timeouts: Timeouts = read_timeouts(sec, global_ms=global_ms)
    namespace = sec.get("namespace", "str")
    common: dict[str, Any] = {
        "name": name,
        "timeouts": timeouts,
        "namespace": namespace,
    }
    variant: AnyVariant
    if kind == "chat_completion":
        inner, weight = read_chat_completion(
            sec, function_type=function_type, role="variant"
        )
        variant = ChatCompletionVariant(type=kind, weight=weight, inner=inner, **common)
    elif kind == "experimental_chain_of_thought":
        if function_type != "json":
            sec.fail(
                "type",
                "`experimental_chain_of_thought` variants are only for json functions",
                "use `chat_completion` for a chat function",
            )
        inner, weight = read_chat_completion(
            sec, function_type=function_type, role="variant"
        )
        sec.ctx.warn(
            (*sec.path, "type"),
            "`experimental_chain_of_thought` is deprecated; use `chat_completion` "
            "with a reasoning model",
        )
        variant = ChainOfThoughtVariant(type=kind, weight=weight, inner=inner, **common)
    elif kind == "experimental_best_of_n_sampling":
        weight, candidates, evaluator = _fan_out(sec, "evaluator", function_type)
        variant = BestOfNVariant(
            type=kind,
            weight=weight,
            candidates=candidates,
            evaluator=evaluator,
            **common,
        )
    elif kind == "experimental_mixture_of_n":
        weight, candidates, fuser = _fan_out(sec, "fuser", function_type)
        variant = MixtureOfNVariant(
            type=kind, weight=weight, candidates=candidates, fuser=fuser, **common
        )
    else:
        variant = _read_dicl(sec, function_type=function_type, common=common)
    sec.done()
    return variant


_DEFAULT_DICL_INSTRUCTIONS = (
    "You are tasked with learning by induction and then solving a problem below. "
    "You will be shown several examples of inputs followed by outputs. Then, in "
    "the same format you will be given one last set of inputs. Your job is to "
    "use the provided examples to inform your response to the last set of inputs."
)


def _read_dicl(
    sec: Section, *, function_type: str, common: dict[str, Any]
) -> DiclVariant:
    weight = _weight(sec)
    embedding_model = sec.get("embedding_model", "str", required=True)
    k = sec.get("k", "uint", required=True, fix="add `k = <number of examples>`")
    model = sec.get("model", "str", required=True)
    found = sec.path_text("system_instructions")
    instructions = _DEFAULT_DICL_INSTRUCTIONS if found is None else found[1]
    params = _params(sec, DICL_PARAMS)
    max_distance = sec.get("max_distance", "opt_number")
    if max_distance is not None and max_distance < 0:
        sec.fail(
            "max_distance", "max_distance is negative", "use a cosine distance >= 0"
        )
    return DiclVariant(
        type="experimental_dynamic_in_context_learning",
        weight=weight,
        embedding_model=embedding_model,
        k=int(k),
        model=model,
        system_instructions=instructions,
        max_distance=None if max_distance is None else float(max_distance),
        params=frozen_map(params),
        json_mode=_json_mode(sec, function_type=function_type, role="variant"),
        retries=_retries(sec),
        extra_body=sec.get("extra_body", "any"),
        extra_headers=sec.get("extra_headers", "any"),
        **common,
    )


# -- experimentation -------------------------------------------------------

EXPERIMENTATION_TYPES = (
    "static",
    "adaptive",
    "static_weights",
    "uniform",
    "track_and_stop",
)


def read_experimentation(sec: Section, *, nested: bool = False) -> Experimentation:
    # The gateway does not deny unknown keys in these tables.
    kind = sec.get(
        "type", "str", required=True, fix='add `type = "static"` or `type = "adaptive"`'
    )
    if kind not in EXPERIMENTATION_TYPES:
        sec.fail(
            "type",
            f"unknown experimentation type {kind!r}",
            'use "static" or "adaptive"',
        )
    namespaces: dict[str, Experimentation] = {}
    if not nested:
        ns_sec = sec.sub("namespaces")
        if ns_sec is not None:
            for ns, _ in sorted(ns_sec.items()):
                namespaces[ns] = read_experimentation(ns_sec.child(ns), nested=True)
    if kind in ("static_weights", "uniform", "track_and_stop"):
        modern = "adaptive" if kind == "track_and_stop" else "static"
        sec.ctx.warn(
            (*sec.path, "type"),
            f"experimentation type `{kind}` is deprecated; use `{modern}`",
        )
    fallbacks = tuple(sec.get("fallback_variants", "str_list", []) or ())
    if kind in ("adaptive", "track_and_stop"):
        metric = sec.get("metric", "str", required=True)
        candidates = sec.get("candidate_variants", "str_list", required=True)
        settings = {}
        for key, default, kind_name in (
            ("algorithm", "track_and_stop", "str"),
            ("min_samples_per_variant", 10, "uint"),
            ("delta", 0.05, "number"),
            ("epsilon", 0.0, "number"),
            ("update_period_s", 300, "uint"),
            ("min_prob", 0.0, "number"),
            ("max_samples_per_variant", 10000, "uint"),
        ):
            settings[key] = sec.get(key, kind_name, default)
        if settings["algorithm"] != "track_and_stop":
            sec.fail(
                "algorithm",
                f"unknown algorithm {settings['algorithm']!r}",
                'use "track_and_stop"',
            )
        if not 0 < settings["delta"] < 1:
            sec.fail("delta", "delta must be between 0 and 1", "use e.g. 0.05")
        if settings["epsilon"] < 0:
            sec.fail("epsilon", "epsilon is negative", "use a value >= 0")
        if settings["min_prob"] < 0 or settings["min_prob"] * len(candidates) > 1:
            sec.fail(
                "min_prob",
                "min_prob times the number of candidates must be between 0 and 1",
                "lower min_prob",
            )
        _no_duplicates(sec, "candidate_variants", candidates)
        _no_duplicates(sec, "fallback_variants", list(fallbacks))
        return Experimentation(
            kind="adaptive",
            candidate_variants=frozen_map(dict.fromkeys(candidates, 1.0)),
            fallback_variants=fallbacks,
            metric=metric,
            settings=frozen_map(settings),
            namespaces=frozen_map(namespaces),
        )
    raw = sec.get("candidate_variants", "any")
    if kind == "uniform" and raw is None and not fallbacks:
        return Experimentation(kind="default", namespaces=frozen_map(namespaces))
    if raw is None and kind != "uniform":
        sec.fail(
            "candidate_variants", "missing required key", "list the variants to sample"
        )
    weights: dict[str, float] = {}
    if isinstance(raw, list) and kind != "static_weights":
        if not all(isinstance(v, str) for v in raw):
            sec.fail(
                "candidate_variants", "expected variant names", "list variant names"
            )
        _no_duplicates(sec, "candidate_variants", raw)
        weights = dict.fromkeys(raw, 1.0)
    elif isinstance(raw, Mapping) and kind != "uniform":
        for name, weight in raw.items():
            if (
                isinstance(weight, bool)
                or not isinstance(weight, (int, float))
                or not 0 <= weight < math.inf
            ):
                sec.fail(
                    "candidate_variants",
                    f"invalid weight for variant {name!r}: {weight!r}",
                    "use a number >= 0",
                )
            weights[name] = float(weight)
    elif raw is not None:
        sec.fail(
            "candidate_variants",
            "expected a list of variant names or a table of weights",
            'write ["a", "b"] or { a = 0.8, b = 0.2 }',
        )
    _no_duplicates(sec, "fallback_variants", list(fallbacks))
    both = sorted(set(weights) & set(fallbacks))
    if both:
        sec.fail(
            "fallback_variants",
            "variants cannot be in both candidate_variants and "
            f"fallback_variants: {', '.join(both)}",
            "keep each variant in one list",
        )
    if not any(w > 0 for w in weights.values()) and not fallbacks:
        sec.fail(
            "candidate_variants",
            "no candidate has a positive weight and there are no fallback variants",
            "give a candidate a weight > 0 or add fallback_variants",
        )
    return Experimentation(
        kind="static",
        candidate_variants=frozen_map(weights),
        fallback_variants=fallbacks,
        namespaces=frozen_map(namespaces),
    )


def _no_duplicates(sec: Section, key: str, names: list[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            sec.fail(key, f"duplicate variant name {name!r}", "list each variant once")
        seen.add(name)


# -- functions ---------------------------------------------------------------

_TOOL_CHOICES = ("none", "auto", "required")


def read_function(sec: Section, name: str, *, global_ms: int) -> FunctionConfig:
    kind = sec.choice(
        "type",
        ("chat", "json"),
        required=True,
        fix='add `type = "chat"` or `type = "json"`',
    )
    schemas: dict[str, Mapping[str, Any]] = {}
    for role in LEGACY_TEMPLATES:
        parsed = sec.path_json(f"{role}_schema")
        if parsed is not None:
            schemas[role] = parsed
    named = sec.sub("schemas")
    if named is not None:
        for schema_name, _ in sorted(named.items()):
            entry = named.child(schema_name)
            if schema_name in schemas:
                named.fail(
                    schema_name,
                    f"schema {schema_name!r} is also set by `{schema_name}_schema`",
                    "keep one of the two",
                )
            parsed = entry.path_json("path", required=True)
            entry.done()
            assert parsed is not None
            schemas[schema_name] = parsed
    description = sec.get("description", "str")
    tools: tuple[str, ...] = ()
    tool_choice: Any = "auto"
    parallel: bool | None = None
    output_schema: Mapping[str, Any] = {}
    if kind == "chat":
        tools = tuple(sec.get("tools", "str_list", []))
        tool_choice = _tool_choice(sec)
        parallel = sec.get("parallel_tool_calls", "bool")
    else:
        output_schema = sec.path_json("output_schema") or {}
    if not sec.has("variants"):
        sec.fail(
            "variants",
            "missing required key",
            f"add a [{sec.key_of('variants')}.<name>] table",
        )
    variants_sec = sec.sub("variants")
    assert variants_sec is not None
    variants: dict[str, AnyVariant] = {}
    for variant_name, _ in sorted(variants_sec.items()):
        variants[variant_name] = read_variant(
            variants_sec.child(variant_name),
            variant_name,
            function_type=kind,
            global_ms=global_ms,
        )
    exp_sec = sec.sub("experimentation")
    weighted = sorted(n for n, v in variants.items() if v.weight is not None)
    if exp_sec is not None:
        if weighted:
            sec.fail(
                "experimentation",
                "cannot mix an experimentation section with per-variant `weight` "
                f"(weights set on: {', '.join(weighted)})",
                "move the weights into experimentation.candidate_variants",
            )
        experimentation = read_experimentation(exp_sec)
    elif weighted:
        sec.ctx.warn(
            (*variants_sec.path, weighted[0], "weight"),
            "per-variant `weight` is deprecated; use [functions.F.experimentation] "
            'with type = "static" and candidate_variants',
        )
        # Variants without a weight are fallbacks only, in no fixed order.
        experimentation = Experimentation(
            kind="legacy",
            candidate_variants=frozen_map(
                {n: float(variants[n].weight or 0.0) for n in weighted}
            ),
            fallback_variants=tuple(n for n in variants if variants[n].weight is None),
        )
    else:
        experimentation = Experimentation()
    evaluators = sec.sub("evaluators")
    if evaluators is not None:
        # Function-level evaluators are run by the evaluation tooling, never
        # by inference; we only check they are tables.
        for evaluator_name, _ in evaluators.items():
            evaluators.child(evaluator_name)
    sec.done()
    return FunctionConfig(
        name=name,
        type=kind,
        variants=frozen_map(variants),
        schemas=frozen_map(schemas),
        experimentation=experimentation,
        description=description,
        tools=tools,
        tool_choice=tool_choice,
        parallel_tool_calls=parallel,
        output_schema=frozen_map(output_schema),
    )


def _tool_choice(sec: Section) -> Any:
    value = sec.get("tool_choice", "any", "auto")
    if isinstance(value, str):
        if value not in _TOOL_CHOICES:
            sec.fail(
                "tool_choice",
                f"unknown tool_choice {value!r}",
                'use "none", "auto", "required" or { specific = "<tool>" }',
            )
        return value
    if isinstance(value, Mapping):
        choice = Section(sec.ctx, value, (*sec.path, "tool_choice"))
        choice.get("specific", "str", required=True)
        choice.done()
        return dict(value)
    sec.fail(
        "tool_choice",
        "expected a string or a table",
        'use "auto" or { specific = "<tool>" }',
    )
