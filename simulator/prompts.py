"""Prompt sizes: render an inference input the way a variant would and
count its tokens with :mod:`simulator.tokens`.

Templates are compiled once per variant with minijinja, the engine the
gateway uses.  A role template with no schema receives the text as
``<role>_text`` (the gateway's legacy behaviour); object arguments are
rendered with the role's template; ``{"type": "template", "name": ...}``
blocks use the named template.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import Any, NamedTuple

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

JSON_INSTRUCTION = "Respond using JSON."
#: Provider types whose request builder adds :data:`JSON_INSTRUCTION` to the
#: system prompt for ``json_mode = "on"`` when neither the system prompt nor
#: the messages mention JSON (``providers/openai/mod.rs``
#: ``prepare_system_or_developer_message`` and its copies); with no system
#: prompt they send the instruction alone as one.
JSON_INSTRUCTION_PROVIDERS = frozenset(
    {"openai", "azure", "deepseek", "groq", "openrouter", "hyperbolic", "sglang", "tgi"}
)
#: xAI adds it only to an existing system prompt.
JSON_INSTRUCTION_SYSTEM_ONLY = frozenset({"xai"})
#: Provider types whose request builder sends each ``tool_result`` block of
#: a user message as a ``tool`` message of its own, followed by one user
#: message with the rest of the content when there is any
#: (``providers/openai/mod.rs`` ``tensorzero_to_openai_user_messages`` and
#: its copies); the others keep tool results inside the user message.
TOOL_MESSAGE_PROVIDERS = frozenset(
    {
        "openai", "azure", "deepseek", "fireworks", "groq", "hyperbolic",
        "mistral", "openrouter", "sglang", "tgi", "together", "vllm", "xai",
    }
)  # fmt: skip
#: bit of a provider rule: tool results go as ``tool`` messages
SPLITS_TOOL_RESULTS = 4
#: Anthropic instead ends the conversation with an assistant message that
#: opens the JSON answer (``prefill_json_message``): its characters.
_ANTHROPIC_PREFILL_CHARS = 29


def _field(block: Any, name: str, default: Any = None) -> Any:
    if isinstance(block, Mapping):
        return block.get(name, default)
    return getattr(block, name, default)


#: ``(system, role, text, role, text, ...)`` of a plain input
PlainKey = tuple[str | None, ...]


class Prompt(NamedTuple):
    """One request's prompt as a provider receives it: its tokens and the
    roles of its messages (system prompt included), plain and with the JSON
    instruction of ``json_mode = "on"`` (equal when it does not apply)."""

    tokens: int
    roles: str
    json_tokens: int
    json_roles: str
    #: the variant asks for ``json_mode = "on"``
    json_on: bool = False
    #: ``roles`` / ``json_roles`` with tool results sent as ``tool`` messages
    #: (``None``: no message carries a tool result)
    split_roles: str | None = None
    split_json_roles: str | None = None
    #: what sending tool results as ``tool`` messages adds to the tokens
    split_tokens: int = 0

    def plus(self, tokens: int) -> Prompt:
        return self._replace(
            tokens=self.tokens + tokens, json_tokens=self.json_tokens + tokens
        )


def provider_json_rule(provider_type: str) -> int:
    """How a provider type shapes the prompt. The low two bits: 0 nothing
    added; 1 the JSON instruction; 2 the instruction, only to an existing
    system prompt; 3 Anthropic's assistant prefill.  Plus
    :data:`SPLITS_TOOL_RESULTS` when tool results go as ``tool`` messages."""
    split = SPLITS_TOOL_RESULTS if provider_type in TOOL_MESSAGE_PROVIDERS else 0
    if provider_type in JSON_INSTRUCTION_PROVIDERS:
        return 1 | split
    if provider_type in JSON_INSTRUCTION_SYSTEM_ONLY:
        return 2 | split
    if provider_type == "anthropic":
        return 3 | split
    return split


def make_prompt(
    system: str | None,
    body_tokens: int,
    body_roles: tuple[str, ...],
    *,
    json_on: bool,
    json_hint: bool,
    split_roles: tuple[str, ...] | None = None,
    split_tokens: int = 0,
) -> Prompt:
    """The prompt of a system text (or none) and messages already counted;
    ``split_roles`` are the message roles with tool results as ``tool``
    messages, which adds ``split_tokens``."""
    prompt = _make_prompt(
        system, body_tokens, body_roles, json_on=json_on, json_hint=json_hint
    )
    if split_roles is None:
        return prompt
    split = _make_prompt(
        system, body_tokens, split_roles, json_on=json_on, json_hint=json_hint
    )
    return prompt._replace(
        split_roles=split.roles,
        split_json_roles=split.json_roles,
        split_tokens=split_tokens,
    )


def _make_prompt(
    system: str | None,
    body_tokens: int,
    body_roles: tuple[str, ...],
    *,
    json_on: bool,
    json_hint: bool,
) -> Prompt:
    roles = ",".join(body_roles)
    tokens = REQUEST_TOKENS + body_tokens
    if system is not None:
        tokens += MESSAGE_TOKENS + text_tokens(system)
        roles = "system," + roles if roles else "system"
    if not json_on:
        return Prompt(tokens, roles, tokens, roles)
    if system is None:
        with_json = tokens + MESSAGE_TOKENS + text_tokens(JSON_INSTRUCTION)
        json_roles = "system," + roles if roles else "system"
        # the no-system case is told apart by the roles
        return Prompt(tokens, roles, with_json, json_roles, True)
    if json_hint or "json" in system.lower():
        return Prompt(tokens, roles, tokens, roles, True)
    prefixed = f"{JSON_INSTRUCTION}\n\n{system}"
    with_json = tokens - text_tokens(system) + text_tokens(prefixed)
    return Prompt(tokens, roles, with_json, roles, True)


def for_provider(prompt: Prompt, rule: int) -> tuple[int, str]:
    """(tokens, roles) of ``prompt`` sent through a provider of this rule."""
    split = bool(rule & SPLITS_TOOL_RESULTS) and prompt.split_roles is not None
    rule &= 3
    if rule == 0 or (rule == 2 and prompt.json_roles != prompt.roles):
        if split:
            assert prompt.split_roles is not None
            return prompt.tokens + prompt.split_tokens, prompt.split_roles
        return prompt.tokens, prompt.roles
    if rule == 3:
        if not prompt.json_on:
            return prompt.tokens, prompt.roles
        prefill = MESSAGE_TOKENS + (_ANTHROPIC_PREFILL_CHARS + 3) // 4
        return prompt.tokens + prefill, prompt.roles + ",assistant"
    if split:
        assert prompt.split_json_roles is not None
        return prompt.json_tokens + prompt.split_tokens, prompt.split_json_roles
    return prompt.json_tokens, prompt.json_roles


class Rendered(NamedTuple):
    """An input rendered with one variant's templates."""

    #: the system prompt's text, ``None`` when no system message is sent
    system: str | None
    #: tokens of the messages after the system prompt
    body_tokens: int
    body_roles: tuple[str, ...]
    #: some message text mentions "json" (any case)
    json_hint: bool
    #: ``body_roles`` with tool results as ``tool`` messages (``None``: no
    #: message carries one) and what that adds to ``body_tokens``
    split_roles: tuple[str, ...] | None = None
    split_tokens: int = 0


