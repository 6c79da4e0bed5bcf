"""Scenario files: one simulated run, written down so it can be rerun exactly.

A scenario is a TOML file::

    format_version = 1
    seed = 8271940391
    agent = "tests.agents:draft_loop"         # module:function
    agent_file = "../tests/agents.py"         # optional, relative to this file
    config = "../tensorzero.toml"             # relative path, or [config_inline]
    test = "tests/test_budget.py::test_loop"  # optional: who recorded it

    [agent_kwargs]                            # agent(client, **agent_kwargs)
    calls = 50

    [ceilings]                                # the same names as the marker
    max_billed_usd = "0.05"

    [variant_weights.draft]                   # optional: split applied to the config
    cheap = 0.5
    pricey = 0.5

    [world]                                   # the simulated world, inline
    price_date = "2026-06-01"

    [expected]                                # what the recorded run did
    outcome = "breached"                      # within | breached | error
    breached = ["max_billed_usd"]
    digest = "9f2c..."                        # sha256 of the ledger rows
    provider_calls = 51
    billed_usd = "0.0731"

Files are written atomically (a temporary file in the same folder, then a
rename), and a file from a newer ``format_version`` is refused rather than
half-understood.
"""

from __future__ import annotations

import os
import sys
import tempfile
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from pytest_runguard.agents import load_agent
from pytest_runguard.runs import Outcome, load_inputs, run_agent_once
from simulator.ceilings import Limit, format_usd, normalize_ceilings
from simulator.errors import RunguardError, ScenarioError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

#: the format this version writes, and the newest it reads
FORMAT_VERSION = 1

_TOP_KEYS = frozenset(
    {
        "format_version",
        "seed",
        "agent",
        "agent_file",
        "agent_kwargs",
        "config",
        "config_inline",
        "world",
        "ceilings",
        "variant_weights",
        "expected",
        "test",
        "run",
    }
)
_EXPECTED_KEYS = frozenset(
    {"outcome", "breached", "error", "digest", "provider_calls", "billed_usd"}
)
_OUTCOMES = ("within", "breached", "error")


@dataclass(frozen=True)
class Expected:
    """The recorded run's outcome, which a replay must reproduce."""

    outcome: str
    digest: str
    provider_calls: int
    billed_usd: Decimal
    breached: tuple[str, ...] = ()
    #: the agent's exception type, when ``outcome == "error"``
    error: str | None = None

    @classmethod
    def from_outcome(cls, outcome: Outcome) -> Expected:
        return cls(
            outcome=outcome.status,
            digest=outcome.digest,
            provider_calls=outcome.provider_calls,
            billed_usd=Decimal(outcome.billed_nanousd) / Decimal(10) ** 9,
            breached=outcome.breached,
            error=outcome.error_type,
        )


@dataclass(frozen=True)
class Scenario:
    """One run to replay.  Paths are absolute in memory and written relative
    to the scenario file's folder."""

    seed: int
    agent: str
    config: Path | None = None
    config_inline: Mapping[str, Any] | None = None
    world: Mapping[str, Any] | Path | None = None
    agent_file: Path | None = None
    agent_kwargs: Mapping[str, Any] = field(default_factory=dict)
    ceilings: Mapping[str, Limit] = field(default_factory=dict)
    variant_weights: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    expected: Expected | None = None
    test: str | None = None
    run: int | None = None
    #: the file it was loaded from or written to
    path: Path | None = field(default=None, compare=False)


@dataclass(frozen=True)
class ReplayResult:
    scenario: Scenario
    outcome: Outcome
    #: how the replay differs from ``scenario.expected`` (empty: reproduced)
    differences: tuple[str, ...]

    @property
    def reproduced(self) -> bool:
        return not self.differences

    def describe(self) -> str:
        where = self.scenario.path or "<scenario>"
        lines = [f"runguard: replayed {where} (seed {self.scenario.seed})"]
        lines.append(f"  outcome: {self.outcome.summary()}")
        lines.extend("  " + b.headline() for b in self.outcome.breaches)
        if self.outcome.error is not None:
            lines.append(f"  agent error: {self.outcome.error!r}")
        if self.reproduced:
            lines.append("  reproduced the recorded outcome and ledger digest")
        else:
            lines.append("  does NOT match the recording:")
            lines.extend("    " + d for d in self.differences)
        return "\n".join(lines)


# -- reading -------------------------------------------------------------------


