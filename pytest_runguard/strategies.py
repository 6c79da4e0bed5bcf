"""Hypothesis strategies for budget properties.

``simulations(config)`` draws a fresh ``Simulation`` per example (a world, a
seed and optionally a variant split), so no state leaks between examples and
no function-scoped fixture is involved.  The parts it draws from are public
too: :func:`worlds`, :func:`variant_weights`, :func:`price_tables`,
:func:`outcome_schedules`, :func:`score_models`, :func:`dicl_pools` and
:func:`seeds`.  Every strategy shrinks towards the plain case (the default
world, ``"ok"`` outcomes, an even split), so a failing example shrinks to a
small world that still breaches.

When a test that drew a simulation fails, the plugin writes the shrunk
example as a scenario file, provided the agent ran through
:func:`pytest_runguard.agents.run_agent`.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hypothesis import note
from hypothesis import strategies as st

from pytest_runguard.examples import Example, note_example
from pytest_runguard.runs import new_simulation
from pytest_runguard.variants import with_variant_weights
from simulator.ceilings import normalize_ceilings
from simulator.config.model import (
    BestOfNVariant,
    ChainOfThoughtVariant,
    ChatCompletionVariant,
    Config,
    DiclVariant,
    MetricConfig,
    MixtureOfNVariant,
)

if TYPE_CHECKING:
    from simulator import Simulation

__all__ = [
    "dicl_pools",
    "outcome_schedules",
    "price_tables",
    "score_models",
    "seeds",
    "simulations",
    "variant_weights",
    "worlds",
]

#: outcomes a schedule draws from; "ok" first so schedules shrink to success
OUTCOMES = ("ok", "rate_limited", "server_error", "timeout", "client_error")


def seeds() -> st.SearchStrategy[int]:
    """Simulation seeds; shrink towards 0."""
    return st.integers(min_value=0, max_value=2**32 - 1)


def outcome_schedules(max_size: int = 6) -> st.SearchStrategy[list[str]]:
    """A model's first outcomes (``outcomes = [...]`` in the world), then "ok"."""
    return st.lists(st.sampled_from(OUTCOMES), max_size=max_size)


def price_tables(
    models: Sequence[str], *, low: float = 0.01, high: float = 100.0
) -> st.SearchStrategy[dict[str, dict[str, float]]]:
    """``[prices]`` tables (USD per million tokens) for some of ``models``."""
    per_million = st.floats(min_value=low, max_value=high, allow_nan=False)
    table = st.fixed_dictionaries(
        {"input_per_million": per_million, "output_per_million": per_million}
    )
    return st.fixed_dictionaries({}, optional=dict.fromkeys(models, table))


def score_models(
    metric: MetricConfig | None = None,
) -> st.SearchStrategy[dict[str, Any]]:
    """A ``[scores.metric.variant]`` table: ``p_true`` for boolean metrics, a
    uniform ``value`` range for float ones (both when ``metric`` is None)."""
    probability = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
    value = st.tuples(
        st.floats(min_value=-10.0, max_value=10.0, allow_nan=False),
        st.floats(min_value=0.0, max_value=10.0, allow_nan=False),
    ).map(lambda lw: {"dist": "uniform", "low": lw[0], "high": lw[0] + lw[1]})
    if metric is not None and metric.type == "boolean":
        return st.fixed_dictionaries({"p_true": probability})
    if metric is not None:
        return st.fixed_dictionaries({"value": value})
    return st.fixed_dictionaries({}, optional={"p_true": probability, "value": value})


def dicl_pools(max_pool: int = 10_000) -> st.SearchStrategy[dict[str, Any]]:
    """A ``[dicl.function.variant]`` table: how many examples the store holds,
    their size and how far they are from a query."""
    low = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
    return st.fixed_dictionaries(
        {"pool_size": st.integers(min_value=0, max_value=max_pool)},
        optional={
            "example_tokens": st.integers(min_value=1, max_value=4000),
            "distances": st.tuples(low, low).map(
                lambda ab: {"dist": "uniform", "low": min(ab), "high": max(ab)}
            ),
        },
    )


