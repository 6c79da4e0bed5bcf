"""A small config and the same agent written for the sync and the async
clients, run in-process and over HTTP."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import tensorzero

from simulator import Simulation

#: fresh simulations of the served config, all with the same seed
MakeSim = Callable[[], Simulation]

CONFIG = """
[embedding_models.emb]
routing = ["openai"]

[embedding_models.emb.providers.openai]
type = "openai"
model_name = "text-embedding-3-small"

[functions.chat]
type = "chat"

[functions.chat.experimentation]
type = "static"
candidate_variants = ["small", "large"]

[functions.chat.variants.small]
type = "chat_completion"
model = "openai::gpt-4o-mini"

[functions.chat.variants.large]
type = "chat_completion"
model = "openai::gpt-4o"

[functions.chat.variants.bon]
type = "experimental_best_of_n_sampling"
candidates = ["small", "small"]

[functions.chat.variants.bon.evaluator]
model = "openai::gpt-4o-mini"

[functions.chat.variants.dicl]
type = "experimental_dynamic_in_context_learning"
embedding_model = "emb"
k = 3
model = "openai::gpt-4o-mini"

[functions.extract]
type = "json"
output_schema = "answer.json"

[functions.extract.variants.plain]
type = "chat_completion"
model = "openai::gpt-4o-mini"
json_mode = "strict"

[functions.failing]
type = "chat"

[functions.failing.variants.only]
type = "chat_completion"
model = "openai::gpt-4.1-nano"

[metrics.score]
type = "float"
optimize = "max"
level = "inference"
"""

SCHEMA = {
    "type": "object",
    "properties": {"answer": {"type": "string"}},
    "required": ["answer"],
    "additionalProperties": False,
}

#: every attempt on the failing function's model is a provider 500; the DICL
#: variant finds examples, so its prompt carries the serialized input.
WORLD: dict[str, Any] = {
    "models": {"openai::gpt-4.1-nano": {"failure_rates": {"server_error": 1.0}}},
    "dicl": {"chat": {"dicl": {"pool_size": 10, "example_tokens": 300}}},
}

#: string content, as agents write it; the HTTP client sends it as blocks.
INPUT = {
    "system": "Be terse.",
    "messages": [{"role": "user", "content": "Write a haiku about tests."}],
}
BAD_TAGS = {"tensorzero::team": "a"}


def write_config(directory: Path) -> Path:
    (directory / "answer.json").write_text(json.dumps(SCHEMA))
    path = directory / "tensorzero.toml"
    path.write_text(CONFIG)
    return path


def _status(exc: tensorzero.TensorZeroError) -> tuple[int, Any]:
    return exc.status_code, json.loads(exc.text or "")


def agent(client: Any) -> list[Any]:
    """A fixed call sequence; returns everything agent code could observe."""
    seen: list[Any] = []
    first = client.inference(function_name="chat", input=INPUT)
    episode = first.episode_id
    seen.append(first)
    for _ in range(3):
        seen.append(
            client.inference(function_name="chat", input=INPUT, episode_id=episode)
        )
    seen.append(
        client.inference(function_name="extract", input=INPUT, episode_id=episode)
    )
    seen.append(client.inference(function_name="chat", input=INPUT, variant_name="bon"))
    seen.append(
        client.inference(function_name="chat", input=INPUT, variant_name="dicl")
    )
    seen.append(client.inference(model_name="openai::gpt-4o-mini", input=INPUT))
    seen.append(list(client.inference(function_name="chat", input=INPUT, stream=True)))
    seen.append(
        list(client.inference(function_name="extract", input=INPUT, stream=True))
    )
    seen.append(
        client.feedback(metric_name="score", value=0.5, inference_id=first.inference_id)
    )
    for call in (
        {"function_name": "failing"},
        {"function_name": "nope"},
        {"function_name": "chat", "tags": BAD_TAGS},
    ):
        try:
            client.inference(input=INPUT, **call)
        except tensorzero.TensorZeroError as exc:
            seen.append(_status(exc))
    return seen


async def async_agent(client: Any) -> list[Any]:
    """:func:`agent` for ``AsyncTensorZeroGateway``."""
    seen: list[Any] = []
    first = await client.inference(function_name="chat", input=INPUT)
    episode = first.episode_id
    seen.append(first)
    for _ in range(3):
        seen.append(
            await client.inference(
                function_name="chat", input=INPUT, episode_id=episode
            )
        )
    seen.append(
        await client.inference(function_name="extract", input=INPUT, episode_id=episode)
    )
    seen.append(
        await client.inference(function_name="chat", input=INPUT, variant_name="bon")
    )
    seen.append(
        await client.inference(function_name="chat", input=INPUT, variant_name="dicl")
    )
    seen.append(await client.inference(model_name="openai::gpt-4o-mini", input=INPUT))
    stream = await client.inference(function_name="chat", input=INPUT, stream=True)
    seen.append([chunk async for chunk in stream])
    stream = await client.inference(function_name="extract", input=INPUT, stream=True)
    seen.append([chunk async for chunk in stream])
    seen.append(
        await client.feedback(
            metric_name="score", value=0.5, inference_id=first.inference_id
        )
    )
    for call in (
        {"function_name": "failing"},
        {"function_name": "nope"},
        {"function_name": "chat", "tags": BAD_TAGS},
    ):
        try:
            await client.inference(input=INPUT, **call)
        except tensorzero.TensorZeroError as exc:
            seen.append(_status(exc))
    return seen
