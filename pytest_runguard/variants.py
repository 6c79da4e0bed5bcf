"""Variant weights: a loaded config with a function's experiment reweighted.

A loaded ``Config`` is an immutable dataclass tree, so a new split is a new
``Config`` built with ``dataclasses.replace``.  Each derived config remembers
the config it came from and the weights applied, so a scenario file can name
the original file plus ``[variant_weights]`` instead of a whole config.
"""

from __future__ import annotations

import dataclasses
import weakref
from collections.abc import Mapping
from typing import Any

from simulator.config.model import Config, Experimentation, frozen_map
from simulator.errors import UsageError

Weights = Mapping[str, Mapping[str, float]]

# id(derived config) -> (weak reference to it, base config, weights)
_DERIVED: dict[
    int, tuple[weakref.ref[Config], Config, dict[str, dict[str, float]]]
] = {}


def with_variant_weights(config: Config, weights: Weights) -> Config:
    """``config`` with each named function's variants sampled by ``weights``.

    The function's experimentation becomes ``static`` with exactly these
    candidate weights (its fallback list is kept, minus the candidates).
    """
    base, applied = derived_from(config)
    merged = {fn: dict(ws) for fn, ws in applied.items()}
    functions = dict(config.functions)
    for function_name, function_weights in weights.items():
        function = config.functions.get(function_name)
        if function is None:
            raise UsageError(
                f"variant weights: no function {function_name!r} in the config; "
                "the functions are " + ", ".join(sorted(config.functions))
            )
        clean = _check_weights(function_name, function.variants, function_weights)
        old = function.experimentation
        if old.kind == "adaptive":
            raise UsageError(
                f"variant weights: functions.{function_name} uses adaptive "
                "experimentation, whose split is learned, not configured; "
                "reweight a function with static or default experimentation"
            )
        experimentation = Experimentation(
            kind="static",
            candidate_variants=frozen_map(clean),
            fallback_variants=tuple(v for v in old.fallback_variants if v not in clean),
        )
        # A legacy per-variant weight would contradict the new split.
        variants = {
            name: dataclasses.replace(variant, weight=None)
            for name, variant in function.variants.items()
        }
        functions[function_name] = dataclasses.replace(
            function, experimentation=experimentation, variants=frozen_map(variants)
        )
        merged[function_name] = clean
    derived = dataclasses.replace(config, functions=frozen_map(functions))
    key = id(derived)
    _DERIVED[key] = (
        weakref.ref(derived, lambda _: _DERIVED.pop(key, None)),
        base,
        merged,
    )
    return derived


def derived_from(config: Config) -> tuple[Config, dict[str, dict[str, float]]]:
    """The loaded config ``config`` was derived from and the weights applied
    (``config`` itself and ``{}`` for a config loaded from files)."""
    entry = _DERIVED.get(id(config))
    if entry is not None and entry[0]() is config:
        return entry[1], {fn: dict(ws) for fn, ws in entry[2].items()}
    return config, {}


def _check_weights(
    function_name: str, variants: Mapping[str, Any], weights: Mapping[str, float]
) -> dict[str, float]:
    clean: dict[str, float] = {}
    for variant, weight in weights.items():
        if variant not in variants:
            raise UsageError(
                f"variant weights: functions.{function_name} has no variant "
                f"{variant!r}; its variants are " + ", ".join(sorted(variants))
            )
        if isinstance(weight, bool) or not isinstance(weight, (int, float)):
            raise UsageError(
                f"variant weights: functions.{function_name}.{variant} = "
                f"{weight!r} is not a number"
            )
        if not weight >= 0:
            raise UsageError(
                f"variant weights: functions.{function_name}.{variant} = "
                f"{weight!r}; weights must be zero or more"
            )
        clean[variant] = float(weight)
    if not any(w > 0 for w in clean.values()):
        raise UsageError(
            f"variant weights: functions.{function_name} needs at least one "
            "weight above zero, as the gateway does"
        )
    return clean
