"""What the fake provider answers: the behaviour protocol.

A behaviour turns a :class:`ProviderRequest` into a :class:`ProviderReply`.
The world-driven one (``simulator.fakeprovider.worldbehaviour``) answers from
the same world file the simulator uses; :class:`ConstantBehaviour` answers
every request alike and serves benchmarks and wire-format tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from simulator.fakeprovider.calls import ProviderReply, ProviderRequest


class Behaviour(Protocol):
    def reply(self, request: ProviderRequest) -> ProviderReply:
        """Decide the answer to one request (called once per request, in
        arrival order, never concurrently)."""
        ...

    def reset(self) -> None:
        """Forget per-model counters so the next request starts afresh."""
        ...


@dataclass
class ConstantBehaviour:
    """Every request succeeds with the same usage."""

    input_tokens: int = 10
    output_tokens: int = 10

    def reply(self, request: ProviderRequest) -> ProviderReply:
        output = 0 if request.api == "embeddings" else self.output_tokens
        return ProviderReply(input_tokens=self.input_tokens, output_tokens=output)

    def reset(self) -> None:
        return None