class PromptCounter:
    """Counts the prompt tokens of an input rendered with one variant's
    templates (or none)."""

    __slots__ = ("_env", "_names", "json_on", "_rendered", "_prompts")

    def __init__(self, inner: ChatCompletionConfig | None) -> None:
        templates = {} if inner is None else dict(inner.templates)
        self._names = frozenset(templates)
        self._env = (
            Environment(templates={n: t.source for n, t in templates.items()})
            if templates
            else None
        )
        self.json_on = inner is not None and inner.json_mode == "on"
        #: results for plain inputs, keyed by :func:`plain_key` (agents
        #: resend the same prompts; a key is rebuilt from the input on every
        #: call, so an input changed in place is counted afresh)
        self._rendered: dict[PlainKey, Rendered] = {}
        self._prompts: dict[PlainKey, Prompt] = {}

    def _render_text(self, name: str, context: Mapping[str, Any]) -> str:
        assert self._env is not None
        try:
            return str(self._env.render_template(name, **context))
        except Exception as exc:  # minijinja raises its own error types
            raise RequestError(
                400, f"Error rendering template `{name}`: {exc}"
            ) from None

    def _render(self, name: str, context: Mapping[str, Any]) -> int:
        return text_tokens(self._render_text(name, context))

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

    def _system(self, system: Any) -> str | None:
        names = self._names
        if system is not None:
            if isinstance(system, str) and "system" not in names:
                return system
            if isinstance(system, str):
                return self._render_text("system", {"system_text": system})
            if "system" in names and isinstance(system, Mapping):
                return self._render_text("system", system)
            raise RequestError(
                400,
                "Message has non-string content but there is no template for "
                "role system.",
            )
        if "system" in names:
            # the gateway renders a legacy system template with a null text
            return self._render_text("system", {"system_text": None})
        return None

    def render(self, inp: Mapping[str, Any], key: PlainKey | None = None) -> Rendered:
        """The rendered system prompt and the counted messages; ``key`` is
        ``plain_key(inp)`` when the caller has it."""
        if key is None:
            key = plain_key(inp)
        if key is None:
            return self._render_input(inp)
        found = self._rendered.get(key)
        if found is None:
            found = self._render_input(inp)
            _remember(self._rendered, key, found)
        return found

    def _render_input(self, inp: Mapping[str, Any]) -> Rendered:
        if not isinstance(inp, Mapping):
            raise RequestError(400, "`input` must be an object with `messages`")
        system = self._system(inp.get("system"))
        total = 0
        roles: list[str] = []
        hint = False
        names = self._names
        # message index -> its roles once tool results go as tool messages
        splits: dict[int, tuple[str, ...]] = {}
        for message in inp.get("messages") or ():
            if type(message) is dict:
                content = message.get("content")
                role = message.get("role")
                if type(content) is str and role in _ROLES and role not in names:
                    total += MESSAGE_TOKENS + text_tokens(content)
                    roles.append(role)
                    if not hint and "json" in content.lower():
                        hint = True
                    continue
            role = _field(message, "role")
            if role not in _ROLES:
                raise RequestError(
                    400, f"unknown variant `{role}`, expected `user` or `assistant`"
                )
            roles.append(role)
            content = _field(message, "content")
            total += MESSAGE_TOKENS
            if isinstance(content, str):
                total += self._text(role, content)
            elif isinstance(content, list):
                for block in content:
                    total += self._block(role, block)
                if role == "user":
                    kinds = [_field(b, "type", "text") for b in content]
                    results = kinds.count("tool_result")
                    if results:
                        rest = any(k not in ("tool_result", "thought") for k in kinds)
                        splits[len(roles) - 1] = ("tool",) * results + (
                            ("user",) if rest else ()
                        )
            else:
                total += self._arguments(role, content)
            if not hint and "json" in repr(content).lower():
                hint = True
        if not splits:
            return Rendered(system, total, tuple(roles), hint)
        split_roles: list[str] = []
        for i, role in enumerate(roles):
            split_roles.extend(splits.get(i, (role,)))
        extra = (len(split_roles) - len(roles)) * MESSAGE_TOKENS
        return Rendered(system, total, tuple(roles), hint, tuple(split_roles), extra)

    def prompt(self, inp: Mapping[str, Any], key: PlainKey | None = None) -> Prompt:
        """The prompt of a chat-completion request for ``inp``; ``key`` is
        ``plain_key(inp)`` when the caller has it."""
        if key is None:
            key = plain_key(inp)
        found = None if key is None else self._prompts.get(key)
        if found is None:
            found = self._make(inp)
            if key is not None:
                _remember(self._prompts, key, found)
        return found

    def _make(self, inp: Mapping[str, Any]) -> Prompt:
        r = self.render(inp)
        return make_prompt(
            r.system,
            r.body_tokens,
            r.body_roles,
            json_on=self.json_on,
            json_hint=r.json_hint,
            split_roles=r.split_roles,
            split_tokens=r.split_tokens,
        )

    def count(self, inp: Mapping[str, Any]) -> int:
        """Tokens of the rendered conversation, system prompt included."""
        return self.prompt(inp).tokens


