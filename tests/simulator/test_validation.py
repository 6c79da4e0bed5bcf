"""Input validation against the function's schemas, with the messages the
real gateway (tensorzero 2026.6.0, embedded) answered for the same
config and inputs."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from simhelpers import openai_model
from tensorzero import TensorZeroError, TensorZeroInternalError, Text

from simulator import Simulation

SYSTEM = {
    "type": "object",
    "properties": {"tone": {"type": "string"}, "zeta": {"type": "integer"}},
    "required": ["tone"],
    "additionalProperties": False,
}
USER = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "n": {"type": "integer", "minimum": 0},
    },
    "required": ["name"],
}
NAMED = {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}
BOUNDS = {
    "type": "object",
    "properties": {
        "e": {"enum": ["x", "y", 3]},
        "s": {"type": "string", "minLength": 2, "maxLength": 3, "pattern": "^a"},
        "l": {"minItems": 2, "maxItems": 1},
        "x": {"exclusiveMinimum": 1},
        "c": {"const": 3},
        "n": {"type": ["string", "null"]},
        "u": {"uniqueItems": True},
        "one": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
        "no": {"not": {"type": "string"}},
    },
}

CONFIG = (
    openai_model("m")
    + """
[functions.f]
type = "chat"
system_schema = "../system.json"
user_schema = "../user.json"
[functions.f.schemas.named]
path = "../named.json"
[functions.f.schemas.bounds]
path = "../bounds.json"
[functions.f.variants.v]
type = "chat_completion"
model = "m"
system_template = "../system.minijinja"
user_template = "../user.minijinja"
[functions.f.variants.v.templates.named]
path = "../named.minijinja"
[functions.f.variants.v.templates.bounds]
path = "../named.minijinja"
[functions.g]
type = "chat"
[functions.g.variants.v]
type = "chat_completion"
model = "m"
[functions.h]
type = "chat"
[functions.h.variants.v]
type = "chat_completion"
model = "m"
system_template = "../text.minijinja"
"""
)

FILES = {
    "system.json": json.dumps(SYSTEM),
    "user.json": json.dumps(USER),
    "named.json": json.dumps(NAMED),
    "bounds.json": json.dumps(BOUNDS),
    "system.minijinja": "Tone: {{ tone }}",
    "user.minijinja": "Name {{ name }}",
    "named.minijinja": "Q {{ q }}",
    "text.minijinja": "Sys {{ system_text }}",
}

USER_OK = [
    {
        "role": "user",
        "content": [{"type": "template", "name": "user", "arguments": {"name": "b"}}],
    }
]


@pytest.fixture
def sim(tmp_path: Path, make_sim: Callable[..., Simulation]) -> Simulation:
    for name, text in FILES.items():
        (tmp_path / name).write_text(text)
    # the config is written one folder down, next to nothing else
    return make_sim(CONFIG)


def refused(sim: Simulation, function: str, inp: Any) -> tuple[int, str]:
    with pytest.raises(TensorZeroError) as info:
        sim.client().inference(function_name=function, input=inp)
    assert sim.ledger.provider_calls == 0
    return info.value.status_code, json.loads(info.value.text or "{}")["error"]


def schema_error(message: str, schema: dict[str, Any]) -> str:
    compact = json.dumps(schema, separators=(",", ":"))
    return f"JSON Schema validation failed:\n{message}\n\nSchema:\n{compact}"


def test_system_arguments_breaking_the_schema_are_a_400(sim: Simulation) -> None:
    status, message = refused(
        sim, "f", {"system": {"mood": "grim"}, "messages": USER_OK}
    )
    assert status == 400
    assert message == schema_error(
        "Additional properties are not allowed ('mood' was unexpected)", SYSTEM
    )


@pytest.mark.parametrize(
    ("system", "expected"),
    [
        ("plain", '"plain" is not of type "object"'),
        ({"tone": 5}, '5 is not of type "string"'),
        ({"zeta": "x", "mood": 1}, '"x" is not of type "integer"'),
    ],
)
def test_system_schema_messages(sim: Simulation, system: Any, expected: str) -> None:
    assert refused(sim, "f", {"system": system, "messages": USER_OK}) == (
        400,
        schema_error(expected, SYSTEM),
    )


def test_a_system_schema_needs_input_system(sim: Simulation) -> None:
    assert refused(sim, "f", {"messages": USER_OK}) == (
        400,
        "`input.system` is empty but a system template is present.",
    )


@pytest.mark.parametrize(
    ("messages", "expected", "schema"),
    [
        ([{"role": "user", "content": "hi"}], '"hi" is not of type "object"', USER),
        ([{"role": "user", "content": {"name": 3}}], '3 is not of type "string"', USER),
        (
            [{"role": "user", "content": [{"type": "text", "arguments": {"name": 7}}]}],
            '7 is not of type "string"',
            USER,
        ),
        (
            [
                {"role": "user", "content": [{"type": "text", "text": "a"}]},
                {"role": "assistant", "content": "ok"},
            ],
            '"a" is not of type "object"',
            USER,
        ),
        (
            [
                {
                    "role": "user",
                    "content": [
                        {"type": "template", "name": "named", "arguments": {"q": 1}}
                    ],
                }
            ],
            '1 is not of type "string"',
            NAMED,
        ),
    ],
)
def test_message_schema_messages(
    sim: Simulation, messages: list[Any], expected: str, schema: dict[str, Any]
) -> None:
    inp = {"system": {"tone": "dry"}, "messages": messages}
    assert refused(sim, "f", inp) == (400, schema_error(expected, schema))


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"e": "z"}, '"z" is not one of "x", "y" or 3'),
        ({"s": "a"}, '"a" is shorter than 2 characters'),
        ({"s": "abcd"}, '"abcd" is longer than 3 characters'),
        ({"s": "bb"}, '"bb" does not match "^a"'),
        ({"l": [1]}, "[1] has less than 2 items"),
        ({"x": 1}, "1 is less than or equal to the minimum of 1"),
        ({"c": 4}, "3 was expected"),
        ({"n": 1}, '1 is not of types "null", "string"'),
        ({"u": [1, 1]}, "[1,1] has non-unique elements"),
        (
            {"one": 1.5},
            "1.5 is not valid under any of the schemas listed in the 'oneOf' keyword",
        ),
        ({"no": "s"}, '{"type":"string"} is not allowed for "s"'),
    ],
)
def test_keyword_messages(sim: Simulation, arguments: Any, expected: str) -> None:
    block = {"type": "template", "name": "bounds", "arguments": arguments}
    inp = {
        "system": {"tone": "dry"},
        "messages": [{"role": "user", "content": [block]}],
    }
    assert refused(sim, "f", inp) == (400, schema_error(expected, BOUNDS))


@pytest.mark.parametrize(
    ("function", "inp", "expected"),
    [
        (
            "g",
            {"messages": [{"role": "user", "content": {"a": 1}}]},
            "Message at index 0 has non-string content but there is no template "
            "`user` in any variant",
        ),
        (
            "g",
            {
                "messages": [
                    {"role": "user", "content": "x"},
                    {"role": "assistant", "content": {"a": 1}},
                ]
            },
            "Message at index 1 has non-string content but there is no template "
            "`assistant` in any variant",
        ),
        (
            "g",
            {"system": {"a": 1}, "messages": [{"role": "user", "content": "x"}]},
            "System message has non-string content but there is no template "
            "`system` in any variant",
        ),
        # a legacy ``system_template`` without a schema only renders text
        (
            "h",
            {"system": {"tone": 1}, "messages": [{"role": "user", "content": "x"}]},
            "System message has non-string content but there is no template "
            "`system` in any variant",
        ),
        (
            "f",
            {
                "system": {"tone": "dry"},
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {"type": "template", "name": "nope", "arguments": {}}
                        ],
                    }
                ],
            },
            "Message at index 0 has non-string content but there is no template "
            "`nope` in any variant",
        ),
    ],
)
def test_object_content_needs_a_schema_or_template(
    sim: Simulation, function: str, inp: Any, expected: str
) -> None:
    assert refused(sim, function, inp) == (400, expected)


def test_validation_comes_before_the_variant_check(sim: Simulation) -> None:
    with pytest.raises(TensorZeroError) as info:
        sim.client().inference(
            function_name="g",
            variant_name="zzz",
            input={"messages": [{"role": "user", "content": {"a": 1}}]},
        )
    assert info.value.status_code == 400


def test_valid_inputs_reach_the_provider(sim: Simulation) -> None:
    client = sim.client()
    client.inference(
        function_name="f", input={"system": {"tone": "dry"}, "messages": USER_OK}
    )
    client.inference(
        function_name="f",
        input={
            "system": {"tone": "dry"},
            "messages": [{"role": "user", "content": {"name": "x"}}],
        },
    )
    client.inference(
        function_name="h", input={"messages": [{"role": "user", "content": "x"}]}
    )
    assert sim.ledger.provider_calls == 3


@pytest.mark.parametrize(
    ("inp", "role", "column"),
    [
        # columns measured on tensorzero 2026.6.0 (the client's JSON of the input)
        ({"messages": [{"role": "system", "content": "hi"}]}, "system", 31),
        ({"messages": [{"role": "tool", "content": "hi"}]}, "tool", 29),
        (
            {
                "system": "Be brief.",
                "messages": [
                    {"role": "user", "content": "hi"},
                    {"content": "x", "role": "developer"},
                ],
            },
            "developer",
            108,
        ),
        # the client's encoder writes the package's types; a tuple is a list
        (
            {
                "messages": [
                    {"role": "user", "content": [Text(text="hi")]},
                    {"role": "tool", "content": "x"},
                ]
            },
            "tool",
            92,
        ),
        ({"messages": ({"role": "tool", "content": "x"},)}, "tool", 29),
    ],
)
def test_a_role_other_than_user_or_assistant_fails_in_the_client(
    sim: Simulation, inp: Any, role: str, column: int
) -> None:
    """The embedded client cannot parse such an input: no variant runs, no
    inference is recorded, whether the variant is pinned or sampled."""
    index = len(inp["messages"]) - 1
    for variant in (None, "v"):
        with pytest.raises(TensorZeroInternalError) as info:
            sim.client().inference(function_name="f", variant_name=variant, input=inp)
        assert str(info.value) == (
            "Failed to deserialize JSON to tensorzero_types::message::Input: "
            f"messages[{index}].role: unknown variant `{role}`, expected `user` "
            f"or `assistant` at line 1 column {column}"
        )
    assert sim.ledger.inferences == [] and sim.ledger.provider_calls == 0
    # before the function is looked up, as in the client
    with pytest.raises(TensorZeroInternalError):
        sim.client().inference(function_name="nope", input=inp)
