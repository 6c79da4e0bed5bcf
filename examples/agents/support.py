"""A support loop: one episode works through a queue of tickets."""

from __future__ import annotations

from typing import Any

from tensorzero import TensorZeroError

from .research import answer_text

TICKETS = (
    "My invoice shows two charges for March.",
    "The export button does nothing in Firefox.",
    "How do I rotate my API key without downtime?",
    "Our SSO login loops back to the sign-in page.",
    "Can I move my workspace to the EU region?",
    "The mobile app logs me out every hour.",
)


def support_loop(
    client: Any,
    *,
    tickets: int = 6,
    turns_per_ticket: int = 2,
    function_name: str = "answer_ticket",
    metric_name: str | None = "resolved",
    customers: int = 1,
) -> int:
    """Answer ``tickets`` tickets per customer, one episode per customer;
    return how many tickets were closed.

    Each ticket gets ``turns_per_ticket`` replies, the customer's follow-up
    appended each time.  One episode-level feedback ends each episode.
    """
    closed = 0
    for _customer in range(customers):
        closed += _serve_customer(
            client, tickets, turns_per_ticket, function_name, metric_name
        )
    return closed


def _serve_customer(
    client: Any,
    tickets: int,
    turns_per_ticket: int,
    function_name: str,
    metric_name: str | None,
) -> int:
    episode_id = None
    closed = 0
    for index in range(tickets):
        messages: list[dict[str, Any]] = [
            {"role": "user", "content": TICKETS[index % len(TICKETS)]}
        ]
        try:
            for _turn in range(turns_per_ticket):
                response = client.inference(
                    function_name=function_name,
                    input={
                        "system": "You are a support agent. Be brief and specific.",
                        "messages": messages,
                    },
                    episode_id=episode_id,
                )
                episode_id = response.episode_id
                messages.append({"role": "assistant", "content": answer_text(response)})
                messages.append({"role": "user", "content": "That did not fix it."})
        except TensorZeroError:
            # The gateway could not answer: hand the ticket to a human.
            continue
        closed += 1
    if metric_name is not None and episode_id is not None:
        client.feedback(
            metric_name=metric_name, episode_id=episode_id, value=closed == tickets
        )
    return closed
