"""Checks that need the whole config: references between sections and
cycles among best-of-N / mixture-of-N candidates."""

from __future__ import annotations

from simulator.config.model import (
    BestOfNVariant,
    ChainOfThoughtVariant,
    ChatCompletionConfig,
    ChatCompletionVariant,
    Config,
    DiclVariant,
    Experimentation,
    FunctionConfig,
    MixtureOfNVariant,
)
from simulator.config.reader import LoadContext, Section

_SHORTHAND_FIX = (
    'define it under [models] or use a shorthand such as "openai::gpt-4o-mini"'
)


def validate(config: Config, ctx: LoadContext) -> None:
    for name, function in config.functions.items():
        sec = Section(ctx, {}, ("functions", name))
        _check_function(config, function, sec)


def _model_exists(config: Config, name: str) -> bool:
    try:
        config.model(name)
    except KeyError:
        return False
    return True


def _check_model(config: Config, sec: Section, key: str, name: str) -> None:
    if not _model_exists(config, name):
        sec.fail(key, f"model {name!r} is not defined", _SHORTHAND_FIX)


def _check_inner(config: Config, sec: Section, inner: ChatCompletionConfig) -> None:
    _check_model(config, sec, "model", inner.model)


def _check_function(config: Config, function: FunctionConfig, sec: Section) -> None:
    for tool in function.tools:
        if tool not in config.tools:
            sec.fail(
                "tools", f"tool {tool!r} is not defined", f"add a [tools.{tool}] table"
            )
    for vname, variant in function.variants.items():
        vsec = Section(sec.ctx, {}, (*sec.path, "variants", vname))
        if isinstance(variant, (ChatCompletionVariant, ChainOfThoughtVariant)):
            _check_inner(config, vsec, variant.inner)
        elif isinstance(variant, BestOfNVariant):
            _check_candidates(function, vsec, variant.candidates)
            _check_inner(
                config,
                Section(sec.ctx, {}, (*vsec.path, "evaluator")),
                variant.evaluator,
            )
        elif isinstance(variant, MixtureOfNVariant):
            _check_candidates(function, vsec, variant.candidates)
            _check_inner(
                config, Section(sec.ctx, {}, (*vsec.path, "fuser")), variant.fuser
            )
        elif isinstance(variant, DiclVariant):
            _check_model(config, vsec, "model", variant.model)
            try:
                config.embedding_model(variant.embedding_model)
            except KeyError:
                vsec.fail(
                    "embedding_model",
                    f"embedding model {variant.embedding_model!r} is not defined",
                    'define it under [embedding_models] or use "openai::<model>"',
                )
    _check_cycles(function, sec)
    exp = function.experimentation
    _check_experimentation(
        config, function, exp, Section(sec.ctx, {}, (*sec.path, "experimentation"))
    )
    for ns, inner in exp.namespaces.items():
        path = (*sec.path, "experimentation", "namespaces", ns)
        _check_experimentation(config, function, inner, Section(sec.ctx, {}, path))


def _check_candidates(
    function: FunctionConfig, sec: Section, candidates: tuple[str, ...]
) -> None:
    for candidate in candidates:
        if candidate not in function.variants:
            sec.fail(
                "candidates",
                f"candidate {candidate!r} is not a variant of function "
                f"{function.name!r}",
                "name a variant defined under this function",
            )


def _children(function: FunctionConfig, name: str) -> tuple[str, ...]:
    variant = function.variants[name]
    if isinstance(variant, (BestOfNVariant, MixtureOfNVariant)):
        return variant.candidates
    return ()


def _check_cycles(function: FunctionConfig, sec: Section) -> None:
    # The gateway recurses through candidates without a guard and crashes on
    # a cycle; we refuse it with the path that loops.
    done: set[str] = set()

    def visit(name: str, stack: list[str]) -> None:
        if name in stack:
            loop = [*stack[stack.index(name) :], name]
            where = Section(sec.ctx, {}, (*sec.path, "variants", stack[-1]))
            where.fail(
                "candidates",
                "candidate cycle: " + " -> ".join(loop),
                "a best-of-N or mixture-of-N variant may not (even indirectly) "
                "be its own candidate",
            )
        if name in done:
            return
        for child in _children(function, name):
            visit(child, [*stack, name])
        done.add(name)

    for name in function.variants:
        visit(name, [])


def _check_experimentation(
    config: Config, function: FunctionConfig, exp: Experimentation, sec: Section
) -> None:
    if exp.kind not in ("static", "adaptive"):
        return
    for key, names in (
        ("candidate_variants", tuple(exp.candidate_variants)),
        ("fallback_variants", exp.fallback_variants),
    ):
        for name in names:
            if name not in function.variants:
                sec.fail(
                    key,
                    f"variant {name!r} does not exist in function {function.name!r}",
                    "name a variant defined under this function",
                )
    if exp.kind == "adaptive" and exp.metric not in config.metrics:
        sec.fail(
            "metric",
            f"metric {exp.metric!r} is not defined",
            f"add a [metrics.{exp.metric}] table",
        )
