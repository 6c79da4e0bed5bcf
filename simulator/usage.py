"""What each provider type's responses report in their usage.

The gateway copies a provider's cache-read count into
``usage.provider_cache_read_input_tokens`` when the response carries one
and leaves it null otherwise (``providers/*.rs``; measured on tensorzero
2026.6.0: an OpenAI-style response with ``prompt_tokens_details.cached_tokens
= 0`` gives ``0``, one without ``prompt_tokens_details`` gives ``None``).
"""

from __future__ import annotations

#: Provider types whose real responses always carry a cache-read count
#: (OpenAI's ``prompt_tokens_details.cached_tokens``, Anthropic's
#: ``cache_read_input_tokens``), so a call with no cache hit reports 0.
CACHE_READ_REPORTED = frozenset(
    {"openai", "azure", "anthropic", "gcp_vertex_anthropic"}
)


def cache_read_default(provider_type: str, *, embedding: bool) -> int | None:
    """``provider_cache_read_input_tokens`` of a call with no cache hit."""
    if embedding or provider_type not in CACHE_READ_REPORTED:
        return None
    return 0