#: How many distinct plain inputs a counter remembers.
_REMEMBERED = 4096


def plain_key(inp: Any) -> PlainKey | None:
    """``(system, role, text, role, text, ...)`` for an input of a text
    system prompt (or none) and plain text messages from the user or the
    assistant, whose rendering depends on nothing else; ``None`` for any
    other input."""
    if type(inp) is not dict:
        return None
    system = inp.get("system")
    if system is not None and type(system) is not str:
        return None
    messages = inp.get("messages")
    if messages is None:
        messages = ()
    elif type(messages) is not list:
        return None
    key: list[str | None] = [system]
    for message in messages:
        if type(message) is not dict:
            return None
        role = message.get("role")
        content = message.get("content")
        if (role != "user" and role != "assistant") or type(content) is not str:
            return None
        key.append(role)
        key.append(content)
    return tuple(key)


def _remember(cache: dict[Any, Any], key: Any, value: Any) -> None:
    if len(cache) >= _REMEMBERED:
        cache.clear()
    cache[key] = value


#: Characters of the gateway's fixed best-of-N and mixture-of-N texts
#: (``t0:best_of_n_evaluator_system``, ``..._candidates`` and the fuser's),
#: measured on tensorzero 2026.6.0: the texts are sized, not reproduced.
#: Index 0: the input has no system prompt; 1: it has one, and the text
#: quotes it between two ``------`` rows (its length is added).
_EVALUATOR_SYSTEM_CHARS = (775, 802)
_FUSER_SYSTEM_CHARS = (742, 757)
#: ``Here are the candidate answers (...):`` and its newline
_LIST_HEADER_CHARS = 80
#: the evaluator list's closing request
_EVALUATOR_LIST_CLOSING_CHARS = 71
#: ``\n------\n`` after each evaluator candidate
_SEPARATOR_CHARS = 8
_JSON_PREFIX_CHARS = len(JSON_INSTRUCTION) + 2


