from __future__ import annotations

import pytest

from simulator.config.model import ChatCompletionConfig, Template, frozen_map
from simulator.failures import RequestError
from simulator.prompts import PromptCounter
from simulator.tokens import MESSAGE_TOKENS, REQUEST_TOKENS, text_tokens


def test_text_tokens_is_a_quarter_of_the_characters_rounded_up() -> None:
    assert text_tokens("") == 0
    assert text_tokens("abcd") == 1
    assert text_tokens("abcde") == 2


def test_plain_conversation() -> None:
    counter = PromptCounter(None)
    inp = {"system": "x" * 40, "messages": [{"role": "user", "content": "y" * 8}]}
    assert counter.count(inp) == REQUEST_TOKENS + 2 * MESSAGE_TOKENS + 10 + 2


def test_templates_render_with_minijinja() -> None:
    inner = ChatCompletionConfig(
        model="m",
        templates=frozen_map(
            {"user": Template("user", "Tell me about {{ topic }} in {{ n }} words.")}
        ),
    )
    counter = PromptCounter(inner)
    inp = {
        "messages": [
            {
                "role": "user",
                "content": [{"type": "text", "arguments": {"topic": "ab", "n": 5}}],
            }
        ]
    }
    rendered = "Tell me about ab in 5 words."
    assert counter.count(inp) == REQUEST_TOKENS + MESSAGE_TOKENS + text_tokens(rendered)


def test_object_content_without_a_template_is_a_400() -> None:
    with pytest.raises(RequestError) as info:
        PromptCounter(None).count({"messages": [{"role": "user", "content": {"a": 1}}]})
    assert info.value.status == 400
