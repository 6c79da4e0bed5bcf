"""Load and validate a ``tensorzero.toml`` (one file or a glob of files)."""

from __future__ import annotations

from simulator.config.model import Config

__all__ = ["Config", "load_config"]


def load_config(path_or_glob: str) -> Config:  # pragma: no cover - replaced
    from simulator.config.loader import load_config as _load

    return _load(path_or_glob)
