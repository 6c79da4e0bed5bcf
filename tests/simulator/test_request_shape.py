"""What each provider request holds (prompt tokens, message count, roles)
where the gateway adds to the input: the JSON instruction of
``json_mode = "on"``, the best-of-N evaluator's and mixture-of-N fuser's
requests.  The texts' sizes were measured on the real gateway (tensorzero
2026.6.0, embedded) in front of a logging OpenAI-style server."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from simhelpers import openai_model

from simulator import Simulation
from simulator.ledger import LedgerRow

TERSE = {
    "system": "You are terse.",
    "messages": [{"role": "user", "content": "What is two plus two?"}],
}
NO_SYSTEM = {"messages": [{"role": "user", "content": "What is two plus two?"}]}

JSON_CONFIG = (
    openai_model("m")
    + """
[models.claude]
routing = ["anthropic"]
[models.claude.providers.anthropic]
type = "anthropic"
model_name = "claude"
api_key_location = "env::RUNGUARD_FAKE_OPENAI_KEY"
[functions.j]
type = "json"
output_schema = "../out.json"
[functions.j.variants.on]
type = "chat_completion"
model = "m"
json_mode = "on"
[functions.j.variants.strict]
type = "chat_completion"
model = "m"
json_mode = "strict"
[functions.j.variants.claude_on]
type = "chat_completion"
model = "claude"
json_mode = "on"
"""
)


def one_call(
    make_sim: Callable[..., Simulation],
    tmp_path: Any,
    variant: str,
    inp: dict[str, Any],
) -> LedgerRow:
    (tmp_path / "out.json").write_text('{"type": "object"}')
    sim = make_sim(JSON_CONFIG)
    sim.client().inference(function_name="j", variant_name=variant, input=inp)
    (row,) = sim.ledger.rows()
    return row


def test_json_mode_on_prefixes_the_system_prompt(
    make_sim: Callable[..., Simulation], tmp_path: Any
) -> None:
    # measured: system = "Respond using JSON.\n\nYou are terse."
    row = one_call(make_sim, tmp_path, "on", TERSE)
    assert (row.input_tokens, row.messages, row.roles) == (26, 2, "system,user")


def test_json_mode_on_without_a_system_prompt_adds_one(
    make_sim: Callable[..., Simulation], tmp_path: Any
) -> None:
    # measured: a system message "Respond using JSON." before the user's
    row = one_call(make_sim, tmp_path, "on", NO_SYSTEM)
    assert (row.input_tokens, row.messages, row.roles) == (22, 2, "system,user")


def test_no_instruction_when_the_prompt_mentions_json(
    make_sim: Callable[..., Simulation], tmp_path: Any
) -> None:
    inp = {"system": "Answer in JSON.", "messages": TERSE["messages"]}
    row = one_call(make_sim, tmp_path, "on", inp)
    assert row.input_tokens == 3 + (4 + 4) + (4 + 6)


def test_strict_mode_and_other_providers_send_the_input_as_is(
    make_sim: Callable[..., Simulation], tmp_path: Any
) -> None:
    assert one_call(make_sim, tmp_path, "strict", TERSE).input_tokens == 21


def test_anthropic_json_mode_on_prefills_the_answer(
    make_sim: Callable[..., Simulation], tmp_path: Any
) -> None:
    # the provider request ends with an assistant message of 29 characters
    row = one_call(make_sim, tmp_path, "claude_on", NO_SYSTEM)
    assert (row.input_tokens, row.roles) == (13 + 4 + 8, "user,assistant")


FAN_OUT = (
    openai_model("m_a")
    + openai_model("m_b")
    + openai_model("m_judge")
    + """
[functions.f]
type = "chat"
[functions.f.variants.a]
type = "chat_completion"
model = "m_a"
[functions.f.variants.b]
type = "chat_completion"
model = "m_b"
[functions.f.variants.bon]
type = "experimental_best_of_n_sampling"
candidates = ["a", "b"]
[functions.f.variants.bon.evaluator]
model = "m_judge"
[functions.f.variants.mon]
type = "experimental_mixture_of_n"
candidates = ["a", "b"]
[functions.f.variants.mon.fuser]
model = "m_judge"
"""
)
TWENTY = {"models": {m: {"output_tokens": 20} for m in ("m_a", "m_b", "m_judge")}}


def judge_row(
    make_sim: Callable[..., Simulation], variant: str, inp: dict[str, Any]
) -> LedgerRow:
    sim = make_sim(FAN_OUT, TWENTY)
    sim.client().inference(function_name="f", variant_name=variant, input=inp)
    rows = sim.ledger.rows()
    # each candidate's request is its variant's plain request
    candidate_roles = "system,user" if "system" in inp else "user"
    assert [r.roles for r in rows[:2]] == [candidate_roles] * 2
    return rows[-1]


def test_evaluator_request(make_sim: Callable[..., Simulation]) -> None:
    # measured: system 817 chars (205 tokens) quoting the input's system,
    # the user message (6), the candidate list 303 chars (76 tokens)
    row = judge_row(make_sim, "bon", TERSE)
    assert (row.role, row.input_tokens) == ("evaluator", 302)
    assert (row.messages, row.roles) == (3, "system,user,user")


def test_evaluator_request_without_an_input_system(
    make_sim: Callable[..., Simulation],
) -> None:
    # measured: the no-system wrapper is 776 chars (194 tokens)
    row = judge_row(make_sim, "bon", NO_SYSTEM)
    assert row.input_tokens == 3 + (4 + 194) + (4 + 6) + (4 + 76)


def test_fuser_request(make_sim: Callable[..., Simulation]) -> None:
    # measured: system 771 chars (193 tokens), list 231 chars (58 tokens)
    row = judge_row(make_sim, "mon", TERSE)
    assert (row.role, row.input_tokens, row.roles) == (
        "fuser",
        272,
        "system,user,user",
    )


def test_roles_are_in_the_rows_the_jsonl_and_the_digest(
    make_sim: Callable[..., Simulation], tmp_path: Any
) -> None:
    sim = make_sim(FAN_OUT, TWENTY)
    sim.client().inference(function_name="f", variant_name="a", input=TERSE)
    path = tmp_path / "ledger.jsonl"
    sim.ledger.to_jsonl(path)
    assert '"messages":2,"roles":"system,user"' in path.read_text()
    before = sim.ledger.digest()
    sim.ledger.roles[0] = "user,user"
    assert sim.ledger.digest() != before


def test_a_fuser_in_json_mode_on_gets_the_instruction(
    make_sim: Callable[..., Simulation],
) -> None:
    # measured: even in a chat function, a fuser with json_mode = "on" is
    # sent "Respond using JSON.\n\n" before its instructions (771 -> 792 chars)
    config = FAN_OUT.replace(
        '[functions.f.variants.mon.fuser]\nmodel = "m_judge"\n',
        '[functions.f.variants.mon.fuser]\nmodel = "m_judge"\njson_mode = "on"\n',
    )
    sim = make_sim(config, TWENTY)
    sim.client().inference(function_name="f", variant_name="mon", input=TERSE)
    assert sim.ledger.rows()[-1].input_tokens == 272 - 193 + 198
