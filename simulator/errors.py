"""The one exception family of pytest-runguard.

Every error we raise on purpose derives from :class:`RunguardError` and its
message starts with ``runguard:``.  Errors about what a user wrote also derive
from the builtin a Python user would expect (``ValueError`` for bad input,
``TypeError`` for a wrong call), and a breached ceiling is an
``AssertionError`` so pytest reports a failure rather than an error.

Errors the *simulated gateway* returns to agent code are not here: those are
the ``tensorzero`` package's own ``TensorZeroError`` so agent code cannot tell
the simulator from the real gateway.
"""

from __future__ import annotations

from pathlib import Path

PREFIX = "runguard: "


def _prefixed(message: str) -> str:
    return message if message.startswith(PREFIX) else PREFIX + message


class RunguardError(Exception):
    """Root of every error pytest-runguard raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(_prefixed(message))

    @property
    def message(self) -> str:
        return str(self.args[0])


class _LocatedError(RunguardError, ValueError):
    """Bad input at a known place: ``runguard: <file>: <key>: <problem>; <fix>``."""

    #: shown in place of a file name when the input came from a dict
    unnamed_source: str | None = None

    def __init__(
        self,
        problem: str,
        *,
        file: Path | str | None = None,
        key: str | None = None,
        fix: str | None = None,
    ) -> None:
        self.file = None if file is None else Path(file)
        self.key = key
        self.problem = problem
        self.fix = fix
        parts = [str(p) for p in (file or self.unnamed_source, key) if p]
        text = problem if fix is None else f"{problem}; {fix}"
        super().__init__(": ".join([*parts, text]))


class ConfigError(_LocatedError):
    """A ``tensorzero.toml`` the gateway would refuse (or that we cannot load).

    ``file`` and ``key`` locate the problem; ``fix`` says what to do.
    """


class WorldError(_LocatedError):
    """A world file or dict that does not describe a valid simulated world."""

    unnamed_source = "<world>"


class ScenarioError(RunguardError, ValueError):
    """A scenario file that cannot be read, or that replays differently."""


class UsageError(RunguardError, TypeError):
    """The simulator's API was called in a way it does not support."""


class CeilingBreached(RunguardError, AssertionError):
    """A declared ceiling (spend, calls, tokens, time, ...) was crossed."""


class UnpricedCost(CeilingBreached):
    """A cost ceiling cannot be checked because a call has no known price."""


class ConfigWarning(UserWarning):
    """A config form the gateway still loads but has deprecated."""
