"""The shipped scenario library: one entry per cost-amplification pattern.

``scenarios/library.toml`` (installed as ``pytest_runguard/scenarios``)
lists the entries.  Each entry pairs two scenario files in the ordinary
scenario format (:mod:`pytest_runguard.scenario`): the agent unguarded and
the same agent behind the guard its pattern needs, with the same config,
world and ceilings.  The index adds what one scenario file cannot say: what
a sweep over many seeds is expected to show.

    [[scenario]]
    name = "best_of_n"
    pattern = "best-of-N hidden multiplier"
    summary = "..."
    unguarded = "best_of_n/unguarded.toml"
    guarded = "best_of_n/guarded.toml"
    min_unguarded_breach_rate = 0.99   # over a sweep; guarded never breaches
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from pytest_runguard.scenario import (
    Expected,
    Scenario,
    load_scenario,
    replay,
    write_scenario,
)
from simulator.errors import ScenarioError, WorldError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

INDEX_NAME = "library.toml"
_KEYS = frozenset(
    {
        "name",
        "pattern",
        "summary",
        "unguarded",
        "guarded",
        "min_unguarded_breach_rate",
        "max_unguarded_breach_rate",
    }
)


@dataclass(frozen=True)
class LibraryEntry:
    name: str
    pattern: str
    summary: str
    unguarded: Path
    guarded: Path
    #: a sweep of the unguarded agent breaches at least this often ...
    min_unguarded_breach_rate: float
    #: ... and at most this often (1.0: no upper expectation)
    max_unguarded_breach_rate: float = 1.0

    def scenarios(self) -> tuple[Scenario, Scenario]:
        """The (unguarded, guarded) scenario files, loaded."""
        return load_scenario(self.unguarded), load_scenario(self.guarded)


def library_dir() -> Path:
    """Where the shipped library is installed (or checked out)."""
    return Path(str(resources.files("pytest_runguard.scenarios")))


def load_library(index: str | Path | None = None) -> list[LibraryEntry]:
    """The entries of a library index (default: the shipped one)."""
    path = Path(index) if index is not None else library_dir() / INDEX_NAME
    if path.is_dir():
        path = path / INDEX_NAME
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise ScenarioError(f"{path}: no such scenario library index") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: not valid TOML: {exc}") from None
    raw = data.get("scenario")
    if not isinstance(raw, list) or not raw:
        raise ScenarioError(
            f"{path}: scenario: write one [[scenario]] table per library entry"
        )
    entries = []
    seen: set[str] = set()
    for number, table in enumerate(raw):
        where = f"{path}: scenario[{number}]"
        if not isinstance(table, dict):
            raise ScenarioError(f"{where}: write a table")
        unknown = sorted(set(table) - _KEYS)
        if unknown:
            raise ScenarioError(
                f"{where}.{unknown[0]}: unknown key; the keys are "
                + ", ".join(sorted(_KEYS))
            )
        for key in ("name", "pattern", "unguarded", "guarded"):
            if not isinstance(table.get(key), str):
                raise ScenarioError(f"{where}.{key}: required, write a string")
        name = table["name"]
        if name in seen:
            raise ScenarioError(f"{where}.name: {name!r} is listed twice")
        seen.add(name)
        low = table.get("min_unguarded_breach_rate", 0.0)
        high = table.get("max_unguarded_breach_rate", 1.0)
        if not (
            isinstance(low, (int, float)) and isinstance(high, (int, float))
        ) or not (0.0 <= low <= high <= 1.0):
            raise ScenarioError(
                f"{where}: min/max_unguarded_breach_rate: write rates with "
                "0 <= min <= max <= 1"
            )
        entries.append(
            LibraryEntry(
                name=name,
                pattern=table["pattern"],
                summary=str(table.get("summary", "")),
                unguarded=path.parent / table["unguarded"],
                guarded=path.parent / table["guarded"],
                min_unguarded_breach_rate=float(low),
                max_unguarded_breach_rate=float(high),
            )
        )
    return entries


def select(entries: Iterable[LibraryEntry], names: Iterable[str]) -> list[LibraryEntry]:
    """The entries named, in the order asked; an unknown name is an error."""
    by_name = {e.name: e for e in entries}
    chosen = []
    for name in names:
        if name not in by_name:
            raise ScenarioError(
                f"no scenario {name!r} in the library; the scenarios are "
                + ", ".join(by_name)
            )
        chosen.append(by_name[name])
    return chosen


def rerecord(entries: Iterable[LibraryEntry]) -> list[Path]:
    """Replay every scenario file and write what it did as its ``[expected]``.

    For maintainers, after a deliberate change to the engine or a scenario;
    a replay that differs from the recording is otherwise a failure.  A
    scenario whose world uses something the engine does not simulate yet is
    left as it is.
    """
    from dataclasses import replace

    written = []
    for entry in entries:
        for path in (entry.unguarded, entry.guarded):
            scenario = load_scenario(path)
            try:
                result = replay(scenario)
            except (WorldError, NotImplementedError):
                continue
            updated = replace(scenario, expected=Expected.from_outcome(result.outcome))
            written.append(write_scenario(path, updated))
    return written
