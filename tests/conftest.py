from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

#: ``../shared`` beside the checkout holds TensorZero's own configs (the
#: corpus) and reference notes; a user's clone does not have it.
SHARED = Path(__file__).resolve().parents[2] / "shared"
CORPUS = SHARED / "corpus" / "tensorzero"


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    if not CORPUS.is_dir():
        pytest.skip(f"TensorZero config corpus not found at {CORPUS}")
    return CORPUS
