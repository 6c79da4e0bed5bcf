"""A stand-in simulation that records the keywords it is called with.

It answers with the ``tensorzero`` package's own response types, so the HTTP
layer can be tested on its own: whatever reaches it over HTTP must be what an
in-process caller would have passed.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import tensorzero
from tensorzero.types import ChatChunk, JsonChunk, TextChunk

FUNCTIONS = {"chat": "chat", "extract": "json"}


def _uuid(n: int) -> uuid.UUID:
    return uuid.UUID(int=(0x0196 << 112) | (0x7 << 76) | (0x8 << 60) | n)


class StubClient:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def inference(self, **kwargs: Any) -> Any:
        self.calls.append(("inference", kwargs))
        n = len(self.calls)
        function = kwargs.get("function_name")
        if function is not None and function not in FUNCTIONS:
            raise tensorzero.TensorZeroError(
                404, json.dumps({"error": f"Unknown function: {function}"})
            )
        if function == "chat" and kwargs.get("variant_name") == "broken":
            raise tensorzero.TensorZeroError(
                502, json.dumps({"error": "All variants failed with errors: broken"})
            )
        variant = kwargs.get("variant_name", "v")
        usage = tensorzero.Usage(input_tokens=10 * n, output_tokens=n, cost=0.00025)
        text = f"answer {n}"
        ids = {"inference_id": _uuid(2 * n), "episode_id": _uuid(2 * n + 1)}
        if kwargs.get("stream"):
            return self._stream(function, variant, text, usage, ids)
        if function == "extract":
            return tensorzero.JsonInferenceResponse(
                variant_name=variant,
                output=tensorzero.JsonInferenceOutput(
                    raw=json.dumps({"answer": text}), parsed={"answer": text}
                ),
                usage=usage,
                finish_reason=tensorzero.FinishReason.STOP,
                **ids,
            )
        return tensorzero.ChatInferenceResponse(
            variant_name=variant,
            content=[tensorzero.Text(text=text)],
            usage=usage,
            finish_reason=tensorzero.FinishReason.STOP,
            **ids,
        )

    def _stream(
        self, function: Any, variant: str, text: str, usage: Any, ids: Any
    ) -> Iterator[Any]:
        if function == "extract":
            yield JsonChunk(variant_name=variant, raw='{"answer": ', **ids)
            yield JsonChunk(
                variant_name=variant,
                raw=json.dumps(text) + "}",
                usage=usage,
                finish_reason=tensorzero.FinishReason.STOP,
                **ids,
            )
            return
        half = len(text) // 2
        yield ChatChunk(
            variant_name=variant, content=[TextChunk(id="0", text=text[:half])], **ids
        )
        yield ChatChunk(
            variant_name=variant,
            content=[TextChunk(id="0", text=text[half:])],
            usage=usage,
            finish_reason=tensorzero.FinishReason.STOP,
            **ids,
        )

    def feedback(self, **kwargs: Any) -> Any:
        self.calls.append(("feedback", kwargs))
        if kwargs["metric_name"] != "score":
            raise tensorzero.TensorZeroError(
                404, json.dumps({"error": f"Unknown metric: {kwargs['metric_name']}"})
            )
        return tensorzero.FeedbackResponse(feedback_id=_uuid(999))


class StubClock:
    def time(self) -> float:
        return 1_780_000_000.0


class StubSimulation:
    def __init__(self) -> None:
        self.clock = StubClock()
        self._client = StubClient()

    @property
    def calls(self) -> list[tuple[str, dict[str, Any]]]:
        return self._client.calls

    def client(self) -> StubClient:
        return self._client
