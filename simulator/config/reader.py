"""Typed, located reads from the merged TOML table.

A :class:`Section` wraps one table and its key path.  Reading a key checks
its type; :meth:`Section.done` refuses keys nobody read, for the tables
where the gateway denies unknown fields.  Every error names the file that
wrote the key and the dotted key itself.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from simulator.config.files import KeyPath, MergedToml, dotted_key
from simulator.errors import ConfigError, ConfigWarning

_MISSING: Any = object()


@dataclass
class LoadContext:
    merged: MergedToml
    warnings: list[str] = field(default_factory=list)
    #: accept ``type = "dummy"`` providers, as the gateway's test builds do
    allow_dummy: bool = False

    def warn(self, path: KeyPath, message: str) -> None:
        file = self.merged.file_of(path)
        text = f"runguard: {file}: {dotted_key(path)}: {message}"
        if text not in self.warnings:
            self.warnings.append(text)
            warnings.warn(text, ConfigWarning, stacklevel=4)


_TYPE_NAMES = {
    "str": "a string",
    "bool": "true or false",
    "int": "an integer",
    "uint": "a non-negative integer",
    "number": "a finite number",
    "opt_number": "a finite number",
    "table": "a table",
    "list": "a list",
    "str_list": "a list of strings",
}


def _matches(value: Any, kind: str) -> bool:
    if kind == "str":
        return isinstance(value, str)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "uint":
        return isinstance(value, int) and not isinstance(value, bool) and value >= 0
    if kind in ("number", "opt_number"):
        return (
            isinstance(value, (int, float))
            and not isinstance(value, bool)
            and math.isfinite(value)
        )
    if kind == "table":
        return isinstance(value, Mapping)
    if kind == "list":
        return isinstance(value, list)
    if kind == "str_list":
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if kind == "any":
        return True
    raise AssertionError(kind)


class Section:
    """One TOML table being read."""

    def __init__(
        self, ctx: LoadContext, data: Mapping[str, Any], path: KeyPath
    ) -> None:
        self.ctx = ctx
        self.data = data
        self.path = path
        self._read: set[str] = set()

    # -- errors -----------------------------------------------------------
    def fail(self, key: str | None, problem: str, fix: str) -> NoReturn:
        path = self.path if key is None else (*self.path, key)
        raise ConfigError(
            problem,
            file=self.ctx.merged.file_of(path),
            key=dotted_key(path),
            fix=fix,
        )

    def key_of(self, key: str | None = None) -> str:
        return dotted_key(self.path if key is None else (*self.path, key))

    # -- reads ------------------------------------------------------------
    def has(self, key: str) -> bool:
        return key in self.data

    def get(
        self,
        key: str,
        kind: str,
        default: Any = None,
        *,
        required: bool = False,
        fix: str | None = None,
    ) -> Any:
        self._read.add(key)
        if key not in self.data:
            if required:
                self.fail(
                    key,
                    "missing required key",
                    fix or f"add `{key} = ...` to [{self.key_of()}]",
                )
            return default
        value = self.data[key]
        if (
            kind == "opt_number"
            and isinstance(value, float)
            and not math.isfinite(value)
        ):
            # The gateway reads these fields through JSON, where nan and inf
            # become null: an optional field then counts as unset.
            self.ctx.warn(
                (*self.path, key),
                f"`{key} = {value}` is not a finite number; the gateway treats "
                "it as unset",
            )
            return default
        if not _matches(value, kind):
            self.fail(
                key,
                f"expected {_TYPE_NAMES.get(kind, kind)}, got {_describe(value)}",
                fix or "correct the value's type",
            )
        return value

    def choice(
        self, key: str, options: tuple[str, ...], default: Any = None, **kw: Any
    ) -> Any:
        value = self.get(key, "str", default, **kw)
        if value is not None and value not in options:
            self.fail(
                key,
                f"unknown value {value!r}",
                "use one of " + ", ".join(f'"{o}"' for o in options),
            )
        return value

    def sub(self, key: str, *, required: bool = False) -> Section | None:
        value = self.get(key, "table", required=required)
        if value is None:
            return None
        return Section(self.ctx, value, (*self.path, key))

    def items(self) -> list[tuple[str, Any]]:
        """Every key, all counted as read (for free-form maps)."""
        self._read.update(self.data)
        return list(self.data.items())

    def child(self, key: str) -> Section:
        value = self.data[key]
        if not isinstance(value, Mapping):
            self.fail(
                key, f"expected a table, got {_describe(value)}", "make it a table"
            )
        self._read.add(key)
        return Section(self.ctx, value, (*self.path, key))

    def ignore(self, *keys: str) -> None:
        self._read.update(keys)

    def done(self, *, allowed_hint: tuple[str, ...] = ()) -> None:
        """Refuse any key that was not read (the gateway denies unknown
        fields here)."""
        for key in self.data:
            if key not in self._read:
                known = allowed_hint or tuple(sorted(self._read))
                self.fail(
                    key,
                    "unknown key",
                    "remove it or correct its spelling"
                    + (f" (accepted here: {', '.join(known)})" if known else ""),
                )

    # -- files ------------------------------------------------------------
    def path_text(self, key: str, *, required: bool = False) -> tuple[Path, str] | None:
        """Read a file-path key: resolve it against the directory of the TOML
        file that wrote it, and return the path and the file's text."""
        value = self.get(key, "str", required=required)
        if value is None:
            return None
        toml_file = self.ctx.merged.file_of((*self.path, key))
        base = toml_file.parent if toml_file is not None else Path.cwd()
        resolved = (base / value).resolve()
        try:
            text = resolved.read_text(encoding="utf-8")
        except OSError as exc:
            self.fail(
                key,
                f"cannot read {resolved} ({exc.strerror})",
                f"create the file or fix the path (relative paths resolve "
                f"against {base})",
            )
        except UnicodeDecodeError:
            self.fail(key, f"{resolved} is not UTF-8 text", "save it as UTF-8")
        return resolved, text

    def path_json(
        self, key: str, *, required: bool = False
    ) -> Mapping[str, Any] | None:
        found = self.path_text(key, required=required)
        if found is None:
            return None
        resolved, text = found
        try:
            parsed = json.loads(text)
        except ValueError as exc:
            self.fail(key, f"{resolved} is not valid JSON ({exc})", "fix the JSON")
        if not isinstance(parsed, (Mapping, bool)):
            self.fail(
                key, f"{resolved} does not hold a JSON schema object", "fix the schema"
            )
        return parsed if isinstance(parsed, Mapping) else {}


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"string {value!r}"
    return f"{type(value).__name__} {value!r}"