def _model_behaviour() -> st.SearchStrategy[dict[str, Any]]:
    rate = st.floats(min_value=0.0, max_value=0.3, allow_nan=False)
    return st.fixed_dictionaries(
        {},
        optional={
            "output_tokens": st.integers(min_value=1, max_value=4000),
            "input_tokens": st.integers(min_value=1, max_value=20_000),
            "latency_s": st.floats(min_value=0.01, max_value=30.0, allow_nan=False),
            "outcomes": outcome_schedules(),
            "failure_rates": st.fixed_dictionaries(
                {},
                optional={"rate_limited": rate, "server_error": rate, "timeout": rate},
            ),
        },
    )


def worlds(
    config: Config | str | Path,
    *,
    prices: bool = False,
    failures: bool = True,
) -> st.SearchStrategy[dict[str, Any]]:
    """World dicts for ``config``: behaviour of each model it uses, DICL
    pools of its DICL variants, score models of its metrics, and (with
    ``prices``) price tables.  Shrinks to ``{}``, the default world."""
    loaded = _load(config)
    models = models_of(loaded)
    behaviour = _model_behaviour()
    if not failures:
        behaviour = behaviour.map(
            lambda d: {
                k: v for k, v in d.items() if k not in ("outcomes", "failure_rates")
            }
        )
    optional: dict[str, st.SearchStrategy[Any]] = {
        "defaults": st.fixed_dictionaries(
            {},
            optional={
                "bill_failed": st.booleans(),
                "bill_timeouts": st.booleans(),
                "output_tokens": st.integers(min_value=1, max_value=4000),
            },
        ),
        "models": st.fixed_dictionaries({}, optional=dict.fromkeys(models, behaviour)),
    }
    dicl = {
        function.name: [
            v.name for v in function.variants.values() if isinstance(v, DiclVariant)
        ]
        for function in loaded.functions.values()
    }
    dicl = {f: vs for f, vs in dicl.items() if vs}
    if dicl:
        optional["dicl"] = st.fixed_dictionaries(
            {
                f: st.fixed_dictionaries({}, optional={v: dicl_pools() for v in vs})
                for f, vs in dicl.items()
            }
        )
    if loaded.metrics:
        optional["scores"] = st.fixed_dictionaries(
            {},
            optional={
                name: st.fixed_dictionaries({"*": score_models(metric)})
                for name, metric in loaded.metrics.items()
            },
        )
    if prices:
        optional["prices"] = price_tables(models)
    return st.fixed_dictionaries({}, optional=optional).map(_without_empty)


def _without_empty(world: dict[str, Any]) -> dict[str, Any]:
    # An empty table is the same world as no table; dropping it keeps the
    # shrunk example (and the scenario file) as small as it reads.
    out: dict[str, Any] = {}
    for key, value in world.items():
        if isinstance(value, dict):
            value = _without_empty(value)
            if not value:
                continue
        out[key] = value
    return out


def variant_weights(
    config: Config | str | Path,
    function: str | None = None,
    *,
    max_weight: int = 10,
) -> st.SearchStrategy[dict[str, dict[str, float]]]:
    """Variant splits for the functions of ``config`` with two or more
    variants (or just ``function``).

    The first choice, which examples shrink to, is the even split over every
    variant: the split the gateway falls back to when a team forgets to set
    weights.  Otherwise each variant gets an integer weight 0..``max_weight``
    (at least one positive).
    """
    loaded = _load(config)
    names = [function] if function is not None else sorted(loaded.functions)
    tables: dict[str, st.SearchStrategy[dict[str, float]]] = {}
    for name in names:
        fn = loaded.functions[name]
        if fn.experimentation.kind == "adaptive" or len(fn.variants) < 2:
            continue
        variants = sorted(fn.variants)
        even = st.just({v: 1.0 / len(variants) for v in variants})
        drawn = (
            st.lists(
                st.integers(min_value=0, max_value=max_weight),
                min_size=len(variants),
                max_size=len(variants),
            )
            .filter(any)
            .map(partial(_as_weights, variants))
        )
        tables[name] = st.one_of(even, drawn)
    if function is not None and not tables:
        raise ValueError(
            f"runguard: variant_weights: functions.{function} has fewer than two "
            "variants or adaptive experimentation; there is no split to draw"
        )
    return st.fixed_dictionaries(tables)


