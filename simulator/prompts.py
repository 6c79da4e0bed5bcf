"""Prompt sizes: render an inference input the way a variant would and
count its tokens with :mod:`simulator.tokens`.

Templates are compiled once per variant with minijinja, the engine the
gateway uses.  A role template with no schema receives the text as
``<role>_text`` (the gateway's legacy behaviour); object arguments are
rendered with the role's template; ``{"type": "template", "name": ...}``
blocks use the named template.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from minijinja import Environment

from simulator.config.model import ChatCompletionConfig
from simulator.failures import RequestError
from simulator.tokens import (
    FILE_TOKENS,
    MESSAGE_TOKENS,
    REQUEST_TOKENS,
    text_tokens,
    value_tokens,
)

_ROLES = ("user", "assistant")


def _field(block: Any, name: str, default: Any = None) -> Any:
    if isinstance(block, Mapping):
        return block.get(name, default)
    return getattr(block, name, default)


class PromptCounter:
    """Counts the prompt tokens of an input rendered with one variant's
    templates (or none)."""

    __slots__ = ("_env", "_names")

    def __init__(self, inner: ChatCompletionConfig | None) -> None:
        templates = {} if inner is None else dict(inner.templates)
        self._names = frozenset(templates)
        self._env = (
            Environment(templates={n: t.source for n, t in templates.items()})
            if templates
            else None
        )

    def _render(self, name: str, context: Mapping[str, Any]) -> int:
        assert self._env is not None
        try:
            return text_tokens(self._env.render_template(name, **context))
        except Exception as exc:  # minijinja raises its own error types
            raise RequestError(
                400, f"Error rendering template `{name}`: {exc}"
            ) from None

    def _text(self, role: str, text: Any) -> int:
        if role in self._names:
            return self._render(role, {f"{role}_text": text})
        if isinstance(text, str):
            return text_tokens(text)
        raise RequestError(
            400,
            f"Message at index 0 has non-string content but there is no schema "
            f"given for role {role}.",
        )

    def _arguments(self, role: str, arguments: Any) -> int:
        if role in self._names and isinstance(arguments, Mapping):
            return self._render(role, arguments)
        raise RequestError(
            400,
            f"Message has non-string content but there is no template for role {role}.",
        )

    def _block(self, role: str, block: Any) -> int:
        if isinstance(block, str):
            return self._text(role, block)
        kind = _field(block, "type")
        if kind == "text":
            text = _field(block, "text")
            if text is None:
                return self._arguments(role, _field(block, "arguments"))
            return self._text(role, text)
        if kind == "template":
            name = _field(block, "name")
            if name not in self._names:
                raise RequestError(400, f"Template not found: {name}")
            return self._render(name, _field(block, "arguments") or {})
        if kind == "raw_text":
            return text_tokens(str(_field(block, "value", "")))
        if kind == "tool_call":
            raw = _field(block, "raw_arguments") or _field(block, "arguments") or ""
            return text_tokens(str(_field(block, "name", ""))) + value_tokens(raw)
        if kind == "tool_result":
            return text_tokens(str(_field(block, "result", "")))
        if kind == "thought":
            return text_tokens(str(_field(block, "text") or ""))
        if kind in ("image", "file"):
            return FILE_TOKENS
        if kind == "unknown":
            return value_tokens(_field(block, "data"))
        raise RequestError(400, f"Unknown content block type: {kind}")

    def count(self, inp: Mapping[str, Any]) -> int:
        """Tokens of the rendered conversation, system prompt included."""
        if not isinstance(inp, Mapping):
            raise RequestError(400, "`input` must be an object with `messages`")
        total = REQUEST_TOKENS
        system = inp.get("system")
        if system is not None:
            if isinstance(system, str) and "system" not in self._names:
                total += MESSAGE_TOKENS + text_tokens(system)
            elif isinstance(system, str):
                total += MESSAGE_TOKENS + self._render(
                    "system", {"system_text": system}
                )
            else:
                total += MESSAGE_TOKENS + self._arguments("system", system)
        elif "system" in self._names:
            total += MESSAGE_TOKENS + self._render("system", {})
        names = self._names
        for message in inp.get("messages") or ():
            if type(message) is dict:
                content = message.get("content")
                role = message.get("role")
                if type(content) is str and role in _ROLES and role not in names:
                    total += MESSAGE_TOKENS + text_tokens(content)
                    continue
            role = _field(message, "role")
            if role not in _ROLES:
                raise RequestError(
                    400, f"unknown variant `{role}`, expected `user` or `assistant`"
                )
            content = _field(message, "content")
            total += MESSAGE_TOKENS
            if isinstance(content, str):
                total += self._text(role, content)
            elif isinstance(content, list):
                for block in content:
                    total += self._block(role, block)
            else:
                total += self._arguments(role, content)
        return total


def serialized_input_tokens(inp: Mapping[str, Any]) -> int:
    """Tokens of the input as the DICL variant serializes it (compact JSON
    of the stored input: what the embedding call and the examples carry)."""
    try:
        text = json.dumps(inp, separators=(",", ":"), default=_default)
    except TypeError as exc:
        raise RequestError(400, f"input is not serializable: {exc}") from None
    return text_tokens(text)


def _default(value: Any) -> Any:
    fields = getattr(value, "__dict__", None)
    if fields is None:
        raise TypeError(f"cannot serialize {type(value).__name__}")
    return fields
