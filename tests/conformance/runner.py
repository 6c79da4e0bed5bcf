"""Run one conformance case through the real gateway and the simulator.

Both sides get the same config, world, seed, inputs and episode ids.  Each
side yields one observation per step; the test compares them field by
field.  The gateway side is the real embedded TensorZero gateway in front of
the world-driven fake provider; what it sent to providers comes from the
fake provider's request log, the simulator's from its ledger.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tensorzero import TensorZeroError

from simulator import Simulation
from simulator.fakeprovider.gateway import ProviderHarness

DEFAULT_INPUT: Mapping[str, Any] = {
    "system": "You are terse.",
    "messages": [{"role": "user", "content": "What is two plus two?"}],
}


@dataclass(frozen=True)
class Infer:
    function: str | None = "f"
    #: an int names a fixed UUIDv7 shared by both sides; None lets each side
    #: make a fresh one
    episode: int | None = None
    variant: str | None = None
    input: Mapping[str, Any] = field(default_factory=lambda: dict(DEFAULT_INPUT))
    stream: bool = False
    params: Mapping[str, Any] | None = None
    model_name: str | None = None


@dataclass(frozen=True)
class Feedback:
    metric: str
    value: Any
    #: "inference" targets the last inference's id, "episode" its episode
    target: str = "inference"


Step = Infer | Feedback


@dataclass(frozen=True)
class Case:
    id: str
    config: str
    steps: tuple[Step, ...]
    world: Mapping[str, Any] = field(default_factory=dict)
    #: other files the config names (templates, schemas), by relative path
    files: Mapping[str, str] = field(default_factory=dict)
    #: provider calls arrive concurrently (best-of-N / mixture-of-N)
    concurrent: bool = False
    #: a known difference, recorded in the notes (temporary)
    xfail: str | None = None
    #: the deprecated form the config uses on purpose, as the start of its
    #: ConfigWarning's problem text (the warning is expected, not news)
    deprecated: str | None = None


def episode_uuid(n: int) -> uuid.UUID:
    """A fixed, valid UUIDv7 (mid-2025) for episode number ``n``."""
    millis = 1_750_000_000_000 + n * 1000
    rand = int.from_bytes(hashlib.sha256(f"episode-{n}".encode()).digest()[:10], "big")
    rand_a = rand >> 68 & 0xFFF
    rand_b = rand & ((1 << 62) - 1)
    value = millis << 80 | 0x7 << 76 | rand_a << 64 | 0b10 << 62 | rand_b
    return uuid.UUID(int=value)


_WRAPPERS = (
    "All variants failed",
    "All candidates failed",
    "All retries failed",
    "All model providers failed",
    "timed out",
    "Unknown function",
    "Unknown variant",
    "Unknown metric",
)


def message_class(text: str) -> tuple[str, tuple[str, ...]]:
    """The error's leading phrase and the chain of wrapper phrases inside."""
    try:
        message = str(json.loads(text)["error"])
    except (ValueError, KeyError, TypeError):
        message = text
    head = message.split(":", 1)[0].strip()
    found = []
    for match in re.finditer("|".join(re.escape(w) for w in _WRAPPERS), message):
        found.append(match.group(0))
    return head, tuple(found)


def _usage(usage: Any) -> tuple[int | None, int | None, str | None]:
    cost = usage.cost
    # Both sides hold the cost as a decimal of at most 9 places; compare the
    # decimal value, not the float's last bits.
    return (
        usage.input_tokens,
        usage.output_tokens,
        None if cost is None else f"{cost:.9f}",
    )


def _collapse_role(role: str, api: str = "chat") -> str:
    if api == "embeddings" or role == "embedding":
        return "embedding"
    # A provider cannot tell a best-of-N candidate from a plain call.
    return role if role in ("evaluator", "fuser") else "generation"


#: (role, model, provider, outcome, input tokens, output tokens, cost,
#: number of messages, their roles comma-separated)
CallKey = tuple[str, str, str, str, int, int, int | None, int, str]


