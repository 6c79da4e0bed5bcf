"""Guards take the config a team already has: a path, a glob or a loaded one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from simulator.config.model import Config


def as_config(config: Config | str | Path | Any) -> Config:
    """``config`` itself if loaded; else load it with the gateway's rules."""
    if isinstance(config, Config):
        return config
    # A simulation (or anything else holding one) passes its loaded config.
    inner = getattr(config, "config", None)
    if isinstance(inner, Config):
        return inner
    from simulator.config import load_config

    return load_config(str(config))
