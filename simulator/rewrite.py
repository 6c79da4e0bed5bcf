"""Point every provider of a team's config at the fake provider.

``rewrite_config`` reads a ``tensorzero.toml`` (one file or a glob), keeps
everything the gateway reads — functions, variants, routing, retries,
timeouts, cost entries, metrics, tools, experimentation — and replaces only
*where* each model provider sends its requests: every Anthropic provider
stays one (so the gateway builds Anthropic's own request: system prompt apart,
JSON prefill, tool results inside user messages) and every other provider of
every model and embedding model becomes an OpenAI-type provider; each gets the
fake provider as ``api_base`` and a ``model_name`` that encodes which model
and provider of the original config was called.  Shorthand names
(``openai::gpt-4o-mini``) become explicit models, since the gateway would
otherwise send them to the real vendor.  Relative template/schema paths are
made absolute so the result can live in a temporary directory.  The team's
files are never written to.

Each variant also sends ``x-runguard-function`` / ``x-runguard-variant``
headers (and ``x-runguard-role`` for evaluators and fusers) so the fake
provider's log can say which part of the config made a call.
"""

from __future__ import annotations

import copy
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from simulator.config.files import KeyPath, MergedToml, load_merged
from simulator.config.model import (
    SHORTHAND_EMBEDDING_PREFIXES,
    SHORTHAND_MODEL_PREFIXES,
)
from simulator.errors import ConfigError
from simulator.fakeprovider.naming import NATIVE_TYPES, ProviderTarget, encode_target

API_KEY_ENV = "RUNGUARD_FAKE_API_KEY"
API_KEY_VALUE = "runguard-fake-provider"
#: explicit models stand in for shorthand names under this prefix (a model
#: may not be named ``openai::...`` explicitly)
SHORTHAND_PREFIX = "runguard::"

#: keys every provider type accepts, kept as written
_PROVIDER_KEYS = (
    "timeouts",
    "cost",
    "batch_cost",
    "extra_body",
    "extra_headers",
    "discard_unknown_chunks",
)
_EMBEDDING_PROVIDER_KEYS = ("timeout_ms", "cost", "extra_body", "extra_headers")
#: further keys kept for providers that keep their type
_NATIVE_PROVIDER_KEYS = {"anthropic": ("beta_structured_outputs", "provider_tools")}

#: file-path keys of a function table / of a chat-completion-like table
_FUNCTION_PATH_KEYS = (
    "system_schema",
    "user_schema",
    "assistant_schema",
    "output_schema",
)
_VARIANT_PATH_KEYS = (
    "system_template",
    "user_template",
    "assistant_template",
    "system_instructions",
)
_SUBTABLES = ("evaluator", "fuser")


@dataclass(frozen=True)
class RewrittenConfig:
    """The rewritten config and what the gateway needs to load it."""

    path: Path
    #: the ``model_name`` each rewritten provider sends → what it stands for
    targets: Mapping[str, ProviderTarget]
    #: environment variables to set before building the gateway
    env: Mapping[str, str] = field(default_factory=dict)
    #: shorthand name → the explicit model that replaced it
    shorthands: Mapping[str, str] = field(default_factory=dict)


def rewrite_config(
    path_or_glob: str | Path,
    base_url: str,
    *,
    out_dir: str | Path | None = None,
    api_key_env: str = API_KEY_ENV,
    tag_requests: bool = True,
) -> RewrittenConfig:
    """Write a copy of the config whose providers all call ``base_url``.

    ``base_url`` is the fake provider's ``api_base`` (``http://127.0.0.1:P/v1/``).
    The copy is ``<out_dir>/tensorzero.toml``; ``out_dir`` defaults to a fresh
    temporary directory.  Raises :class:`~simulator.errors.ConfigError` for a
    file that cannot be read or merged; nothing is written then.
    """
    merged = load_merged(path_or_glob)
    data = copy.deepcopy(merged.data)
    _resolve_paths(data, merged)
    targets: dict[str, ProviderTarget] = {}
    shorthands: dict[str, str] = {}
    key_location = f"env::{api_key_env}"

    models = _table(data, "models", merged)
    for model_name, model in models.items():
        for provider_name, provider in _table(model, "providers", merged).items():
            model["providers"][provider_name] = _provider(
                model_name,
                provider_name,
                provider,
                base_url,
                key_location,
                targets,
                embedding=False,
            )
    embedding_models = _table(data, "embedding_models", merged)
    for model_name, model in embedding_models.items():
        for provider_name, provider in _table(model, "providers", merged).items():
            model["providers"][provider_name] = _provider(
                model_name,
                provider_name,
                provider,
                base_url,
                key_location,
                targets,
                embedding=True,
            )

    def explicit(name: Any, *, embedding: bool) -> Any:
        if not isinstance(name, str):
            return name
        table = embedding_models if embedding else models
        prefixes = (
            SHORTHAND_EMBEDDING_PREFIXES if embedding else SHORTHAND_MODEL_PREFIXES
        )
        prefix, sep, rest = name.partition("::")
        if name in table or not (sep and rest and prefix in prefixes):
            return name
        replacement = SHORTHAND_PREFIX + name
        if replacement not in table:
            provider = {"type": prefix, "model_name": rest}
            table[replacement] = {
                "routing": [prefix],
                "providers": {
                    prefix: _provider(
                        name,
                        prefix,
                        provider,
                        base_url,
                        key_location,
                        targets,
                        embedding=embedding,
                    )
                },
            }
        shorthands[name] = replacement
        return replacement

    for function_name, function in _table(data, "functions", merged).items():
        variants = function.get("variants")
        if not isinstance(variants, dict):
            continue
        for variant_name, variant in variants.items():
            if not isinstance(variant, dict):
                continue
            _retarget(variant, explicit)
            if tag_requests and variant.get("type") in _TAGGABLE:
                _tag(variant, function_name, variant_name, None)
            for role in _SUBTABLES:
                inner = variant.get(role)
                if isinstance(inner, dict):
                    _retarget(inner, explicit)
                    if tag_requests:
                        _tag(inner, function_name, variant_name, role)

    if models:
        data["models"] = models
    if embedding_models:
        data["embedding_models"] = embedding_models
    directory = (
        Path(out_dir)
        if out_dir is not None
        else Path(tempfile.mkdtemp(prefix="runguard-rewrite-"))
    )
    directory.mkdir(parents=True, exist_ok=True)
    out = directory / "tensorzero.toml"
    out.write_text(tomli_w.dumps(data), encoding="utf-8")
    return RewrittenConfig(
        path=out,
        targets=targets,
        env={api_key_env: API_KEY_VALUE},
        shorthands=shorthands,
    )


