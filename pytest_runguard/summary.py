"""The ``--runguard-summary`` terminal section: runs, breaches and spend per test.

Each test's figures are computed where the test ran and travel on its call
report as a ``runguard`` user property (a small JSON object), which xdist
already sends to the controller; the controller (or the only process, without
xdist) adds them up.  So the section is the same with and without ``-n``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from simulator.ceilings import format_nanousd

PROPERTY = "runguard"
PERCENTILES = (50, 95, 99)


@dataclass
class RunTally:
    """What one test's simulations did, gathered where the test runs."""

    runs: int = 0
    breaches: int = 0
    billed_nanousd: list[int] = field(default_factory=list)

    def add(self, billed: Iterable[int], breaches: int) -> None:
        values = list(billed)
        self.runs += len(values)
        self.breaches += breaches
        self.billed_nanousd.extend(values)

    def to_property(self, worker: str | None) -> str:
        from pytest_runguard.sweep import percentile_nanousd

        data: dict[str, Any] = {"runs": self.runs, "breaches": self.breaches}
        for q in PERCENTILES:
            data[f"p{q}"] = percentile_nanousd(self.billed_nanousd, q)
        data["worker"] = worker
        return json.dumps(data, separators=(",", ":"))


class Summary:
    """The controller's collection of every test's figures."""

    def __init__(self) -> None:
        self.tests: dict[str, dict[str, Any]] = {}
        self.workers: set[str] = set()

    def add_report(self, nodeid: str, user_properties: Iterable[Any]) -> None:
        for item in user_properties:
            if not (isinstance(item, (tuple, list)) and len(item) == 2):
                continue
            name, value = item
            if name != PROPERTY or not isinstance(value, str):
                continue
            data = json.loads(value)
            self.tests[nodeid] = data
            if data.get("worker"):
                self.workers.add(str(data["worker"]))

    def lines(self) -> list[str]:
        if not self.tests:
            return ["no test used runguard_sim"]
        header = ("test", "runs", "breaches", "p50", "p95", "p99")
        table: list[tuple[str, ...]] = [header]
        for nodeid in sorted(self.tests):
            data = self.tests[nodeid]
            table.append(
                (
                    nodeid,
                    str(data["runs"]),
                    str(data["breaches"]),
                    *(format_nanousd(int(data[f"p{q}"])) for q in PERCENTILES),
                )
            )
        runs = sum(int(d["runs"]) for d in self.tests.values())
        breaches = sum(int(d["breaches"]) for d in self.tests.values())
        table.append(("total", str(runs), str(breaches), "", "", ""))
        widths = [max(len(row[i]) for row in table) for i in range(len(header))]
        out = []
        for row in table:
            cells = [row[0].ljust(widths[0])]
            cells.extend(cell.rjust(widths[i]) for i, cell in enumerate(row) if i)
            out.append("  ".join(cells).rstrip())
        if self.workers:
            names = ", ".join(sorted(self.workers))
            out.append(f"aggregated from {len(self.workers)} xdist workers: {names}")
        return out

    # -- pytest hooks (this object is registered as a plugin) --------------

    def pytest_runtest_logreport(self, report: Any) -> None:
        if report.when == "call" and report.user_properties:
            self.add_report(report.nodeid, report.user_properties)