def _chars_tokens(chars: int) -> int:
    return (chars + 3) // 4


@functools.lru_cache(maxsize=4096)
def candidate_text(output_text: str) -> str:
    """A chat candidate as the list shows it: its content blocks as JSON
    (memoized: simulated answers of one model and length are equal)."""
    return json.dumps(
        [{"type": "text", "text": output_text}],
        separators=(",", ":"),
        ensure_ascii=False,
    )


@functools.lru_cache(maxsize=4096)
def judge_prompt(
    rendered: Rendered, answers: tuple[str, ...], fuser: bool, json_on: bool
) -> Prompt:
    """The evaluator's or fuser's request: a system prompt that wraps the
    input's (which it replaces), the input's messages, and one user message
    listing ``answers`` (each candidate's serialized output, in order).
    Memoized: an agent's repeated prompts get the same simulated answers."""
    problem = rendered.system
    has = problem is not None
    chars = (_FUSER_SYSTEM_CHARS if fuser else _EVALUATOR_SYSTEM_CHARS)[has]
    chars += len(problem or "")
    if not fuser:
        chars += len(str(len(answers) - 1))
    if fuser:
        listing = _LIST_HEADER_CHARS + len(
            "\n".join(f"{i}:\n{a}\n------" for i, a in enumerate(answers))
        )
    else:
        listing = _LIST_HEADER_CHARS + _EVALUATOR_LIST_CLOSING_CHARS
        listing += sum(
            len(f"{i}: ") + len(a) + _SEPARATOR_CHARS for i, a in enumerate(answers)
        )
    system_tokens = _chars_tokens(chars)
    tokens = (
        REQUEST_TOKENS
        + MESSAGE_TOKENS
        + system_tokens
        + rendered.body_tokens
        + MESSAGE_TOKENS
        + _chars_tokens(listing)
    )
    roles = ",".join(("system", *rendered.body_roles, "user"))
    # The evaluator's instructions ask for JSON, so only a fuser's prompt
    # can get the JSON instruction.
    if (
        json_on
        and fuser
        and not rendered.json_hint
        and "json" not in (problem or "").lower()
        and not any("json" in a.lower() for a in answers)
    ):
        with_json = tokens - system_tokens + _chars_tokens(chars + _JSON_PREFIX_CHARS)
        prompt = Prompt(tokens, roles, with_json, roles, True)
    else:
        prompt = Prompt(tokens, roles, tokens, roles, json_on)
    if rendered.split_roles is None:
        return prompt
    split = ",".join(("system", *rendered.split_roles, "user"))
    return prompt._replace(
        split_roles=split, split_json_roles=split, split_tokens=rendered.split_tokens
    )


