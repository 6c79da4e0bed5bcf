"""Config snippets shared by the simulator tests."""

from __future__ import annotations

MESSAGE = {"messages": [{"role": "user", "content": "Write a haiku about tests."}]}


def openai_model(
    name: str, *, cost: str = "", providers: tuple[str, ...] = ("fake",)
) -> str:
    """A ``[models.<name>]`` block whose providers are openai ones."""
    routing = ", ".join(f'"{p}"' for p in providers)
    text = f"[models.{name}]\nrouting = [{routing}]\n"
    for p in providers:
        text += (
            f'[models.{name}.providers.{p}]\ntype = "openai"\nmodel_name = "{name}"\n'
            'api_key_location = "env::RUNGUARD_FAKE_OPENAI_KEY"\n'
        )
        if cost:
            text += f"cost = {cost}\n"
    return text
