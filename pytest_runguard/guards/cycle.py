"""A feedback-cycle guard: stop a generate → score → retry loop in time.

The commonly published loop retries "until the score reaches the
threshold", sometimes with an attempt cap.  When the model cannot reach the
threshold it spends the whole cap, and the caller gets the *last* attempt,
which is not the best one.  This guard stops on whichever comes first:
``max_attempts``, ``max_elapsed_s`` of (virtual) time, or a plateau of
``plateau_attempts`` attempts that did not beat the best score by more than
``min_improvement``, and keeps the best attempt for the caller.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from simulator.errors import UsageError


@dataclass(frozen=True)
class Attempt:
    number: int
    response: Any
    score: float
    #: seconds since the cycle started
    at_s: float


class FeedbackCycleGuard:
    """Decide, before each attempt, whether another attempt is allowed.

    Use ``while cycle.proceed(): ...; cycle.record(response, score)`` and
    read ``cycle.best`` afterwards; ``stop_reason`` says which limit ended
    the loop.  ``clock`` defaults to ``time.monotonic`` looked up on every
    call, so a patched (simulated) clock is honoured.
    """

    def __init__(
        self,
        *,
        max_attempts: int,
        max_elapsed_s: float | None = None,
        plateau_attempts: int | None = None,
        min_improvement: float = 0.0,
        target: float | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        if max_attempts < 1:
            raise UsageError("FeedbackCycleGuard: max_attempts must be at least 1")
        if plateau_attempts is not None and plateau_attempts < 1:
            raise UsageError("FeedbackCycleGuard: plateau_attempts must be at least 1")
        self.max_attempts = max_attempts
        self.max_elapsed_s = max_elapsed_s
        self.plateau_attempts = plateau_attempts
        self.min_improvement = min_improvement
        self.target = target
        self._clock = clock
        self._started: float | None = None
        self.attempts: list[Attempt] = []
        self.best: Attempt | None = None
        self._since_best = 0
        self.stop_reason: str | None = None

    def _now(self) -> float:
        return self._clock() if self._clock is not None else time.monotonic()

    def elapsed_s(self) -> float:
        return 0.0 if self._started is None else self._now() - self._started

    def proceed(self) -> bool:
        """``True`` when one more attempt is allowed."""
        if self._started is None:
            self._started = self._now()
        if self.stop_reason is not None:
            return False
        if len(self.attempts) >= self.max_attempts:
            self.stop_reason = f"max_attempts={self.max_attempts}"
        elif self.max_elapsed_s is not None and self.elapsed_s() >= self.max_elapsed_s:
            self.stop_reason = f"max_elapsed_s={self.max_elapsed_s}"
        elif (
            self.plateau_attempts is not None
            and self._since_best >= self.plateau_attempts
        ):
            self.stop_reason = (
                f"plateau: {self.plateau_attempts} attempts without beating "
                f"{self.best.score if self.best else 0:.3f}"
            )
        elif (
            self.target is not None
            and self.best is not None
            and self.best.score >= self.target
        ):
            self.stop_reason = f"target={self.target} reached"
        return self.stop_reason is None

    def record(self, response: Any, score: float) -> Attempt:
        """Record one attempt's response and score."""
        if self._started is None:
            self._started = self._now()
        attempt = Attempt(len(self.attempts) + 1, response, score, self.elapsed_s())
        self.attempts.append(attempt)
        if self.best is None or score > self.best.score + self.min_improvement:
            self.best = attempt
            self._since_best = 0
        else:
            self._since_best += 1
        return attempt
