"""Load and validate a ``tensorzero.toml`` (one file or a glob of files)."""

from __future__ import annotations

from simulator.config.loader import load_config
from simulator.config.model import Config

__all__ = ["Config", "load_config"]
