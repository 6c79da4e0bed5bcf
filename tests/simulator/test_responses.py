"""Responses are built with positional arguments for speed; they must equal
the keyword-built ``tensorzero`` objects, field for field."""

from __future__ import annotations

import uuid

from tensorzero.types import ChatInferenceResponse, FinishReason, Text, Usage

from simulator.responses import make_usage, text_response


def test_positional_construction_matches_the_tensorzero_fields() -> None:
    usage = make_usage(12, 34, 5, 0.25)
    assert usage == Usage(
        input_tokens=12,
        output_tokens=34,
        provider_cache_read_input_tokens=5,
        provider_cache_write_input_tokens=None,
        cost=0.25,
    )
    inference, episode = uuid.uuid4(), uuid.uuid4()
    response = text_response(inference, episode, "v", "hello", usage)
    assert response == ChatInferenceResponse(
        inference_id=inference,
        episode_id=episode,
        variant_name="v",
        content=[Text(text="hello")],
        usage=usage,
        finish_reason=FinishReason.STOP,
    )
    assert response.raw_usage is None and response.original_response is None
