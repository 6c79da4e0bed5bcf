"""Config snippets for the concurrency tests."""

from __future__ import annotations

MESSAGE = {"messages": [{"role": "user", "content": "Score this answer."}]}


def provider(model: str, name: str, extra: str = "") -> str:
    return (
        f'[models.{model}.providers.{name}]\ntype = "openai"\n'
        f'model_name = "{model}-{name}"\n'
        'api_key_location = "env::RUNGUARD_FAKE_OPENAI_KEY"\n' + extra
    )


#: $100 per million prompt tokens: 1,000 prompt tokens cost exactly $0.10
PROMPT_COST = (
    'cost = [{ pointer = "/usage/prompt_tokens", cost_per_million = 100.0, '
    "required = true }]\n"
)

BEST_OF_5 = (
    '[models.m]\nrouting = ["p"]\n'
    + provider("m", "p")
    + '[models.judge]\nrouting = ["p"]\n'
    + provider("judge", "p")
    + """
[functions.answer]
type = "chat"
[functions.answer.experimentation]
type = "static"
candidate_variants = ["bon"]
[functions.answer.variants.c]
type = "chat_completion"
model = "m"
retries = { num_retries = 2, max_delay_s = 10 }
[functions.answer.variants.bon]
type = "experimental_best_of_n_sampling"
candidates = ["c", "c", "c", "c", "c"]
[functions.answer.variants.bon.evaluator]
model = "judge"
"""
)


def cost_rule(with_cost: bool) -> str:
    return (
        '[models.m]\nrouting = ["p"]\n'
        + provider("m", "p", PROMPT_COST if with_cost else "")
        + """
[rate_limiting]
default_cost = 1.0
[[rate_limiting.rules]]
always = true
cost_per_minute = 2.5

[functions.f]
type = "chat"
[functions.f.variants.v]
type = "chat_completion"
model = "m"
"""
    )