_TAGGABLE = frozenset(
    {
        "chat_completion",
        "experimental_dynamic_in_context_learning",
        "experimental_chain_of_thought",
    }
)


def _table(data: dict[str, Any], key: str, merged: MergedToml) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(
            f"`{key}` must be a table",
            file=merged.files[0] if merged.files else None,
            key=key,
            fix=f"write it as [{key}.NAME] sections",
        )
    return value


def _provider(
    model: str,
    provider: str,
    original: Any,
    base_url: str,
    key_location: str,
    targets: dict[str, ProviderTarget],
    *,
    embedding: bool,
) -> dict[str, Any]:
    original = original if isinstance(original, Mapping) else {}
    original_model = original.get("model_name", original.get("model_id", ""))
    target = ProviderTarget(
        model=model,
        provider=provider,
        provider_type=str(original.get("type", "openai")),
        model_name=str(original_model or ""),
        embedding=embedding,
    )
    encoded = encode_target(target)
    targets[encoded] = target
    keep: tuple[str, ...] = _EMBEDDING_PROVIDER_KEYS if embedding else _PROVIDER_KEYS
    native = not embedding and target.provider_type in NATIVE_TYPES
    if native:
        keep = keep + _NATIVE_PROVIDER_KEYS.get(target.provider_type, ())
    rewritten: dict[str, Any] = {
        "type": target.provider_type if native else "openai",
        "model_name": encoded,
        "api_base": base_url,
        "api_key_location": key_location,
    }
    rewritten.update({k: original[k] for k in keep if k in original})
    return rewritten


def _retarget(table: dict[str, Any], explicit: Any) -> None:
    if "model" in table:
        table["model"] = explicit(table["model"], embedding=False)
    if "embedding_model" in table:
        table["embedding_model"] = explicit(table["embedding_model"], embedding=True)


def _tag(table: dict[str, Any], function: str, variant: str, role: str | None) -> None:
    headers = table.get("extra_headers")
    if headers is None:
        headers = []
    if not isinstance(headers, list):
        # Another spelling we do not rewrite: leave the team's headers alone.
        return
    added = [
        {"name": "x-runguard-function", "value": function},
        {"name": "x-runguard-variant", "value": variant},
    ]
    if role is not None:
        added.append({"name": "x-runguard-role", "value": role})
    table["extra_headers"] = [*headers, *added]


# --------------------------------------------------------------------------
# relative paths


def _resolve_paths(data: dict[str, Any], merged: MergedToml) -> None:
    def absolute(key_path: KeyPath, value: Any) -> Any:
        if not isinstance(value, str) or not value:
            return value
        path = Path(value)
        if path.is_absolute():
            return value
        origin = merged.file_of(key_path)
        base = origin.parent if origin is not None else Path.cwd()
        return str((base / path).resolve())

    def fix(table: Any, prefix: KeyPath, keys: tuple[str, ...]) -> None:
        if not isinstance(table, dict):
            return
        for key in keys:
            if key in table:
                table[key] = absolute((*prefix, key), table[key])

    def fix_named(table: Any, prefix: KeyPath, key: str) -> None:
        named = table.get(key) if isinstance(table, dict) else None
        if not isinstance(named, dict):
            return
        for name, entry in named.items():
            if isinstance(entry, dict):
                fix(entry, (*prefix, key, name), ("path",))
            else:
                named[name] = absolute((*prefix, key, name), entry)

    for function_name, function in (data.get("functions") or {}).items():
        base: KeyPath = ("functions", function_name)
        fix(function, base, _FUNCTION_PATH_KEYS)
        fix_named(function, base, "schemas")
        variants = function.get("variants") if isinstance(function, dict) else None
        for variant_name, variant in (variants or {}).items():
            vbase: KeyPath = (*base, "variants", variant_name)
            for sub, sub_base in [(variant, vbase)] + [
                (variant.get(role), (*vbase, role))
                for role in _SUBTABLES
                if isinstance(variant, dict)
            ]:
                fix(sub, sub_base, _VARIANT_PATH_KEYS)
                fix_named(sub, sub_base, "templates")
                fix_named(sub, sub_base, "input_wrappers")
    for tool_name, tool in (data.get("tools") or {}).items():
        fix(tool, ("tools", tool_name), ("parameters",))
    access = (data.get("gateway") or {}).get("template_filesystem_access")
    fix(access, ("gateway", "template_filesystem_access"), ("base_path",))
