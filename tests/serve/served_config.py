"""A small config and an agent run the same way in-process and over HTTP."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import tensorzero

CONFIG = """
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

#: every attempt on the failing function's model is a provider 500.
WORLD: dict[str, Any] = {
    "models": {"openai::gpt-4.1-nano": {"failure_rates": {"server_error": 1.0}}}
}

INPUT = {"messages": [{"role": "user", "content": "Write a haiku about tests."}]}


def write_config(directory: Path) -> Path:
    (directory / "answer.json").write_text(json.dumps(SCHEMA))
    path = directory / "tensorzero.toml"
    path.write_text(CONFIG)
    return path


def agent(client: Any) -> list[Any]:
    """A fixed call sequence; returns what agent code could observe."""
    seen: list[Any] = []
    first = client.inference(function_name="chat", input=INPUT)
    episode = first.episode_id
    seen.append((first.variant_name, first.usage))
    for _ in range(3):
        again = client.inference(function_name="chat", input=INPUT, episode_id=episode)
        seen.append((again.variant_name, again.usage))
    extracted = client.inference(
        function_name="extract", input=INPUT, episode_id=episode
    )
    seen.append((extracted.variant_name, extracted.output.parsed, extracted.usage))
    best = client.inference(function_name="chat", input=INPUT, variant_name="bon")
    seen.append((best.variant_name, best.usage))
    chunks = list(client.inference(function_name="chat", input=INPUT, stream=True))
    seen.append((chunks[-1].variant_name, [c.usage for c in chunks]))
    client.feedback(metric_name="score", value=0.5, inference_id=first.inference_id)
    try:
        client.inference(function_name="failing", input=INPUT)
    except tensorzero.TensorZeroError as exc:
        seen.append(exc.status_code)
    return seen
