"""The world: what the gateway config cannot say about a run.

A config names models and variants; the world says how those models
*behave* in the simulation: how many tokens they write, how long they take,
when they fail, whether a failed call is still billed, what a DICL variant
finds in its example store, and how good an answer is.  It is a plain
TOML-serializable dict (or a TOML file).  Every key is optional; unknown
keys are refused.  ``docs/world.md`` is the full reference; in short::

    price_date = "2026-06-01"      # catalog prices as of this day
    start_time = "2026-06-01T00:00:00Z"   # the virtual clock's epoch

    [defaults]                     # every model, unless overridden
    output_tokens = 200            # number or {dist = ...}
    latency_s = 1.0                # number or {dist = ...}
    bill_failed = false            # 4xx/5xx attempts billed (input tokens)?
    bill_timeouts = true           # timed-out attempts billed (in + out)?
    context_window = 128000
    failure_rates = {}             # {rate_limited, server_error, client_error, timeout}
    raw_usage = {}                 # {cached_tokens, reasoning_tokens,
                                   #  cache_write_tokens}
    invalid_answer_rate = 0.0      # share of unusable JSON answers
    bill_rate_limited = false      # provider 429 answers billed?
    rate_limits = {}               # provider limits: {requests_per_minute,
                                   #  tokens_per_minute, pool,
                                   #  refusal_latency_s, count_refused}

    [models."openai::gpt-4o-mini"] # the name a variant's `model` uses
    outcomes = ["ok", 429, "server_error", "timeout"]  # then failure_rates
    input_tokens = 800             # replaces the prompt-token estimate
    # ... and any [defaults] key
    [models."m".providers."p"]     # per routing entry; any model key

    [embedding_models."emb"]       # input_tokens, latency_s, outcomes,
                                   # failure_rates, bill_failed, providers

    [dicl."function"."variant"]
    pool_size = 0                  # examples stored (0 = none, as with no DB)
    example_tokens = 300           # prompt tokens one example adds
    distances = {dist = "uniform", low = 0.0, high = 1.0}

    [scores."metric"."variant"]    # "*" for every variant
    p_true = 0.5                   # boolean metrics
    value = {dist = "uniform", low = 0.0, high = 1.0}   # float metrics

    [prices."model or shorthand"]
    input_per_million = 2.5
    output_per_million = 10.0
    cache_read_per_million = 1.25
"""

from __future__ import annotations

import copy
import datetime as dt
import sys
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from simulator.errors import WorldError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[import-not-found,no-redef,unused-ignore]

OUTCOME_NAMES = ("ok", "rate_limited", "server_error", "client_error", "timeout")
FAILURE_KINDS = ("rate_limited", "server_error", "client_error", "timeout")
RAW_USAGE_KEYS = ("cached_tokens", "reasoning_tokens", "cache_write_tokens")
DIST_KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # kind: (required keys, optional keys); "min"/"max" clip every kind
    "fixed": (("value",), ()),
    "uniform": (("low", "high"), ()),
    "normal": (("mean", "sd"), ()),
    "lognormal": (("mu", "sigma"), ()),
    "poisson": (("lam",), ()),
    "choice": (("values",), ("weights",)),
}

DEFAULTS: dict[str, Any] = {
    "output_tokens": 200,
    "latency_s": 1.0,
    "bill_failed": False,
    "bill_timeouts": True,
    "context_window": 128_000,
    "failure_rates": {},
    "raw_usage": {},
}
EMBEDDING_DEFAULTS: dict[str, Any] = {
    "latency_s": 0.1,
    "bill_failed": False,
    "bill_timeouts": True,
    "failure_rates": {},
}
DEFAULT_PRICE_DATE = dt.date(2026, 6, 1)

_BEHAVIOUR_KEYS = (
    "output_tokens",
    "latency_s",
    "input_tokens",
    "outcomes",
    "failure_rates",
    "bill_failed",
    "bill_timeouts",
    "context_window",
    "raw_usage",
    "invalid_answer_rate",
    "bill_rate_limited",
    "rate_limits",
)
_EMBEDDING_KEYS = (
    "input_tokens",
    "latency_s",
    "outcomes",
    "failure_rates",
    "bill_failed",
    "bill_timeouts",
    "bill_rate_limited",
    "rate_limits",
)
_RATE_LIMIT_KEYS = (
    "requests_per_minute",
    "tokens_per_minute",
    "pool",
    "refusal_latency_s",
    "count_refused",
)
_TOP_KEYS = (
    "price_date",
    "start_time",
    "defaults",
    "models",
    "embedding_models",
    "dicl",
    "scores",
    "prices",
)
_DICL_KEYS = ("pool_size", "example_tokens", "distances")
_SCORE_KEYS = ("p_true", "value")
_PRICE_KEYS = ("input_per_million", "output_per_million", "cache_read_per_million")


