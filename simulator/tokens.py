"""The deterministic prompt-token estimator.

Real tokenizers differ per model and are slow; a budget test needs a count
that is the same on every machine and close enough to size a prompt.  The
rule, which ``docs/world.md`` repeats:

* a text is ``ceil(characters / 4)`` tokens;
* every message adds 4 tokens (role and separators), the system prompt
  counts as one message, and every request adds 3 (the reply's priming);
* a structured value (template arguments, tool calls, a JSON candidate) is
  counted as its compact JSON text;
* an image or file block counts ``FILE_TOKENS``.

A world's ``input_tokens`` for a model replaces the whole estimate of what
the gateway renders into that model's prompt (the best-of-N evaluator's
instructions and candidate list and the fuser's prompt included); only the
examples a DICL variant retrieves from its store, whose sizes the world
gives separately, are added on top.
"""

from __future__ import annotations

import json
from typing import Any

MESSAGE_TOKENS = 4
REQUEST_TOKENS = 3
FILE_TOKENS = 1000

_cache: dict[str, int] = {}


def text_tokens(text: str) -> int:
    """``ceil(len(text) / 4)``, memoized (agents resend the same texts)."""
    found = _cache.get(text)
    if found is None:
        found = (len(text) + 3) // 4
        if len(_cache) < 65536:
            _cache[text] = found
    return found


def value_tokens(value: Any) -> int:
    """Tokens of a structured value, counted as its compact JSON text."""
    if isinstance(value, str):
        return text_tokens(value)
    return text_tokens(json.dumps(value, separators=(",", ":"), sort_keys=True))
