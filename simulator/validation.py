"""Input checks the gateway makes before any variant runs.

The gateway validates every text and template argument of an inference
input against the function's schemas (``system_schema``, ``user_schema``,
``assistant_schema`` and the named ``schemas.<name>``); object arguments
with no schema need a template of that name in some variant, and a
function with a system schema needs ``input.system``.  A refused input is a
400 and no provider is called.

Validators are compiled once per function.  The gateway validates with the
Rust ``jsonschema`` crate (draft from ``$schema``, 2020-12 by default) and
reports the first error in that crate's words; :func:`gateway_message`
rewrites the Python library's errors in them.  When one input breaks
several keywords at once the crate's choice of which to report is not
always reproduced.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from jsonschema import ValidationError
from jsonschema.validators import Draft202012Validator, validator_for
from tensorzero.types import TensorZeroTypeEncoder

from simulator.config.model import (
    BestOfNVariant,
    ChainOfThoughtVariant,
    ChatCompletionConfig,
    ChatCompletionVariant,
    FunctionConfig,
    MixtureOfNVariant,
)
from simulator.failures import InputParseError, RequestError

_ROLE_SCHEMAS = ("system", "user", "assistant")


def _field(block: Any, name: str, default: Any = None) -> Any:
    if isinstance(block, Mapping):
        return block.get(name, default)
    return getattr(block, name, default)


def _explicit_templates(
    inner: ChatCompletionConfig, schemas: Mapping[str, Any]
) -> set[str]:
    # A legacy ``<role>_template`` with no schema only ever renders text, so
    # it does not admit object arguments.
    return {
        name
        for name, template in inner.templates.items()
        if not (template.legacy and name not in schemas)
    }


def template_names(fn: FunctionConfig) -> frozenset[str]:
    """Templates of every variant that object arguments may target."""
    names: set[str] = set()
    schemas = fn.schemas
    for variant in fn.variants.values():
        if isinstance(variant, ChatCompletionVariant | ChainOfThoughtVariant):
            names |= _explicit_templates(variant.inner, schemas)
        elif isinstance(variant, BestOfNVariant):
            names |= _explicit_templates(variant.evaluator, schemas)
        elif isinstance(variant, MixtureOfNVariant):
            names |= _explicit_templates(variant.fuser, schemas)
    return frozenset(names)


class InputValidator:
    """``validate_all_text_input`` for one function."""

    __slots__ = ("_schemas", "_validators", "_templates", "has_schemas")

    def __init__(self, fn: FunctionConfig | None = None) -> None:
        schemas = {} if fn is None else dict(fn.schemas)
        self._schemas = schemas
        self._validators: dict[str, Any] = {}
        for name, schema in schemas.items():
            cls = validator_for(schema, default=Draft202012Validator)
            self._validators[name] = cls(schema)
        self._templates = frozenset() if fn is None else template_names(fn)
        #: without schemas an input of text alone has nothing to check
        self.has_schemas = bool(self._validators)

    def _check(self, value: Any, name: str, index: int | None) -> None:
        validator = self._validators.get(name)
        if validator is not None:
            error = first_error(validator, value)
            if error is not None:
                schema = json.dumps(
                    self._schemas[name], separators=(",", ":"), ensure_ascii=False
                )
                raise RequestError(
                    400,
                    "JSON Schema validation failed:\n"
                    f"{gateway_message(error)}\n\nSchema:\n{schema}",
                )
            return
        if isinstance(value, str) or name in self._templates:
            return
        where = "System message" if index is None else f"Message at index {index}"
        raise RequestError(
            400,
            f"{where} has non-string content but there is no template "
            f"`{name}` in any variant",
        )

    def validate(self, inp: Any) -> None:
        """Raise the gateway's 400 for an input it refuses."""
        if type(inp) is not dict and not isinstance(inp, Mapping):
            return
        system = inp.get("system")
        if type(system) is str and "system" not in self._validators:
            pass  # a text system prompt with no schema: nothing to check
        elif system is not None:
            self._check(system, "system", None)
        elif "system" in self._validators:
            raise RequestError(
                400, "`input.system` is empty but a system template is present."
            )
        messages = inp.get("messages")
        if not isinstance(messages, list):
            return
        validators = self._validators
        for index, message in enumerate(messages):
            if type(message) is dict:
                # the common case: a plain text message with no schema for
                # its role has nothing to check
                role = message.get("role")
                if role != "user" and role != "assistant":
                    continue
                content = message.get("content")
                if type(content) is str and role not in validators:
                    continue
            else:
                role = _field(message, "role")
                content = _field(message, "content")
            if role not in ("user", "assistant"):
                continue
            if isinstance(content, str):
                self._check(content, role, index)
            elif isinstance(content, Mapping):
                # object content is the role's template block
                self._check(dict(content), role, index)
            elif isinstance(content, list):
                for block in content:
                    self._block(block, role, index)

    def _block(self, block: Any, role: str, index: int) -> None:
        if isinstance(block, str):
            self._check(block, role, index)
            return
        kind = _field(block, "type")
        if kind == "text":
            text = _field(block, "text")
            if text is not None:
                self._check(text, role, index)
            else:
                self._check(_as_object(_field(block, "arguments")), role, index)
        elif kind == "template":
            name = _field(block, "name")
            self._check(_as_object(_field(block, "arguments")), str(name), index)


def _as_object(arguments: Any) -> Any:
    return dict(arguments) if isinstance(arguments, Mapping) else arguments


# -- the first error, in the gateway's words ---------------------------------

