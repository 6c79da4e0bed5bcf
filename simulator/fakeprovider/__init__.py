"""A simulated LLM provider over HTTP, for the real gateway to call.

The real TensorZero gateway (embedded or a team's own deployment) is pointed
at this server by :mod:`simulator.rewrite`; the server answers OpenAI chat
completions and embeddings and Anthropic messages from the same world model
the simulator uses, and logs every request.
"""

from __future__ import annotations

from simulator.fakeprovider.behaviour import Behaviour, ConstantBehaviour
from simulator.fakeprovider.calls import CallRecord, ProviderReply, ProviderRequest
from simulator.fakeprovider.naming import ProviderTarget, decode_target, encode_target
from simulator.fakeprovider.server import FakeProvider

__all__ = [
    "Behaviour",
    "CallRecord",
    "ConstantBehaviour",
    "FakeProvider",
    "ProviderReply",
    "ProviderRequest",
    "ProviderTarget",
    "decode_target",
    "encode_target",
]
