"""``runguard simulate --plot``: a histogram of billed spend per run.

matplotlib is an optional extra (``pip install 'pytest-runguard[plot]'``);
without it the command says so before any run starts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from simulator.errors import UsageError

from .report import ScenarioReport

MISSING = (
    "--plot needs matplotlib, which is an optional extra; install it with "
    "pip install 'pytest-runguard[plot]' (or pip install matplotlib), or drop --plot"
)


def require_matplotlib() -> None:
    """Fail before the sweeps, not after them, when matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise UsageError(MISSING) from None


def write_histogram(reports: Sequence[ScenarioReport], path: Path) -> Path:
    """One panel per scenario: spend per run, each arm overlaid, the USD
    ceiling as a line.  Returns the path written."""
    require_matplotlib()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [r for r in reports if any(a.ran for a in r.arms)]
    if not shown:
        raise UsageError("--plot: no scenario ran, so there is nothing to plot")
    columns = min(3, len(shown))
    rows = math.ceil(len(shown) / columns)
    figure, axes = plt.subplots(
        rows, columns, figsize=(5.2 * columns, 3.6 * rows), squeeze=False
    )
    for panel, report in zip(axes.flat, shown, strict=False):
        _panel(panel, report)
    for panel in list(axes.flat)[len(shown) :]:
        panel.set_visible(False)
    figure.suptitle("billed spend per run (USD)")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def _panel(panel: Any, report: ScenarioReport) -> None:
    series = []
    for arm in report.arms:
        if arm.ran:
            # Floats only for drawing; every reported figure stays exact.
            values = [n / 1e9 for n in arm.result.billed_nanousd]
            series.append((arm.label, values))
    top = max((max(v) for _, v in series if v), default=0.0)
    ceiling = report.ceilings.get("max_billed_usd")
    if isinstance(ceiling, Decimal):
        top = max(top, float(ceiling))
    bins = [top * i / 40 for i in range(41)] if top > 0 else 10
    for label, values in series:
        panel.hist(values, bins=bins, alpha=0.6, label=label)
    if isinstance(ceiling, Decimal):
        panel.axvline(float(ceiling), color="black", linestyle="--", label="ceiling")
    panel.set_title(report.name, fontsize=10)
    panel.set_xlabel("USD per run")
    panel.set_ylabel("runs")
    panel.legend(fontsize=8)
