"""``[models.*]`` and ``[embedding_models.*]``: routing, providers, costs,
timeouts.

The keys each provider type accepts follow the gateway's tagged provider
enum (``core/model.rs``); a key outside its type's list is refused, as the
gateway refuses it.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from simulator.config.model import (
    NO_TIMEOUTS,
    SHORTHAND_MODEL_PREFIXES,
    CostEntry,
    EmbeddingModelConfig,
    EmbeddingProviderConfig,
    ModelConfig,
    ProviderConfig,
    Timeouts,
    frozen_map,
)
from simulator.config.reader import Section

#: provider type -> (required keys, optional keys), besides the common ones.
PROVIDER_KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "anthropic": (
        ("model_name",),
        ("api_base", "api_key_location", "beta_structured_outputs", "provider_tools"),
    ),
    "aws_bedrock": (
        ("model_id",),
        (
            "region",
            "allow_auto_detect_region",
            "endpoint_url",
            "api_key",
            "access_key_id",
            "secret_access_key",
            "session_token",
        ),
    ),
    "aws_sagemaker": (
        ("endpoint_name", "model_name", "hosted_provider"),
        (
            "region",
            "allow_auto_detect_region",
            "endpoint_url",
            "access_key_id",
            "secret_access_key",
            "session_token",
        ),
    ),
    "azure": (("deployment_id", "endpoint"), ("api_key_location",)),
    "gcp_vertex_anthropic": (
        ("model_id", "location", "project_id"),
        ("credential_location", "provider_tools"),
    ),
    "gcp_vertex_gemini": (
        ("location", "project_id"),
        ("model_id", "endpoint_id", "credential_location"),
    ),
    "google_ai_studio_gemini": (("model_name",), ("api_key_location",)),
    "groq": (("model_name",), ("api_key_location", "reasoning_format")),
    "hyperbolic": (("model_name",), ("api_key_location",)),
    "fireworks": (("model_name",), ("api_key_location", "parse_think_blocks")),
    "mistral": (("model_name",), ("api_key_location", "prompt_mode")),
    "openai": (
        ("model_name",),
        (
            "api_base",
            "api_key_location",
            "api_type",
            "include_encrypted_reasoning",
            "provider_tools",
            "content_type_overrides",
        ),
    ),
    "openrouter": (("model_name",), ("api_key_location",)),
    "together": (("model_name",), ("api_key_location", "parse_think_blocks")),
    "vllm": (("model_name", "api_base"), ("api_key_location",)),
    "xai": (("model_name",), ("api_key_location",)),
    "tgi": (("api_base",), ("api_key_location",)),
    "sglang": (("model_name", "api_base"), ("api_key_location",)),
    "deepseek": (("model_name",), ("api_key_location",)),
}
EMBEDDING_PROVIDER_TYPES = ("openai", "azure", "openrouter")
_DUMMY_KEYS: tuple[tuple[str, ...], tuple[str, ...]] = (
    ("model_name",),
    ("api_key_location",),
)
_MODEL_NAME_KEYS = ("model_name", "model_id", "deployment_id", "endpoint_id")
_DUMMY_FIX = (
    "the `dummy` provider exists only in the gateway's own test builds; "
    "point an `openai` provider at a local server instead"
)


def _provider_type(sec: Section) -> str:
    kind = sec.get(
        "type",
        "str",
        required=True,
        fix='add `type = "openai"` (or another provider type)',
    )
    if kind == "dummy" and sec.ctx.allow_dummy:
        return "dummy"
    if kind == "dummy":
        sec.fail(
            "type",
            "provider type `dummy` is not available in the released gateway",
            _DUMMY_FIX,
        )
    if kind not in PROVIDER_KEYS:
        sec.fail(
            "type",
            f"unknown provider type {kind!r}",
            "use one of " + ", ".join(sorted(PROVIDER_KEYS)),
        )
    return str(kind)


def _type_specific(sec: Section, kind: str) -> tuple[str | None, dict[str, Any]]:
    required, optional = PROVIDER_KEYS.get(kind, _DUMMY_KEYS)
    options: dict[str, Any] = {}
    for key in required:
        options[key] = sec.get(key, "any", required=True)
    for key in optional:
        if sec.has(key):
            options[key] = sec.get(key, "any")
    model_name = next(
        (str(options[k]) for k in _MODEL_NAME_KEYS if isinstance(options.get(k), str)),
        None,
    )
    return model_name, options


def read_timeouts(sec: Section, key: str = "timeouts", *, global_ms: int) -> Timeouts:
    table = sec.sub(key)
    if table is None:
        return NO_TIMEOUTS
    values: dict[str, int | None] = {}
    for group, keys in (
        ("non_streaming", ("total_ms",)),
        ("streaming", ("ttft_ms", "total_ms")),
    ):
        group_sec = table.sub(group)
        if group_sec is None:
            continue
        for key in keys:
            value = group_sec.get(key, "uint")
            if value is not None and value > global_ms:
                group_sec.fail(
                    key,
                    f"{value} ms is more than gateway.global_outbound_http_timeout_ms "
                    f"({global_ms} ms)",
                    "lower it or raise gateway.global_outbound_http_timeout_ms",
                )
            values[f"{group}_{key}"] = value
        group_sec.done()
    table.done()
    return Timeouts(**values)


def read_cost(
    sec: Section, key: str, *, unified_only: bool
) -> tuple[CostEntry, ...] | None:
    entries = sec.get(key, "list")
    if entries is None:
        return None
    result = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            sec.fail(
                key,
                f"entry {index} is not a table",
                "write each entry as { pointer = ..., cost_per_million = ... }",
            )
        item = Section(sec.ctx, entry, (*sec.path, key, str(index)))
        pointer = item.get("pointer", "str")
        non_streaming = item.get("pointer_nonstreaming", "str")
        streaming = item.get("pointer_streaming", "str")
        if pointer is not None and (non_streaming is not None or streaming is not None):
            item.fail(
                "pointer",
                "both `pointer` and the streaming/non-streaming pair are set",
                "keep one form",
            )
        if pointer is None:
            if unified_only:
                item.fail(
                    "pointer",
                    "missing required key",
                    "embedding and batch costs take a single `pointer`",
                )
            if non_streaming is None or streaming is None:
                item.fail(
                    "pointer",
                    "missing a JSON pointer",
                    "set `pointer`, or both `pointer_nonstreaming` and "
                    "`pointer_streaming`",
                )
            pointer_ns, pointer_s = non_streaming, streaming
        else:
            pointer_ns = pointer_s = pointer
        for text, name in (
            (pointer_ns, "pointer_nonstreaming"),
            (pointer_s, "pointer_streaming"),
        ):
            if text and not text.startswith("/"):
                item.fail(
                    "pointer" if pointer is not None else name,
                    f"{text!r} is not a JSON pointer",
                    'start it with / (e.g. "/usage/prompt_tokens")',
                )
        per_million = item.get("cost_per_million", "any")
        per_unit = item.get("cost_per_unit", "any")
        if (per_million is None) == (per_unit is None):
            item.fail(
                "cost_per_million",
                "exactly one of `cost_per_million` and `cost_per_unit` is required",
                "keep one of them",
            )
        raw = per_million if per_million is not None else per_unit
        rate = _decimal(
            item,
            "cost_per_million" if per_million is not None else "cost_per_unit",
            raw,
        )
        if per_million is not None:
            rate = rate / Decimal(1_000_000)
        required = item.get("required", "bool", False)
        item.done()
        result.append(CostEntry(pointer_ns, pointer_s, rate, required))
    return tuple(result)


def _decimal(sec: Section, key: str, raw: Any) -> Decimal:
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
        sec.fail(key, "expected a number", "write the rate in dollars, e.g. 2.5")
    try:
        value = Decimal(str(raw))
    except ArithmeticError:
        value = Decimal("NaN")
    if not value.is_finite():
        sec.fail(
            key,
            f"{raw!r} is not a finite number",
            "write the rate in dollars, e.g. 2.5",
        )
    return value


def check_model_name(sec: Section, name: str, what: str) -> None:
    if name.startswith("tensorzero::"):
        sec.fail(name, f"{what} names may not start with `tensorzero::`", "rename it")
    prefix, sep, _ = name.partition("::")
    if sep and prefix in SHORTHAND_MODEL_PREFIXES:
        sec.fail(
            name,
            f"{what} names may not start with a provider prefix (`{prefix}::`)",
            "rename it, or drop the entry and use the shorthand directly",
        )


def _routing(sec: Section, providers: Mapping[str, Any]) -> tuple[str, ...]:
    routing = sec.get(
        "routing", "str_list", required=True, fix='add `routing = ["<provider name>"]`'
    )
    if not routing:
        sec.fail("routing", "`routing` is empty", "list at least one provider")
    seen: set[str] = set()
    for entry in routing:
        if entry in seen:
            sec.fail(
                "routing", f"`routing` lists {entry!r} twice", "list each provider once"
            )
        seen.add(entry)
        if entry not in providers:
            sec.fail(
                "routing",
                f"`routing` contains {entry!r}, which is not in `providers`",
                f"add [{sec.key_of('providers')}.{entry}] or remove it from routing",
            )
    for name in providers:
        if name not in seen:
            sec.fail(
                "routing",
                f"provider {name!r} is not listed in `routing`",
                "add it to routing or remove the provider",
            )
    return tuple(routing)


def read_model(sec: Section, name: str, *, global_ms: int) -> ModelConfig:
    providers_sec = sec.sub("providers", required=True)
    assert providers_sec is not None
    routing = _routing(sec, providers_sec.data)
    providers: dict[str, ProviderConfig] = {}
    for provider_name, _ in sorted(providers_sec.items()):
        psec = providers_sec.child(provider_name)
        kind = _provider_type(psec)
        model_name, options = _type_specific(psec, kind)
        for key in ("extra_body", "extra_headers", "discard_unknown_chunks"):
            if psec.has(key):
                options[key] = psec.get(key, "any")
        timeouts = read_timeouts(psec, global_ms=global_ms)
        cost = read_cost(psec, "cost", unified_only=False)
        batch_cost = read_cost(psec, "batch_cost", unified_only=True)
        psec.done()
        providers[provider_name] = ProviderConfig(
            name=provider_name,
            type=kind,
            model_name=model_name,
            timeouts=timeouts,
            cost=cost,
            batch_cost=batch_cost,
            options=frozen_map(options),
        )
    timeouts = read_timeouts(sec, global_ms=global_ms)
    sec.get("skip_relay", "bool")
    namespace = sec.get("namespace", "str")
    sec.done()
    return ModelConfig(
        name=name,
        routing=routing,
        providers=frozen_map(providers),
        timeouts=timeouts,
        namespace=namespace,
    )


def read_embedding_model(sec: Section, name: str) -> EmbeddingModelConfig:
    providers_sec = sec.sub("providers", required=True)
    assert providers_sec is not None
    routing = _routing(sec, providers_sec.data)
    providers: dict[str, EmbeddingProviderConfig] = {}
    for provider_name, _ in sorted(providers_sec.items()):
        psec = providers_sec.child(provider_name)
        kind = _provider_type(psec)
        if kind not in EMBEDDING_PROVIDER_TYPES and kind != "dummy":
            psec.fail(
                "type",
                f"provider type {kind!r} cannot serve embeddings",
                "use one of " + ", ".join(EMBEDDING_PROVIDER_TYPES),
            )
        model_name, options = _type_specific(psec, kind)
        for key in ("extra_body", "extra_headers"):
            if psec.has(key):
                options[key] = psec.get(key, "any")
        timeout_ms = psec.get("timeout_ms", "uint")
        cost = read_cost(psec, "cost", unified_only=True)
        psec.done()
        providers[provider_name] = EmbeddingProviderConfig(
            name=provider_name,
            type=kind,
            model_name=model_name,
            timeout_ms=timeout_ms,
            cost=cost,
            options=frozen_map(options),
        )
    timeout_ms = sec.get("timeout_ms", "uint")
    sec.done()
    return EmbeddingModelConfig(
        name=name,
        routing=routing,
        providers=frozen_map(providers),
        timeout_ms=timeout_ms,
    )
