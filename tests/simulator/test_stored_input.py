"""DICL serializes the input as the gateway stores it: every block in the
gateway's own form, however the agent wrote it (measured: the embedding
input of "What is two plus two?" with "You are terse." is
``{"system":"You are terse.","messages":[{"role":"user","content":[{"type":
"text","text":"What is two plus two?"}]}]}``, 29 tokens)."""

from __future__ import annotations

from tensorzero import Template, Text

from simulator.prompts import serialized_input_tokens
from simulator.tokens import text_tokens

STORED = (
    '{"system":"You are terse.","messages":[{"role":"user","content":'
    '[{"type":"text","text":"What is two plus two?"}]}]}'
)


def test_string_dict_and_dataclass_blocks_serialize_alike() -> None:
    question = "What is two plus two?"
    forms = [
        question,
        [{"type": "text", "text": question}],
        [{"text": question, "type": "text"}],
        [Text(type="text", text=question)],
    ]
    sizes = {
        serialized_input_tokens(
            {
                "system": "You are terse.",
                "messages": [{"role": "user", "content": content}],
            }
        )
        for content in forms
    }
    assert sizes == {text_tokens(STORED)} == {29}


def test_templates_serialize_as_template_blocks() -> None:
    stored = (
        '{"messages":[{"role":"user","content":[{"type":"template",'
        '"name":"user","arguments":{"q":1}}]}]}'
    )
    for content in (
        {"q": 1},
        [{"type": "text", "arguments": {"q": 1}}],
        [Template(type="template", name="user", arguments={"q": 1})],
    ):
        inp = {"messages": [{"role": "user", "content": content}]}
        assert serialized_input_tokens(inp) == text_tokens(stored)
