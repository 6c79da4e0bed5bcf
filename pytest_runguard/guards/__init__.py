"""Budget guards for agents on the TensorZero gateway, usable in production.

Importing this package needs neither pytest nor the simulator engine: the
guards read the same ``tensorzero.toml`` as the gateway, through the same
loader, catalog and call analysis the simulator uses, so a limit is typed
once.  Every refusal is a :class:`BudgetExceeded`.

* :class:`SpendGuard` reserves each inference's worst case (best-of-N,
  mixture-of-N, DICL, retries × routing × fallback) before the call and
  settles from ``response.usage`` after it.
* :class:`VariantSkewDetector` counts one draw per episode from
  ``response.variant_name``.
* :class:`DiclPromptGuard` projects ``base + k × example`` and pins a
  non-DICL fallback when that is over the per-call ceiling.
* :class:`FeedbackCycleGuard` stops a score-and-retry loop on attempts,
  elapsed time or a plateau and keeps the best attempt.
"""

from __future__ import annotations

from .costing import Bound, CostModel
from .cycle import Attempt, FeedbackCycleGuard
from .dicl import DiclPromptGuard
from .errors import BudgetExceeded, PromptTooLarge, UnpricedCall, VariantSkew
from .skew import Skew, VariantSkewDetector
from .spend import Reservation, SpendGuard

__all__ = [
    "Attempt",
    "Bound",
    "BudgetExceeded",
    "CostModel",
    "DiclPromptGuard",
    "FeedbackCycleGuard",
    "PromptTooLarge",
    "Reservation",
    "Skew",
    "SpendGuard",
    "UnpricedCall",
    "VariantSkew",
    "VariantSkewDetector",
]
