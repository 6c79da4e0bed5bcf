"""A parallel batch of episodes: many puzzles solved at once, a few moves each."""

from __future__ import annotations

import asyncio
from typing import Any

from tensorzero import TensorZeroError

BOARDS = (
    "r . b q k b . r\np p p p . p p p\n. . n . . n . .\n. . . . p . . .",
    ". . . . k . . .\n. . . . . . . .\n. . . . K . . .\n. . . . . . . Q",
    "r . . . k . . r\np p p . . p p p\n. . n b . n . .\n. . . p p . . .",
)
MOVES = ("e4", "Nf3", "Qh5", "Bc4", "O-O", "d4", "Qxf7#", "Kf1")


def puzzle_input(puzzle: int, move: int) -> dict[str, Any]:
    """The input for one move of one puzzle, as template arguments."""
    return {
        "messages": [
            {
                "role": "user",
                "content": [
                    {
                        "type": "template",
                        "name": "user",
                        "arguments": {
                            "board": BOARDS[(puzzle + move) % len(BOARDS)],
                            "color": "white" if move % 2 == 0 else "black",
                            "legal_moves_san": list(MOVES[: 4 + (puzzle % 4)]),
                        },
                    }
                ],
            }
        ]
    }


async def solve_batch(
    client: Any,
    *,
    episodes: int = 8,
    moves_per_episode: int = 2,
    concurrency: int | None = None,
    function_name: str = "play_chess_board",
    metric_name: str | None = "puzzle_success",
) -> int:
    """Play ``episodes`` puzzles concurrently; return how many finished.

    ``concurrency`` caps the puzzles in flight (``None``: all at once, which
    is what ``asyncio.gather`` over a batch does by default).
    """
    gate = asyncio.Semaphore(concurrency or episodes)

    async def play(puzzle: int) -> bool:
        async with gate:
            episode_id = None
            for move in range(moves_per_episode):
                try:
                    response = await client.inference(
                        function_name=function_name,
                        input=puzzle_input(puzzle, move),
                        episode_id=episode_id,
                    )
                except TensorZeroError:
                    # Rate limited or failed after the gateway's retries: the
                    # puzzle is abandoned, the rest of the batch goes on.
                    return False
                episode_id = response.episode_id
            if metric_name is not None and episode_id is not None:
                await client.feedback(
                    metric_name=metric_name, episode_id=episode_id, value=True
                )
            return True

    results = await asyncio.gather(*(play(p) for p in range(episodes)))
    return sum(results)