def load_scenario(path: str | Path) -> Scenario:
    """Read a scenario file; refuse unknown keys and newer format versions."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise ScenarioError(f"{path}: no such scenario file") from None
    except OSError as exc:
        raise ScenarioError(
            f"{path}: cannot read it ({exc.strerror}); pass a scenario file "
            "(.toml) written by a sweep or a property test"
        ) from None
    except UnicodeDecodeError:
        raise ScenarioError(
            f"{path}: not UTF-8 text; pass a scenario file written by a sweep "
            "or a property test"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: not valid TOML: {exc}") from None
    return scenario_from_dict(data, path)


def scenario_from_dict(data: Mapping[str, Any], path: Path) -> Scenario:
    where = str(path)
    version = data.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ScenarioError(
            f"{where}: format_version: missing or not an integer; a scenario "
            f"file starts with format_version = {FORMAT_VERSION}"
        )
    if version > FORMAT_VERSION:
        raise ScenarioError(
            f"{where}: format_version: {version} is newer than this "
            f"pytest-runguard reads (up to {FORMAT_VERSION}); upgrade "
            "pytest-runguard to replay it"
        )
    if version < 1:
        raise ScenarioError(f"{where}: format_version: {version} is not a version")
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise ScenarioError(
            f"{where}: {unknown[0]}: unknown key; the keys are "
            + ", ".join(sorted(_TOP_KEYS))
        )
    base = path.parent
    seed = data.get("seed")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ScenarioError(f"{where}: seed: write a non-negative integer")
    agent = data.get("agent")
    if not isinstance(agent, str) or ":" not in agent:
        raise ScenarioError(f'{where}: agent: write the agent as "module:function"')
    config = data.get("config")
    inline = data.get("config_inline")
    if (config is None) == (inline is None):
        raise ScenarioError(
            f'{where}: config: give exactly one of config = "path" (relative '
            "to the scenario file) and a [config_inline] table"
        )
    if config is not None and not isinstance(config, str):
        raise ScenarioError(f"{where}: config: write a path as a string")
    if inline is not None and not isinstance(inline, dict):
        raise ScenarioError(f"{where}: config_inline: write a table")
    world = data.get("world")
    if world is not None and not isinstance(world, (str, dict)):
        raise ScenarioError(
            f"{where}: world: write a [world] table or a path to a world file"
        )
    agent_file = data.get("agent_file")
    if agent_file is not None and not isinstance(agent_file, str):
        raise ScenarioError(f"{where}: agent_file: write a path as a string")
    for table in ("agent_kwargs", "ceilings", "variant_weights"):
        if not isinstance(data.get(table, {}), dict):
            raise ScenarioError(f"{where}: {table}: write a table")
    try:
        ceilings = normalize_ceilings(data.get("ceilings", {}), source=where)
    except RunguardError as exc:
        raise ScenarioError(exc.message) from None
    test = data.get("test")
    run = data.get("run")
    return Scenario(
        seed=seed,
        agent=agent,
        config=None if config is None else _resolve(base, config),
        config_inline=inline,
        world=_resolve(base, world) if isinstance(world, str) else world,
        agent_file=None if agent_file is None else _resolve(base, agent_file),
        agent_kwargs=data.get("agent_kwargs", {}),
        ceilings=ceilings,
        variant_weights=data.get("variant_weights", {}),
        expected=_expected(data.get("expected"), where),
        test=test if isinstance(test, str) else None,
        run=run if isinstance(run, int) else None,
        path=path,
    )


def _resolve(base: Path, written: str) -> Path:
    target = Path(written)
    return Path(os.path.normpath(target if target.is_absolute() else base / target))


def _expected(data: Any, where: str) -> Expected | None:
    if data is None:
        return None
    if not isinstance(data, dict):
        raise ScenarioError(f"{where}: expected: write a table")
    unknown = sorted(set(data) - _EXPECTED_KEYS)
    if unknown:
        raise ScenarioError(
            f"{where}: expected.{unknown[0]}: unknown key; the keys are "
            + ", ".join(sorted(_EXPECTED_KEYS))
        )
    outcome = data.get("outcome")
    if outcome not in _OUTCOMES:
        raise ScenarioError(
            f"{where}: expected.outcome: {outcome!r}; write one of "
            + ", ".join(_OUTCOMES)
        )
    digest = data.get("digest")
    calls = data.get("provider_calls")
    billed = data.get("billed_usd")
    if not isinstance(digest, str) or not isinstance(calls, int):
        raise ScenarioError(
            f"{where}: expected: digest (a string) and provider_calls (an "
            "integer) are required"
        )
    try:
        billed_usd = Decimal(str(billed))
    except ArithmeticError:
        raise ScenarioError(
            f"{where}: expected.billed_usd: write the amount as a decimal string"
        ) from None
    breached = data.get("breached", [])
    if not isinstance(breached, list) or not all(isinstance(b, str) for b in breached):
        raise ScenarioError(f"{where}: expected.breached: write a list of names")
    error = data.get("error")
    return Expected(
        outcome=outcome,
        digest=digest,
        provider_calls=calls,
        billed_usd=billed_usd,
        breached=tuple(breached),
        error=error if isinstance(error, str) else None,
    )


# -- writing -------------------------------------------------------------------


def scenario_to_dict(scenario: Scenario, folder: Path) -> dict[str, Any]:
    """The TOML document for ``scenario`` as written into ``folder``."""
    doc: dict[str, Any] = {"format_version": FORMAT_VERSION, "seed": scenario.seed}
    doc["agent"] = scenario.agent
    if scenario.agent_file is not None:
        doc["agent_file"] = _relative(scenario.agent_file, folder)
    if scenario.config is not None:
        doc["config"] = _relative(scenario.config, folder)
    if scenario.test is not None:
        doc["test"] = scenario.test
    if scenario.run is not None:
        doc["run"] = scenario.run
    if scenario.config_inline is not None:
        doc["config_inline"] = _tomlable(scenario.config_inline)
    doc["agent_kwargs"] = _tomlable(scenario.agent_kwargs)
    doc["ceilings"] = _tomlable(scenario.ceilings)
    if scenario.variant_weights:
        doc["variant_weights"] = _tomlable(scenario.variant_weights)
    if isinstance(scenario.world, Path):
        doc["world"] = _relative(scenario.world, folder)
    elif scenario.world is not None:
        doc["world"] = _tomlable(scenario.world)
    if scenario.expected is not None:
        e = scenario.expected
        expected: dict[str, Any] = {"outcome": e.outcome, "breached": list(e.breached)}
        if e.error is not None:
            expected["error"] = e.error
        expected["digest"] = e.digest
        expected["provider_calls"] = e.provider_calls
        expected["billed_usd"] = format_usd(e.billed_usd).lstrip("$")
        doc["expected"] = expected
    return doc


def write_scenario(path: str | Path, scenario: Scenario) -> Path:
    """Write ``scenario`` to ``path`` atomically; return the path."""
    import tomli_w

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = tomli_w.dumps(scenario_to_dict(scenario, path.parent.resolve()))
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    # Not mkstemp: it creates the file 0600, and a scenario is meant to be
    # shared.  Opened like any new file, the user's umask sets its mode.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    fd = os.open(tmp, flags, 0o666)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _relative(target: Path, folder: Path) -> str:
    try:
        return Path(os.path.relpath(target.resolve(), folder)).as_posix()
    except ValueError:  # another drive on Windows
        return target.resolve().as_posix()


def _tomlable(value: Any) -> Any:
    # TOML has no null and no exact decimals: drop None, write Decimal as text.
    if isinstance(value, Mapping):
        return {str(k): _tomlable(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_tomlable(v) for v in value]
    if isinstance(value, Decimal):
        return format_usd(value).lstrip("$") if value >= 0 else str(value)
    if isinstance(value, Path):
        return value.as_posix()
    return value


# -- replaying -----------------------------------------------------------------


def replay(scenario: Scenario) -> ReplayResult:
    """Rerun ``scenario`` and compare it with what was recorded."""
    from pytest_runguard.variants import with_variant_weights

    where = str(scenario.path or "<scenario>")
    agent = load_agent(scenario.agent, file=scenario.agent_file, where=where)
    config_source: Any = scenario.config
    with tempfile.TemporaryDirectory(prefix="runguard-scenario-") as tmp:
        if scenario.config_inline is not None:
            config_source = _inline_config(scenario.config_inline, Path(tmp))
        config, world = load_inputs(config_source, scenario.world)
    if scenario.variant_weights:
        config = with_variant_weights(config, scenario.variant_weights)
    _, outcome = run_agent_once(
        agent,
        config=config,
        world=world,
        seed=scenario.seed,
        ceilings=scenario.ceilings,
        agent_kwargs=scenario.agent_kwargs,
    )
    return ReplayResult(scenario, outcome, tuple(_differences(scenario, outcome)))


def _inline_config(table: Mapping[str, Any], folder: Path) -> Path:
    import tomli_w

    target = folder / "tensorzero.toml"
    target.write_text(tomli_w.dumps(_tomlable(table)), encoding="utf-8")
    return target


def _differences(scenario: Scenario, outcome: Outcome) -> list[str]:
    expected = scenario.expected
    if expected is None:
        return ["the scenario has no [expected] table to compare with"]
    found = Expected.from_outcome(outcome)
    out = []
    if found.outcome != expected.outcome or found.breached != expected.breached:
        out.append(
            f"outcome: recorded {_outcome_text(expected)}, replay "
            f"{_outcome_text(found)}"
        )
    if found.error != expected.error and found.outcome == expected.outcome:
        out.append(f"error: recorded {expected.error}, replay {found.error}")
    if found.provider_calls != expected.provider_calls:
        out.append(
            f"provider_calls: recorded {expected.provider_calls}, replay "
            f"{found.provider_calls}"
        )
    if found.billed_usd != expected.billed_usd:
        out.append(
            f"billed_usd: recorded {format_usd(expected.billed_usd)}, replay "
            f"{format_usd(found.billed_usd)}"
        )
    if found.digest != expected.digest:
        out.append(f"digest: recorded {expected.digest}, replay {found.digest}")
    return out


def _outcome_text(expected: Expected) -> str:
    if expected.outcome == "breached":
        return "breached " + ", ".join(expected.breached)
    if expected.outcome == "error":
        return f"error {expected.error}"
    return expected.outcome