def serialized_input_tokens(inp: Mapping[str, Any]) -> int:
    """Tokens of the input as the DICL variant serializes it (compact JSON
    of the stored input: what the embedding call and the examples carry)."""
    messages = inp.get("messages") if isinstance(inp, Mapping) else None
    if isinstance(messages, list):
        inp = {**inp, "messages": [_stored_message(m) for m in messages]}
    try:
        text = json.dumps(inp, separators=(",", ":"), default=_default)
    except TypeError as exc:
        raise RequestError(400, f"input is not serializable: {exc}") from None
    return text_tokens(text)


def _stored_message(message: Any) -> Any:
    # The tensorzero clients send string content as one text block and object
    # content as the role's template block, and the gateway stores it so:
    # an agent's ``"hi"`` and ``[{"type": "text", "text": "hi"}]`` embed alike.
    if not isinstance(message, Mapping):
        return message
    content = message.get("content")
    role = message.get("role")
    if isinstance(content, str):
        content = [{"type": "text", "text": content}]
    elif isinstance(content, Mapping):
        content = [{"type": "template", "name": role, "arguments": content}]
    elif isinstance(content, list):
        content = [_stored_block(block, role) for block in content]
    else:
        return message
    return {**message, "content": content}


def _stored_block(block: Any, role: Any) -> Any:
    # The gateway re-serializes every block in its own field order, whether
    # the agent wrote a dict or a ``tensorzero.Text``-style dataclass.
    kind = _field(block, "type")
    if kind == "text":
        text = _field(block, "text")
        if text is not None:
            return {"type": "text", "text": text}
        return {
            "type": "template",
            "name": role,
            "arguments": _field(block, "arguments"),
        }
    if kind == "template":
        return {
            "type": "template",
            "name": _field(block, "name"),
            "arguments": _field(block, "arguments"),
        }
    if kind == "raw_text":
        return {"type": "raw_text", "value": _field(block, "value")}
    if isinstance(block, Mapping) or kind is None:
        return block
    fields = getattr(block, "__dict__", {})
    return {
        "type": kind,
        **{k: v for k, v in fields.items() if k != "type" and v is not None},
    }


def _default(value: Any) -> Any:
    fields = getattr(value, "__dict__", None)
    if fields is None:
        raise TypeError(f"cannot serialize {type(value).__name__}")
    return fields