@dataclass
class Observation:
    kind: str  # "ok" | "error" | "feedback"
    variant: str | None = None
    usage: tuple[Any, ...] | None = None
    status: int | None = None
    message: tuple[str, tuple[str, ...]] | None = None
    calls: list[CallKey] = field(default_factory=list)


def _kwargs(step: Infer) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"input": step.input}
    if step.function is not None:
        kwargs["function_name"] = step.function
    if step.model_name is not None:
        kwargs["model_name"] = step.model_name
    if step.episode is not None:
        kwargs["episode_id"] = episode_uuid(step.episode)
    if step.variant is not None:
        kwargs["variant_name"] = step.variant
    if step.params is not None:
        kwargs["params"] = step.params
    if step.stream:
        kwargs["stream"] = True
    return kwargs


def _consume(result: Any, stream: bool) -> tuple[str, Any, Any, Any]:
    """(variant, usage, inference_id, episode_id) of a response or stream."""
    if not stream:
        return result.variant_name, result.usage, result.inference_id, result.episode_id
    usage = None
    last = None
    for chunk in result:
        last = chunk
        if chunk.usage is not None:
            usage = chunk.usage
    assert last is not None
    return last.variant_name, usage, last.inference_id, last.episode_id


def _run_steps(
    client: Any, steps: Sequence[Step], provider_calls: Any
) -> list[Observation]:
    out: list[Observation] = []
    last_ids: tuple[Any, Any] | None = None
    for step in steps:
        before = len(provider_calls())
        if isinstance(step, Infer):
            try:
                result = client.inference(**_kwargs(step))
                variant, usage, inference_id, episode_id = _consume(result, step.stream)
            except TensorZeroError as exc:
                obs = Observation(
                    "error",
                    status=exc.status_code,
                    message=message_class(exc.text or ""),
                )
            else:
                last_ids = (inference_id, episode_id)
                obs = Observation(
                    "ok",
                    variant=variant,
                    usage=None if usage is None else _usage(usage),
                )
        else:
            assert last_ids is not None, "feedback needs an inference before it"
            target = (
                {"inference_id": last_ids[0]}
                if step.target == "inference"
                else {"episode_id": last_ids[1]}
            )
            try:
                client.feedback(metric_name=step.metric, value=step.value, **target)
            except TensorZeroError as exc:
                obs = Observation(
                    "error",
                    status=exc.status_code,
                    message=message_class(exc.text or ""),
                )
            else:
                obs = Observation("feedback")
        obs.calls = provider_calls()[before:]
        out.append(obs)
    return out


def write_case(case: Case, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in case.files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    config = directory / "tensorzero.toml"
    config.write_text(case.config, encoding="utf-8")
    return config


def run_gateway(
    case: Case, harness: ProviderHarness, directory: Path
) -> list[Observation]:
    config = write_case(case, directory / "team")
    harness.use_world(case.world, seed=0)
    client = harness.gateway(config, out_dir=directory / "rewritten")

    def calls() -> list[CallKey]:
        return [
            (
                _collapse_role(c.role, c.api),
                c.model,
                c.provider,
                c.outcome,
                c.input_tokens,
                c.output_tokens,
                c.cost_nanousd,
                c.n_messages,
                ",".join(c.roles),
            )
            for c in harness.calls()
        ]

    return _run_steps(client, case.steps, calls)


def run_simulator(case: Case, directory: Path) -> list[Observation]:
    config = write_case(case, directory / "team")
    sim = Simulation.from_config(str(config), world=dict(case.world), seed=0)

    def calls() -> list[CallKey]:
        return [
            (
                _collapse_role(r.role),
                r.model,
                r.provider,
                r.outcome,
                r.input_tokens,
                r.output_tokens,
                r.cost_nanousd,
                r.messages,
                r.roles,
            )
            for r in sim.ledger.rows()
        ]

    return _run_steps(sim.client(), case.steps, calls)