#: Which keyword's error comes first (lower first); ties keep the library's
#: order.  Errors under ``properties`` rank with ``additionalProperties``
#: when the schema has it (the crate checks the two together).
_PRIORITY = {
    "type": 0,
    "const": 1,
    "enum": 2,
    "minimum": 3,
    "maximum": 3,
    "exclusiveMinimum": 3,
    "exclusiveMaximum": 3,
    "multipleOf": 3,
    "minLength": 4,
    "maxLength": 4,
    "minItems": 5,
    "maxItems": 5,
    "minProperties": 6,
    "maxProperties": 6,
    "required": 7,
    "pattern": 8,
    "uniqueItems": 9,
    "properties": 10,
    "patternProperties": 11,
    "additionalProperties": 12,
}


def _rank(error: ValidationError, root: Any) -> int:
    path = error.relative_schema_path
    keyword = str(path[0]) if path else str(error.validator)
    if (
        keyword in ("properties", "patternProperties", "additionalProperties")
        and isinstance(root, Mapping)
        and "additionalProperties" in root
    ):
        return 6
    return _PRIORITY.get(keyword, 20)


def first_error(validator: Any, value: Any) -> ValidationError | None:
    """The error the gateway reports, or ``None`` when ``value`` is valid."""
    root = validator.schema
    best: tuple[int, int, ValidationError] | None = None
    for i, error in enumerate(validator.iter_errors(value)):
        rank = _rank(error, root)
        if best is None or rank < best[0]:
            best = (rank, i, error)
    return None if best is None else best[2]


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _plural(n: Any, one: str, many: str) -> str:
    return one if n == 1 else many


def _one_of_list(values: list[Any]) -> str:
    shown = [_json(v) for v in values]
    if len(shown) <= 1:
        return "".join(shown)
    return ", ".join(shown[:-1]) + " or " + shown[-1]


def gateway_message(error: ValidationError) -> str:
    """The Rust ``jsonschema`` crate's message for this error."""
    keyword = error.validator
    expected: Any = error.validator_value
    instance: Any = error.instance
    shown = _json(instance)
    if keyword == "type":
        if isinstance(expected, list):
            types = ", ".join(_json(t) for t in sorted(expected))
            return f"{shown} is not of types {types}"
        return f"{shown} is not of type {_json(expected)}"
    if keyword == "required":
        missing = [p for p in expected if p not in instance]
        return f"{_json(missing[0] if missing else expected[0])} is a required property"
    if keyword == "additionalProperties" and expected is False:
        parent = error.schema if isinstance(error.schema, Mapping) else {}
        known = parent.get("properties") or {}
        patterns = list(parent.get("patternProperties") or {})
        extra = [
            k
            for k in instance
            if k not in known and not any(re.search(p, k) for p in patterns)
        ]
        name = extra[0] if extra else ""
        return f"Additional properties are not allowed ('{name}' was unexpected)"
    if keyword == "enum":
        return f"{shown} is not one of {_one_of_list(list(expected))}"
    if keyword == "const":
        return f"{_json(expected)} was expected"
    bounds = {
        "minimum": "is less than the minimum of",
        "maximum": "is greater than the maximum of",
        "exclusiveMinimum": "is less than or equal to the minimum of",
        "exclusiveMaximum": "is greater than or equal to the maximum of",
        "multipleOf": "is not a multiple of",
    }
    if keyword in bounds:
        return f"{shown} {bounds[keyword]} {_json(expected)}"
    counts = {
        "minLength": ("is shorter than", "character", "characters"),
        "maxLength": ("is longer than", "character", "characters"),
        "minItems": ("has less than", "item", "items"),
        "maxItems": ("has more than", "item", "items"),
        "minProperties": ("has less than", "property", "properties"),
        "maxProperties": ("has more than", "property", "properties"),
    }
    if keyword in counts:
        verb, one, many = counts[keyword]
        return f"{shown} {verb} {expected} {_plural(expected, one, many)}"
    if keyword == "uniqueItems":
        return f"{shown} has non-unique elements"
    if keyword == "pattern":
        return f"{shown} does not match {_json(expected)}"
    if keyword in ("oneOf", "anyOf"):
        return (
            f"{shown} is not valid under any of the schemas listed in the "
            f"'{keyword}' keyword"
        )
    if keyword == "not":
        return f"{_json(expected)} is not allowed for {shown}"
    if keyword is None and error.schema is False:
        return f"False schema does not allow {shown}"
    return error.message


def check_roles(inp: Any) -> None:
    """The embedded client's parse of ``input``: a message whose role is a
    string other than ``user`` or ``assistant`` fails it, with serde's
    message and the column in the client's JSON of the input."""
    messages = inp.get("messages") if isinstance(inp, Mapping) else None
    if not isinstance(messages, list | tuple):
        return
    for index, message in enumerate(messages):
        if not isinstance(message, Mapping):
            continue
        role = message.get("role")
        if not isinstance(role, str) or role in ("user", "assistant"):
            continue
        # serde reports the column just past the role's closing quote; the
        # text before it is the same in a copy with a marker for the role
        marker = "\x01runguard\x01"
        copy = dict(inp)
        copy["messages"] = [*messages[:index], {**message, "role": marker}]
        # the client serializes the input with the package's own encoder
        text = json.dumps(copy, cls=TensorZeroTypeEncoder)
        column = text.index(json.dumps(marker)) + len(json.dumps(role))
        raise InputParseError(
            "Failed to deserialize JSON to tensorzero_types::message::Input: "
            f"messages[{index}].role: unknown variant `{role}`, expected `user` "
            f"or `assistant` at line 1 column {column}"
        )
