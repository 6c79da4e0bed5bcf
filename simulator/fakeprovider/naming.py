"""How a rewritten config tells the fake provider which model was called.

The gateway sends a provider's ``model_name`` verbatim in every request body,
so the rewriter stores the TensorZero model name, the provider name, the
provider's original type and its original ``model_name`` there, each
percent-encoded so names holding ``::`` or ``/`` survive the round trip.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, unquote

MARKER = "runguard"
#: provider types that keep their own request format when rewritten; their
#: encoded name starts with the original ``model_name`` because the gateway
#: derives defaults from it (Anthropic's ``max_tokens`` by model family)
NATIVE_TYPES = frozenset({"anthropic"})


@dataclass(frozen=True)
class ProviderTarget:
    """Which model and provider of the team's config a request was meant for."""

    model: str
    provider: str
    #: the provider ``type`` before rewriting (shapes the raw usage fields)
    provider_type: str = "openai"
    #: the provider's ``model_name`` before rewriting ("" when it had none)
    model_name: str = ""
    #: ``True`` for ``[embedding_models]`` entries
    embedding: bool = False


def encode_target(target: ProviderTarget) -> str:
    kind = "embedding" if target.embedding else "chat"
    parts = (
        target.provider_type,
        target.model,
        target.provider,
        target.model_name,
    )
    encoded = "|".join([MARKER, kind, *(quote(p, safe="") for p in parts)])
    if target.provider_type in NATIVE_TYPES and not target.embedding:
        return f"{quote(target.model_name, safe='')}|{encoded}"
    return encoded


def decode_target(model_field: str, *, embedding: bool = False) -> ProviderTarget:
    """The target named in a request's ``model`` field.

    A name the rewriter did not produce (a team pointing its own provider at
    the fake provider by hand) is taken as the TensorZero model name itself,
    with a provider named after it.
    """
    pieces = model_field.split("|")
    if len(pieces) == 7 and pieces[1] == MARKER:
        pieces = pieces[1:]
    if len(pieces) == 6 and pieces[0] == MARKER:
        provider_type, model, provider, model_name = (unquote(p) for p in pieces[2:])
        return ProviderTarget(
            model=model,
            provider=provider,
            provider_type=provider_type,
            model_name=model_name,
            embedding=pieces[1] == "embedding",
        )
    return ProviderTarget(
        model=model_field,
        provider=model_field,
        model_name=model_field,
        embedding=embedding,
    )