def _as_weights(variants: list[str], weights: list[int]) -> dict[str, float]:
    return {v: float(w) for v, w in zip(variants, weights, strict=True)}


def simulations(
    config: Config | str | Path,
    *,
    world: st.SearchStrategy[dict[str, Any]] | Mapping[str, Any] | None = None,
    weights: st.SearchStrategy[dict[str, dict[str, float]]] | None = None,
    seed: st.SearchStrategy[int] | None = None,
    ceilings: Mapping[str, Any] | None = None,
) -> st.SearchStrategy[Simulation]:
    """A fresh ``Simulation`` of ``config`` per example.

    ``config`` is a loaded ``Config`` or a path or glob; a relative one
    starts at the folder of the module that calls this, as the marker's does.

    ``world`` is a strategy (default :func:`worlds`), a fixed world dict, or
    ``{}`` for the default world; ``weights`` a strategy of variant splits
    (default: the config's own); ``seed`` a strategy of seeds (default
    :func:`seeds`).  ``ceilings`` are recorded in the scenario file of a
    failing example (default: the ceilings its ``CeilingBreached`` names).
    """
    loaded = _load(config)
    worlds_of = worlds(loaded) if world is None else world
    world_strategy = (
        worlds_of
        if isinstance(worlds_of, st.SearchStrategy)
        else st.just(dict(worlds_of))
    )
    seed_strategy = seeds() if seed is None else seed
    limits = normalize_ceilings(ceilings or {}, source="simulations")

    @st.composite
    def build(draw: st.DrawFn) -> Simulation:
        drawn_weights = draw(weights) if weights is not None else {}
        drawn_world = draw(world_strategy)
        drawn_seed = draw(seed_strategy)
        derived = (
            with_variant_weights(loaded, drawn_weights) if drawn_weights else loaded
        )
        note(
            f"runguard: seed={drawn_seed} world={drawn_world!r}"
            + (f" variant_weights={drawn_weights!r}" if drawn_weights else "")
        )
        sim = new_simulation(derived, drawn_world, drawn_seed)
        note_example(Example(sim, derived, drawn_world, drawn_seed, limits))
        return sim

    return build()


# -- helpers -------------------------------------------------------------------

_LOADED: dict[str, Config] = {}


def _load(config: Config | str | Path) -> Config:
    if isinstance(config, Config):
        return config
    path = Path(config)
    if not path.is_absolute():
        # Like @pytest.mark.runguard(config=...), a relative path starts at
        # the test module that names it, so any working directory will do.
        path = _caller_dir() / path
    key = str(path)
    if key not in _LOADED:
        from simulator.config import load_config

        _LOADED[key] = load_config(path)
    return _LOADED[key]


def _caller_dir() -> Path:
    """The folder of the first module outside this one on the call stack."""
    frame = sys._getframe(1)
    while frame.f_back is not None and frame.f_globals.get("__name__") == __name__:
        frame = frame.f_back
    filename = frame.f_code.co_filename
    if filename.startswith("<"):  # an interactive session or ``python -c``
        return Path.cwd()
    return Path(filename).absolute().parent


def models_of(config: Config) -> list[str]:
    """Every model name the config's variants call, sorted."""
    names: set[str] = set()
    for function in config.functions.values():
        for variant in function.variants.values():
            if isinstance(variant, (ChatCompletionVariant, ChainOfThoughtVariant)):
                names.add(variant.inner.model)
            elif isinstance(variant, BestOfNVariant):
                names.add(variant.evaluator.model)
            elif isinstance(variant, MixtureOfNVariant):
                names.add(variant.fuser.model)
            elif isinstance(variant, DiclVariant):
                names.add(variant.model)
    return sorted(names)
