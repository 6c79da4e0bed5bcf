"""Helpers shared by the config tests."""

from __future__ import annotations

from pathlib import Path

INVALID_DIR = Path(__file__).parent / "invalid"


def invalid_cases() -> list[Path]:
    """Each ``*.toml`` under ``invalid/`` and each directory of files that
    only break a rule when globbed together."""
    files = sorted(INVALID_DIR.glob("*.toml"))
    dirs = sorted(
        p for p in INVALID_DIR.iterdir() if p.is_dir() and p.name != "fixtures"
    )
    return files + dirs
