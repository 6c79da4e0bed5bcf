"""Build a :class:`~simulator.config.model.Config` from TOML, refusing what
the gateway refuses."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from simulator.config.files import KeyPath, load_merged
from simulator.config.functions import read_function
from simulator.config.model import (
    Config,
    MetricConfig,
    RateLimit,
    RateLimitingConfig,
    RateLimitRule,
    ToolConfig,
    frozen_map,
)
from simulator.config.providers import (
    check_model_name,
    read_embedding_model,
    read_model,
)
from simulator.config.reader import LoadContext, Section
from simulator.config.validate import validate

ROOT_KEYS = (
    "gateway",
    "clickhouse",
    "postgres",
    "rate_limiting",
    "object_storage",
    "models",
    "embedding_models",
    "functions",
    "metrics",
    "tools",
    "evaluations",
    "provider_types",
    "optimizers",
    "autopilot",
)
GATEWAY_KEYS = (
    "bind_address",
    "observability",
    "debug",
    "template_filesystem_access",
    "export",
    "base_path",
    "unstable_disable_feedback_target_validation",
    "unstable_error_json",
    "disable_pseudonymous_usage_analytics",
    "fetch_and_encode_input_files_before_inference",
    "auth",
    "global_outbound_http_timeout_ms",
    "relay",
    "metrics",
    "cache",
)
DEFAULT_GLOBAL_TIMEOUT_MS = 15 * 60 * 1000
RESERVED_METRICS = ("comment", "demonstration")
RATE_RESOURCES = ("model_inferences", "tokens", "cost")
RATE_INTERVALS = ("second", "minute", "hour", "day", "week", "month")


def load_config(path_or_glob: str | Path, *, allow_dummy: bool = False) -> Config:
    """Load one ``tensorzero.toml`` or a glob of files merged the gateway's
    way.  Raises :class:`simulator.errors.ConfigError` for anything the
    gateway would refuse; deprecated forms load with a ``ConfigWarning``.

    ``allow_dummy`` accepts ``type = "dummy"`` providers, which only the
    gateway's own test builds know; the released gateway refuses them.
    """
    merged = load_merged(path_or_glob)
    ctx = LoadContext(merged, allow_dummy=allow_dummy)
    root = Section(ctx, merged.data, ())
    for key in merged.data:
        if key not in ROOT_KEYS:
            root.fail(
                key,
                "unknown top-level key",
                "remove it (accepted: " + ", ".join(ROOT_KEYS) + ")",
            )
    gateway, global_ms = _gateway(root)
    models = {}
    models_sec = root.sub("models")
    if models_sec is not None:
        for name, _ in sorted(models_sec.items()):
            check_model_name(models_sec, name, "model")
            models[name] = read_model(models_sec.child(name), name, global_ms=global_ms)
    embedding_models = {}
    emb_sec = root.sub("embedding_models")
    if emb_sec is not None:
        for name, _ in sorted(emb_sec.items()):
            check_model_name(emb_sec, name, "embedding model")
            embedding_models[name] = read_embedding_model(emb_sec.child(name), name)
    metrics = _metrics(root)
    tools = _tools(root)
    functions = {}
    fn_sec = root.sub("functions")
    if fn_sec is not None:
        for name, _ in sorted(fn_sec.items()):
            if name.startswith("tensorzero::"):
                fn_sec.fail(
                    name,
                    "function names may not start with `tensorzero::`",
                    "rename it",
                )
            functions[name] = read_function(
                fn_sec.child(name), name, global_ms=global_ms
            )
    rate_limiting = _rate_limiting(root)
    _check_evaluation_files(root)
    # Tables the simulator has no use for are accepted as written; the
    # gateway checks them against live services we do not model.
    root.ignore(
        "clickhouse",
        "postgres",
        "object_storage",
        "evaluations",
        "provider_types",
        "optimizers",
        "autopilot",
    )
    config = Config(
        models=frozen_map(models),
        embedding_models=frozen_map(embedding_models),
        functions=frozen_map(functions),
        metrics=frozen_map(metrics),
        tools=frozen_map(tools),
        rate_limiting=rate_limiting,
        gateway=frozen_map(gateway),
        global_outbound_http_timeout_ms=global_ms,
        files=merged.files,
        warnings=tuple(ctx.warnings),
    )
    validate(config, ctx)
    return config


#: keys inside evaluator tables that name files the gateway reads at load
EVALUATOR_PATH_KEYS = frozenset(
    {
        "system_instructions",
        "typescript_file",
        "system_template",
        "user_template",
        "assistant_template",
        "output_schema",
        "path",
    }
)


def _check_evaluation_files(root: Section) -> None:
    """Evaluations are not simulated, but a file they name must exist: the
    gateway reads it at load and refuses the config when it is missing."""
    found: list[tuple[KeyPath, str]] = []

    def walk(value: Any, path: KeyPath) -> None:
        if isinstance(value, Mapping):
            for key, sub in value.items():
                if key in EVALUATOR_PATH_KEYS and isinstance(sub, str):
                    found.append(((*path, key), sub))
                else:
                    walk(sub, (*path, key))

    walk(root.data.get("evaluations", {}), ("evaluations",))
    for name, function in (root.data.get("functions") or {}).items():
        if isinstance(function, Mapping):
            walk(function.get("evaluators", {}), ("functions", name, "evaluators"))
    for path, _ in found:
        holder = root.data
        for part in path[:-1]:
            holder = holder[part]
        Section(root.ctx, holder, path[:-1]).path_text(path[-1])


def _gateway(root: Section) -> tuple[dict[str, Any], int]:
    sec = root.sub("gateway")
    if sec is None:
        return {}, DEFAULT_GLOBAL_TIMEOUT_MS
    for key in sec.data:
        if key not in GATEWAY_KEYS:
            sec.fail(
                key,
                "unknown key",
                "remove it (accepted: " + ", ".join(GATEWAY_KEYS) + ")",
            )
    global_ms = sec.get(
        "global_outbound_http_timeout_ms", "uint", DEFAULT_GLOBAL_TIMEOUT_MS
    )
    for key in (
        "debug",
        "unstable_disable_feedback_target_validation",
        "unstable_error_json",
        "disable_pseudonymous_usage_analytics",
        "fetch_and_encode_input_files_before_inference",
    ):
        sec.get(key, "bool")
    for key in (
        "observability",
        "template_filesystem_access",
        "export",
        "auth",
        "relay",
        "metrics",
        "cache",
    ):
        sec.get(key, "table")
    sec.get("bind_address", "str")
    sec.get("base_path", "str")
    observability = sec.sub("observability")
    if observability is not None:
        observability.get("enabled", "bool")
        observability.get("async_writes", "bool")
        observability.get("backend", "str")
        observability.get("batch_writes", "table")
        observability.get("disable_automatic_migrations", "bool")
        observability.done()
    return dict(sec.data), int(global_ms)


def _metrics(root: Section) -> dict[str, MetricConfig]:
    metrics: dict[str, MetricConfig] = {}
    sec = root.sub("metrics")
    if sec is None:
        return metrics
    for name, _ in sorted(sec.items()):
        if name in RESERVED_METRICS:
            sec.fail(name, f"`{name}` is a built-in metric name", "choose another name")
        if name.startswith("tensorzero::"):
            sec.fail(
                name, "metric names may not start with `tensorzero::`", "rename it"
            )
        msec = sec.child(name)
        metrics[name] = MetricConfig(
            name=name,
            type=msec.choice("type", ("boolean", "float"), required=True),
            optimize=msec.choice("optimize", ("min", "max"), required=True),
            level=msec.choice("level", ("inference", "episode"), required=True),
            description=msec.get("description", "str"),
        )
        msec.done()
    return metrics


def _tools(root: Section) -> dict[str, ToolConfig]:
    tools: dict[str, ToolConfig] = {}
    sec = root.sub("tools")
    if sec is None:
        return tools
    for name, _ in sorted(sec.items()):
        if name.startswith("tensorzero::"):
            sec.fail(name, "tool names may not start with `tensorzero::`", "rename it")
        tsec = sec.child(name)
        description = tsec.get("description", "str", required=True)
        parameters = tsec.path_json("parameters", required=True)
        assert parameters is not None
        tools[name] = ToolConfig(
            name=name,
            description=description,
            parameters=frozen_map(parameters),
            model_name=tsec.get("name", "str"),
            strict=tsec.get("strict", "bool", False),
        )
        tsec.done()
    return tools


def _rate_limiting(root: Section) -> RateLimitingConfig:
    sec = root.sub("rate_limiting")
    if sec is None:
        return RateLimitingConfig()
    # The gateway ignores unknown keys at this level.
    enabled = sec.get("enabled", "bool", True)
    sec.choice("backend", ("auto", "postgres", "valkey"))
    default_cost = sec.get("default_cost", "number", 1.0)
    if default_cost < 0:
        sec.fail("default_cost", "default_cost is negative", "use a dollar amount >= 0")
    rules = []
    for index, raw in enumerate(sec.get("rules", "list", [])):
        if not isinstance(raw, Mapping):
            sec.fail(
                "rules",
                f"rule {index} is not a table",
                "write rules as [[rate_limiting.rules]]",
            )
        rules.append(_rule(Section(sec.ctx, raw, (*sec.path, "rules", str(index)))))
    return RateLimitingConfig(
        enabled=enabled, default_cost=Decimal(str(default_cost)), rules=tuple(rules)
    )


def _rule(sec: Section) -> RateLimitRule:
    limits = []
    for key, value in list(sec.data.items()):
        if "_per_" not in key:
            continue
        sec.ignore(key)
        resource, _, interval = key.partition("_per_")
        if resource not in RATE_RESOURCES:
            sec.fail(
                key,
                f"unknown rate-limit resource {resource!r}",
                "use model_inferences, tokens or cost",
            )
        if interval not in RATE_INTERVALS:
            sec.fail(
                key,
                f"unknown interval {interval!r}",
                "use one of " + ", ".join(RATE_INTERVALS),
            )
        capacity, refill = _bucket(sec, key, value, integer=resource != "cost")
        limits.append(RateLimit(resource, interval, capacity, refill))  # type: ignore[arg-type]
    always = sec.get("always", "bool")
    priority = sec.get("priority", "uint")
    if always and priority is not None:
        sec.fail("priority", "cannot set both `always` and `priority`", "keep one")
    if not always and priority is None:
        sec.fail(
            "priority",
            "`priority` is required when `always` is not true",
            "add `priority = 0` or `always = true`",
        )
    scopes = []
    for index, entry in enumerate(sec.get("scope", "list", [])):
        if not isinstance(entry, Mapping):
            sec.fail(
                "scope",
                f"scope entry {index} is not a table",
                "write { tag_key = ..., tag_value = ... }",
            )
        scope = Section(sec.ctx, entry, (*sec.path, "scope", str(index)))
        if scope.has("api_key_public_id"):
            scope.get("api_key_public_id", "str", required=True)
        else:
            scope.get("tag_key", "str", required=True)
            scope.get("tag_value", "str", required=True)
        scope.done()
        scopes.append(frozen_map({k: str(v) for k, v in entry.items()}))
    return RateLimitRule(
        limits=tuple(limits),
        scope=tuple(scopes),
        priority=priority,
        always=bool(always),
    )


def _bucket(
    sec: Section, key: str, value: Any, *, integer: bool
) -> tuple[Decimal, Decimal]:
    def number(raw: Any) -> Decimal | None:
        if isinstance(raw, bool):
            return None
        if integer and isinstance(raw, int) and raw >= 0:
            return Decimal(raw)
        if not integer and isinstance(raw, (int, float)) and raw >= 0 and raw == raw:
            return Decimal(str(raw))
        return None

    kind = "integer" if integer else "number"
    fix = f"use a non-negative {kind} or {{ capacity = .., refill_rate = .. }}"
    if isinstance(value, Mapping):
        if set(value) != {"capacity", "refill_rate"}:
            sec.fail(key, "a bucket needs exactly `capacity` and `refill_rate`", fix)
        capacity, refill = number(value["capacity"]), number(value["refill_rate"])
        if capacity is None or refill is None:
            sec.fail(key, f"capacity and refill_rate must be non-negative {kind}s", fix)
        return capacity, refill
    amount = number(value)
    if amount is None:
        sec.fail(key, f"expected a non-negative {kind}", fix)
    return amount, amount