class _Checker:
    def __init__(self, file: Path | None) -> None:
        self.file = file

    def fail(self, key: str, problem: str, fix: str) -> WorldError:
        return WorldError(problem, file=self.file, key=key, fix=fix)

    def table(self, value: Any, key: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(key, f"expected a table, got {value!r}", "write a table")
        for name in value:
            if not isinstance(name, str):
                raise self.fail(key, f"key {name!r} is not a string", "quote it")
        return value

    def keys(
        self, value: Mapping[str, Any], key: str, allowed: tuple[str, ...]
    ) -> None:
        for name in value:
            if name not in allowed:
                where = f"{key}.{name}" if key else name
                raise self.fail(
                    where,
                    f"unknown key `{name}`",
                    "use one of " + ", ".join(f"`{a}`" for a in allowed),
                )

    def number(
        self, value: Any, key: str, *, low: float | None = 0.0, integer: bool = False
    ) -> None:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if ok and integer and not isinstance(value, int):
            ok = float(value).is_integer()
        if not ok:
            kind = "an integer" if integer else "a number"
            raise self.fail(key, f"expected {kind}, got {value!r}", f"write {kind}")
        if low is not None and value < low:
            raise self.fail(key, f"{value!r} is below {low}", f"use a value >= {low}")

    def boolean(self, value: Any, key: str) -> None:
        if not isinstance(value, bool):
            raise self.fail(
                key, f"expected true or false, got {value!r}", "write a bool"
            )

    def dist(self, value: Any, key: str, *, integer: bool = False) -> None:
        if not isinstance(value, Mapping):
            self.number(value, key, integer=integer)
            return
        kind = value.get("dist")
        if kind not in DIST_KEYS:
            raise self.fail(
                f"{key}.dist",
                f"unknown distribution {kind!r}",
                "use one of " + ", ".join(f'"{k}"' for k in DIST_KEYS),
            )
        required, optional = DIST_KEYS[kind]
        self.keys(value, key, ("dist", *required, *optional, "min", "max"))
        for name in required:
            if name not in value:
                raise self.fail(
                    f"{key}.{name}", f"`{kind}` needs `{name}`", f"add `{name} = ...`"
                )
        for name in ("low", "high", "mean", "mu", "min", "max", "value"):
            if name in value:
                self.number(value[name], f"{key}.{name}", low=None)
        for name in ("sd", "sigma", "lam"):
            if name in value:
                self.number(value[name], f"{key}.{name}")
        if kind == "uniform" and value["high"] < value["low"]:
            raise self.fail(key, "`high` is below `low`", "swap them")
        if kind == "choice":
            values = value["values"]
            if not isinstance(values, list) or not values:
                raise self.fail(
                    f"{key}.values", "expected a non-empty list", "list the values"
                )
            for i, v in enumerate(values):
                self.number(v, f"{key}.values[{i}]", low=None)
            weights = value.get("weights")
            if weights is not None:
                if not isinstance(weights, list) or len(weights) != len(values):
                    raise self.fail(
                        f"{key}.weights",
                        "expected one weight per value",
                        "give `weights` the length of `values`",
                    )
                for i, w in enumerate(weights):
                    self.number(w, f"{key}.weights[{i}]")
                if sum(weights) <= 0:
                    raise self.fail(
                        f"{key}.weights", "weights sum to 0", "make one positive"
                    )

    def outcomes(self, value: Any, key: str) -> None:
        if not isinstance(value, list):
            raise self.fail(key, f"expected a list, got {value!r}", "write a list")
        for i, item in enumerate(value):
            if isinstance(item, bool) or not (
                item in OUTCOME_NAMES
                or (isinstance(item, int) and (item == 200 or 400 <= item <= 599))
            ):
                raise self.fail(
                    f"{key}[{i}]",
                    f"unknown outcome {item!r}",
                    "use "
                    + ", ".join(f'"{n}"' for n in OUTCOME_NAMES)
                    + " or an HTTP status 400-599",
                )

    def rates(self, value: Any, key: str) -> None:
        table = self.table(value, key)
        self.keys(table, key, FAILURE_KINDS)
        for name, rate in table.items():
            self.number(rate, f"{key}.{name}")
            if rate > 1:
                raise self.fail(f"{key}.{name}", f"{rate} is above 1", "use 0..1")
        if sum(table.values()) > 1:
            raise self.fail(key, "the rates add up to more than 1", "lower them")

    def rate_limits(self, value: Any, key: str) -> None:
        table = self.table(value, key)
        self.keys(table, key, _RATE_LIMIT_KEYS)
        for name in ("requests_per_minute", "tokens_per_minute"):
            if name in table:
                self.number(table[name], f"{key}.{name}", low=1, integer=True)
        if "refusal_latency_s" in table:
            self.number(table["refusal_latency_s"], f"{key}.refusal_latency_s")
        if "count_refused" in table:
            self.boolean(table["count_refused"], f"{key}.count_refused")
        if "pool" in table and not isinstance(table["pool"], str):
            raise self.fail(
                f"{key}.pool", f"expected a string, got {table['pool']!r}", "quote it"
            )

    def raw_usage(self, value: Any, key: str) -> None:
        table = self.table(value, key)
        self.keys(table, key, RAW_USAGE_KEYS)
        for name, v in table.items():
            self.dist(v, f"{key}.{name}", integer=True)

    def behaviour(self, value: Mapping[str, Any], key: str) -> None:
        for name, v in value.items():
            where = f"{key}.{name}"
            if name in ("output_tokens", "input_tokens"):
                self.dist(v, where, integer=True)
            elif name == "latency_s":
                self.dist(v, where)
            elif name == "outcomes":
                self.outcomes(v, where)
            elif name == "failure_rates":
                self.rates(v, where)
            elif name in ("bill_failed", "bill_timeouts", "bill_rate_limited"):
                self.boolean(v, where)
            elif name == "rate_limits":
                self.rate_limits(v, where)
            elif name == "context_window":
                self.number(v, where, low=1, integer=True)
            elif name == "raw_usage":
                self.raw_usage(v, where)
            elif name == "invalid_answer_rate":
                self.number(v, where)
                if v > 1:
                    raise self.fail(where, f"{v} is above 1", "use a probability 0..1")


def _check(data: Mapping[str, Any], file: Path | None) -> None:
    c = _Checker(file)
    c.table(data, "")
    c.keys(data, "", _TOP_KEYS)
    if "price_date" in data:
        value = data["price_date"]
        if isinstance(value, str):
            try:
                dt.date.fromisoformat(value)
            except ValueError:
                raise c.fail(
                    "price_date", f"{value!r} is not a date", 'write "YYYY-MM-DD"'
                ) from None
        elif not isinstance(value, dt.date):
            raise c.fail("price_date", f"{value!r} is not a date", 'write "YYYY-MM-DD"')
    if "start_time" in data:
        _start_time(data["start_time"], c)
    if "defaults" in data:
        table = c.table(data["defaults"], "defaults")
        c.keys(table, "defaults", tuple(k for k in _BEHAVIOUR_KEYS if k != "outcomes"))
        c.behaviour(table, "defaults")
    for section, allowed in (
        ("models", _BEHAVIOUR_KEYS),
        ("embedding_models", _EMBEDDING_KEYS),
    ):
        for name, spec in c.table(data.get(section, {}), section).items():
            key = f'{section}."{name}"'
            table = c.table(spec, key)
            c.keys(table, key, (*allowed, "providers"))
            c.behaviour(table, key)
            providers = c.table(table.get("providers", {}), f"{key}.providers")
            for pname, pspec in providers.items():
                pkey = f'{key}.providers."{pname}"'
                ptable = c.table(pspec, pkey)
                c.keys(ptable, pkey, allowed)
                c.behaviour(ptable, pkey)
    for fname, variants in c.table(data.get("dicl", {}), "dicl").items():
        for vname, spec in c.table(variants, f'dicl."{fname}"').items():
            key = f'dicl."{fname}"."{vname}"'
            table = c.table(spec, key)
            c.keys(table, key, _DICL_KEYS)
            if "pool_size" in table:
                c.number(table["pool_size"], f"{key}.pool_size", integer=True)
            if "example_tokens" in table:
                c.dist(table["example_tokens"], f"{key}.example_tokens", integer=True)
            if "distances" in table:
                c.dist(table["distances"], f"{key}.distances")
    for metric, variants in c.table(data.get("scores", {}), "scores").items():
        for vname, spec in c.table(variants, f'scores."{metric}"').items():
            key = f'scores."{metric}"."{vname}"'
            table = c.table(spec, key)
            c.keys(table, key, _SCORE_KEYS)
            if "p_true" in table:
                c.number(table["p_true"], f"{key}.p_true")
                if table["p_true"] > 1:
                    raise c.fail(f"{key}.p_true", "above 1", "use a probability 0..1")
            if "value" in table:
                c.dist(table["value"], f"{key}.value")
    for model, spec in c.table(data.get("prices", {}), "prices").items():
        key = f'prices."{model}"'
        table = c.table(spec, key)
        c.keys(table, key, _PRICE_KEYS)
        for name in ("input_per_million", "output_per_million"):
            if name not in table:
                raise c.fail(
                    f"{key}.{name}", f"missing `{name}`", f"add `{name} = ...`"
                )
        for name, v in table.items():
            c.number(v, f"{key}.{name}", low=None)


def _start_time(value: Any, c: _Checker) -> dt.datetime:
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise c.fail(
                "start_time",
                f"{value!r} is not a date-time",
                'write "2026-06-01T00:00:00Z"',
            ) from None
    else:
        raise c.fail(
            "start_time",
            f"{value!r} is not a date-time",
            'write "2026-06-01T00:00:00Z"',
        )
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed


def _to_decimal(value: Any) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation:  # pragma: no cover - checked numbers
        raise WorldError(f"{value!r} is not a number") from None


class World:
    """A validated world.  Build with :meth:`from_dict` or :meth:`load`."""

    def __init__(self, data: Mapping[str, Any], file: Path | None = None) -> None:
        _check(data, file)
        self._data: dict[str, Any] = copy.deepcopy(dict(data))
        self.file = file

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None = None) -> World:
        return cls(data or {})

    @classmethod
    def load(cls, path: str | Path) -> World:
        file = Path(path)
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as exc:
            raise WorldError(
                f"cannot read the world file: {exc.strerror}",
                file=file,
                fix="check the path",
            ) from None
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise WorldError(
                f"not valid TOML: {exc}", file=file, fix="fix the syntax"
            ) from None
        return cls(data, file)

    @classmethod
    def coerce(cls, world: World | Mapping[str, Any] | str | Path | None) -> World:
        if world is None:
            return cls({})
        if isinstance(world, World):
            return world
        if isinstance(world, str | Path):
            return cls.load(world)
        if isinstance(world, Mapping):
            return cls(world)
        raise WorldError(
            f"cannot use {type(world).__name__} as a world",
            fix="pass a path, a dict or a World",
        )

    def to_dict(self) -> dict[str, Any]:
        return copy.deepcopy(self._data)

    # -- reads the engine uses -------------------------------------------

    @property
    def price_date(self) -> dt.date:
        value = self._data.get("price_date")
        if value is None:
            return DEFAULT_PRICE_DATE
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        return dt.date.fromisoformat(value)

    @property
    def start_time(self) -> dt.datetime | None:
        value = self._data.get("start_time")
        if value is None:
            return None
        return _start_time(value, _Checker(self.file))

    def model_settings(self, model: str, provider: str) -> dict[str, Any]:
        """Defaults, then the model's keys, then the provider's keys."""
        merged = {**DEFAULTS, **self._data.get("defaults", {})}
        spec = self._data.get("models", {}).get(model, {})
        merged.update({k: v for k, v in spec.items() if k != "providers"})
        merged.update(spec.get("providers", {}).get(provider, {}))
        return merged

    def embedding_settings(self, model: str, provider: str) -> dict[str, Any]:
        defaults = self._data.get("defaults", {})
        merged = {**EMBEDDING_DEFAULTS}
        merged.update({k: v for k, v in defaults.items() if k in EMBEDDING_DEFAULTS})
        spec = self._data.get("embedding_models", {}).get(model, {})
        merged.update({k: v for k, v in spec.items() if k != "providers"})
        merged.update(spec.get("providers", {}).get(provider, {}))
        return merged

    def dicl(self, function: str, variant: str) -> dict[str, Any]:
        spec = self._data.get("dicl", {}).get(function, {}).get(variant, {})
        return {
            "pool_size": 0,
            "example_tokens": 300,
            "distances": {"dist": "uniform", "low": 0.0, "high": 1.0},
            **spec,
        }

    def score_model(self, metric: str, variant: str) -> dict[str, Any]:
        per_metric = self._data.get("scores", {}).get(metric, {})
        return dict(per_metric.get(variant, per_metric.get("*", {})))

    def price(self, model: str) -> tuple[Decimal, Decimal, Decimal | None] | None:
        """``(input, output, cache_read)`` USD per token, or ``None``."""
        spec = self._data.get("prices", {}).get(model)
        if spec is None:
            return None
        million = Decimal(1_000_000)
        cache = spec.get("cache_read_per_million")
        return (
            _to_decimal(spec["input_per_million"]) / million,
            _to_decimal(spec["output_per_million"]) / million,
            None if cache is None else _to_decimal(cache) / million,
        )
