"""A research loop: one episode, N queries, each building on the last answer."""

from __future__ import annotations

from typing import Any

from tensorzero import ChatInferenceResponse, JsonInferenceResponse, TensorZeroError

QUESTIONS = (
    "List the primary sources on {topic}.",
    "Summarise the strongest argument for {topic}.",
    "Summarise the strongest argument against {topic}.",
    "Which claims about {topic} are still disputed?",
    "What would change your mind about {topic}?",
)


def answer_text(response: Any) -> str:
    """The text of a chat or json response, for feeding into the next turn."""
    if isinstance(response, JsonInferenceResponse):
        return response.output.raw or ""
    if isinstance(response, ChatInferenceResponse):
        return "".join(getattr(block, "text", "") or "" for block in response.content)
    return ""


def research_loop(
    client: Any,
    *,
    queries: int = 10,
    topic: str = "four-day work weeks",
    function_name: str = "research_step",
) -> list[str]:
    """Ask ``queries`` questions in one episode and return the answers.

    The first response's ``episode_id`` is reused so every step lands in the
    same episode, as the gateway's variant assignment expects.
    """
    answers: list[str] = []
    episode_id = None
    notes = ""
    for step in range(queries):
        question = QUESTIONS[step % len(QUESTIONS)].format(topic=topic)
        try:
            response = client.inference(
                function_name=function_name,
                input={
                    "system": "You are a careful research assistant. Cite sources.",
                    "messages": [
                        {
                            "role": "user",
                            "content": f"Notes so far:\n{notes}\n\n{question}",
                        }
                    ],
                },
                episode_id=episode_id,
            )
        except TensorZeroError:
            # The gateway gave up on this step (every variant failed); skip
            # the question rather than lose the answers so far.
            continue
        episode_id = response.episode_id
        text = answer_text(response)
        answers.append(text)
        # Only the latest answer is carried forward, so prompts stay bounded.
        notes = text[-2000:]
    return answers
