"""What simulated models answer: text, schema-valid JSON and tool calls.

A json function must get output its schema accepts, or an agent that
parses it would fail for reasons the real gateway would not cause.  We
build one small valid instance per schema (required properties only,
``const``/``enum``/``default`` first, minimal lengths honoured) once, when
the simulation is built.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from simulator.errors import UsageError


def schema_example(
    schema: Mapping[str, Any], root: Mapping[str, Any] | None = None
) -> Any:
    """A small instance that validates against ``schema``."""
    root = schema if root is None else root
    if not schema:
        return {}
    if "$ref" in schema:
        ref = str(schema["$ref"])
        if not ref.startswith("#/"):
            raise NotImplementedError(
                f"runguard: output schemas with external $ref ({ref}) are not "
                "simulated yet"
            )
        node: Any = root
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return schema_example(node, root)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema and schema["enum"]:
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema and schema[key]:
            if key == "allOf":
                merged: dict[str, Any] = {}
                for part in schema[key]:
                    merged.update(part)
                return schema_example(merged, root)
            return schema_example(schema[key][0], root)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), kind[0] if kind else None)
    if kind == "object" or (kind is None and "properties" in schema):
        props: Mapping[str, Any] = schema.get("properties", {})
        required = schema.get("required", [])
        return {name: schema_example(props.get(name, {}), root) for name in required}
    if kind == "array":
        items = schema.get("items", {})
        count = int(schema.get("minItems", 0))
        return [schema_example(items, root) for _ in range(count)]
    if kind == "string":
        length = int(schema.get("minLength", 0))
        if "pattern" in schema or "format" in schema:
            raise NotImplementedError(
                "runguard: string `pattern`/`format` in an output schema is not "
                "simulated yet; give the property an `enum` or a `default`"
            )
        return "simulated"[: max(length, 9)].ljust(length, "x")
    if kind == "integer":
        return int(schema.get("minimum", 0))
    if kind == "number":
        return schema.get("minimum", 0)
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    return {}


def example_json(schema: Mapping[str, Any]) -> str:
    """The compact JSON text of :func:`schema_example`."""
    try:
        return json.dumps(schema_example(schema), separators=(",", ":"))
    except (KeyError, TypeError, ValueError) as exc:
        raise UsageError(
            f"runguard: cannot build an example for the schema: {exc}"
        ) from None


def chat_text(model: str, tokens: int) -> str:
    """A chat answer; its length says how many tokens it stands for."""
    return f"[simulated answer from {model}: {tokens} tokens]"
