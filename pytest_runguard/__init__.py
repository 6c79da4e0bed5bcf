"""pytest-runguard: spend ceilings for agents on the TensorZero gateway."""

from __future__ import annotations

__version__ = "0.1.0"
