"""Agents the plugin's tests run (importable as ``plugin_agents``)."""

from __future__ import annotations

from typing import Any

MESSAGE = {"messages": [{"role": "user", "content": "Draft a reply to the ticket."}]}


def draft_loop(client: Any, *, calls: int = 20, function: str = "draft") -> int:
    """``calls`` independent drafts: each call is its own episode."""
    for _ in range(calls):
        client.inference(function_name=function, input=MESSAGE)
    return calls


async def async_draft_loop(client: Any, *, calls: int = 20) -> int:
    for _ in range(calls):
        await client.inference(function_name="draft", input=MESSAGE)
    return calls


def episode_loop(client: Any, *, calls: int = 5, feedback: bool = False) -> None:
    """One episode of ``calls`` drafts, each rated when ``feedback``."""
    episode_id = None
    for _ in range(calls):
        response = client.inference(
            function_name="draft", input=MESSAGE, episode_id=episode_id
        )
        episode_id = response.episode_id
        if feedback:
            client.feedback(
                metric_name="helpful", inference_id=response.inference_id, value=True
            )


def scored_loop(client: Any, *, calls: int = 5, sim: Any) -> float:
    """Uses ``sim``: the plugin passes it to agents that ask for it."""
    good = 0
    for _ in range(calls):
        response = client.inference(function_name="draft", input=MESSAGE)
        good += bool(sim.score(response, "helpful"))
    return good / calls


def failing_agent(client: Any) -> None:
    client.inference(function_name="draft", input=MESSAGE)
    raise RuntimeError("the agent gave up")
