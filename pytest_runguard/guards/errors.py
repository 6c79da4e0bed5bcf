"""The ``BudgetExceeded`` family: what a guard raises instead of spending.

A guard raises before the call it refuses, so catching ``BudgetExceeded``
and stopping leaves the budget intact.  These are runtime errors in the
agent's own process, not test failures, so they are not ``AssertionError``.
"""

from __future__ import annotations

from decimal import Decimal

from simulator.errors import RunguardError


class BudgetExceeded(RunguardError):
    """A guard refused a call that could take spend past its budget."""

    def __init__(
        self,
        message: str,
        *,
        reserved_usd: Decimal | None = None,
        remaining_usd: Decimal | None = None,
    ) -> None:
        super().__init__(message)
        self.reserved_usd = reserved_usd
        self.remaining_usd = remaining_usd


class UnpricedCall(BudgetExceeded):
    """The call could reach a model with no known price, so it cannot be
    reserved against a dollar budget."""


class PromptTooLarge(BudgetExceeded):
    """A DICL call's projected prompt is over the per-call ceiling and no
    fallback variant was configured."""


class VariantSkew(BudgetExceeded):
    """Episodes are reaching variants in shares the budget did not plan for."""
