"""Find, parse and merge the TOML files a config path or glob names.

The gateway parses every file a glob matches on its own, then merges them
key by key: tables merge recursively, and the same leaf key in two files is
an error.  We keep, for every key path, the file that wrote it, because
error messages name that file and relative paths resolve against its
directory.
"""

from __future__ import annotations

import glob as globlib
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simulator.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

KeyPath = tuple[str, ...]


@dataclass
class MergedToml:
    """The merged table plus where each key came from."""

    data: dict[str, Any]
    files: tuple[Path, ...]
    origin: dict[KeyPath, Path] = field(default_factory=dict)

    def file_of(self, path: KeyPath) -> Path | None:
        """The file that wrote ``path`` (or its nearest written ancestor)."""
        for end in range(len(path), -1, -1):
            found = self.origin.get(path[:end])
            if found is not None:
                return found
        return self.files[0] if self.files else None


def expand(path_or_glob: str | Path) -> tuple[Path, ...]:
    """The files a path or glob names, sorted by path as the gateway sorts
    them.  ``*`` does not cross ``/``; ``**`` does."""
    text = str(path_or_glob)
    if globlib.has_magic(text):
        matches = sorted(Path(p).resolve() for p in globlib.glob(text, recursive=True))
        files = tuple(p for p in matches if p.is_file())
        if not files:
            raise ConfigError(
                "the glob matches no files",
                file=text,
                fix="check the pattern (use ** to cross directories)",
            )
        return files
    path = Path(text)
    if path.is_dir():
        raise ConfigError(
            "is a directory, not a config file",
            file=text,
            fix=(
                f"pass {(path / 'tensorzero.toml').as_posix()} or a glob such as"
                f" '{(path / '*.toml').as_posix()}'"
            ),
        )
    if not path.is_file():
        raise ConfigError(
            "no such config file",
            file=text,
            fix="pass the path of a tensorzero.toml or a glob of TOML files",
        )
    return (path.resolve(),)


def read_toml(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"cannot read the file ({exc.strerror})", file=path, fix="check it exists"
        ) from exc
    try:
        table = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(
            "the file is not UTF-8 text", file=path, fix="save it as UTF-8"
        ) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"invalid TOML ({exc})", file=path, fix="fix the TOML syntax"
        ) from exc
    _check_integers(table, (), path)
    return table


_I64 = range(-(2**63), 2**63)


def _check_integers(value: Any, key_path: KeyPath, file: Path) -> None:
    """TOML integers are 64-bit; the gateway refuses the file when one is
    not, wherever it stands, while Python's parser would accept it."""
    if isinstance(value, Mapping):
        for key, sub in value.items():
            _check_integers(sub, (*key_path, key), file)
    elif isinstance(value, list):
        for index, sub in enumerate(value):
            _check_integers(sub, (*key_path, str(index)), file)
    elif isinstance(value, int) and not isinstance(value, bool) and value not in _I64:
        raise ConfigError(
            f"the integer {value} does not fit in 64 bits",
            file=file,
            key=dotted_key(key_path),
            fix="use a value between -2**63 and 2**63 - 1",
        )


def load_merged(path_or_glob: str | Path) -> MergedToml:
    files = expand(path_or_glob)
    merged = MergedToml(data={}, files=files)
    for path in files:
        table = read_toml(path)
        _merge(merged, merged.data, table, (), path)
    return merged


def _record(merged: MergedToml, value: Any, path: KeyPath, file: Path) -> None:
    merged.origin.setdefault(path, file)
    if isinstance(value, Mapping):
        for key, sub in value.items():
            _record(merged, sub, (*path, key), file)


def _merge(
    merged: MergedToml,
    target: dict[str, Any],
    source: Mapping[str, Any],
    path: KeyPath,
    file: Path,
) -> None:
    for key, value in source.items():
        key_path = (*path, key)
        if key not in target:
            target[key] = value
            _record(merged, value, key_path, file)
            continue
        existing = target[key]
        earlier = merged.file_of(key_path)
        if isinstance(existing, dict) and isinstance(value, Mapping):
            _merge(merged, existing, value, key_path, file)
            continue
        dotted = dotted_key(key_path)
        if isinstance(existing, dict):
            problem = f"cannot merge a value from {file} into a table from {earlier}"
        else:
            problem = (
                f"the key is also set in {earlier} (globbed files may not repeat a key)"
            )
        raise ConfigError(
            problem,
            file=file,
            key=dotted,
            fix="set it in one file only",
        )


def dotted_key(path: KeyPath) -> str:
    """``("functions", "my.fn", "variants")`` → ``functions."my.fn".variants``."""
    return ".".join(part if _bare(part) else f'"{part}"' for part in path)


def _bare(part: str) -> bool:
    return bool(part) and all(ch.isalnum() or ch in "_-" for ch in part)
