"""A DICL code reviewer: one pull request, files reviewed as their diffs grow."""

from __future__ import annotations

from typing import Any

from .research import answer_text


def synthetic_diff(file_index: int, lines: int) -> str:
    """A unified diff of ``lines`` changed lines (stand-in for a real one)."""
    body = "\n".join(
        f"+    total_{n} = compute_{file_index}(items[{n}], rate={n % 7})"
        for n in range(lines)
    )
    header = f"--- a/src/module_{file_index}.py\n+++ b/src/module_{file_index}.py"
    return f"{header}\n@@ -1,0 +1,{lines} @@\n{body}"


def review_pull_request(
    client: Any,
    *,
    files: int = 6,
    base_lines: int = 30,
    growth_lines: int = 30,
    function_name: str = "review_diff",
) -> list[str]:
    """Review ``files`` diffs in one episode, each ``growth_lines`` longer.

    Later files in a refactoring touch more lines, so the input grows; with a
    DICL variant every call also carries ``k`` retrieved example reviews.
    """
    episode_id = None
    comments: list[str] = []
    for index in range(files):
        diff = synthetic_diff(index, base_lines + index * growth_lines)
        response = client.inference(
            function_name=function_name,
            input={"messages": [{"role": "user", "content": f"Review:\n{diff}"}]},
            episode_id=episode_id,
        )
        episode_id = response.episode_id
        comments.append(answer_text(response))
    return comments
