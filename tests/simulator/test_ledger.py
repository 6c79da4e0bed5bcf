from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from uuid import UUID

from simulator.ledger import Ledger

EPISODE = UUID(int=1)
INFERENCE = UUID(int=2)


def filled() -> Ledger:
    ledger = Ledger()
    ledger.append(
        0.0,
        1.0,
        "f",
        "a",
        EPISODE,
        INFERENCE,
        "m",
        "p",
        "generation",
        10,
        5,
        100,
        "ok",
        200,
        True,
    )
    ledger.append(
        1.0,
        2.0,
        "f",
        "b",
        EPISODE,
        INFERENCE,
        "n",
        "p",
        "candidate",
        7,
        0,
        0,
        "server_error",
        500,
        False,
    )
    ledger.append(
        2.0,
        3.0,
        "f",
        "b",
        EPISODE,
        INFERENCE,
        "n",
        "q",
        "candidate",
        7,
        3,
        None,
        "ok",
        200,
        True,
    )
    return ledger


def test_totals_and_group_by() -> None:
    ledger = filled()
    assert ledger.provider_calls == 3
    assert ledger.billed_usd == Decimal("0.0000001")
    assert ledger.unpriced_calls == 1
    by_variant = ledger.group_by("variant")
    assert list(by_variant) == ["a", "b"]
    assert by_variant["b"].provider_calls == 2
    assert by_variant["b"].unpriced_calls == 1
    assert ledger.group_by("episode_id")[str(EPISODE)].input_tokens == 24
    rows = ledger.rows()
    assert rows[2].cost_nanousd is None and not rows[2].priced


def test_jsonl_matches_rows(tmp_path: Path) -> None:
    ledger = filled()
    path = tmp_path / "ledger.jsonl"
    ledger.to_jsonl(path)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["seq"] for line in lines] == [0, 1, 2]
    assert lines[1]["outcome"] == "server_error"


SCRIPT = """
import os, sys
os.environ["RUNGUARD_FAKE_OPENAI_KEY"] = "x"
from simulator import Simulation
sim = Simulation.from_config(sys.argv[1], world={"defaults": {
    "output_tokens": {"dist": "poisson", "lam": 80},
    "latency_s": {"dist": "lognormal", "mu": 0, "sigma": 0.5},
    "failure_rates": {"server_error": 0.2}}}, seed=11)
client = sim.client()
for i in range(200):
    try:
        client.inference(function_name="f", input={"messages": [
            {"role": "user", "content": "question %d" % i}]})
    except Exception:
        pass
print(sim.ledger.digest())
"""

CONFIG = """
[models.m]
routing = ["p1", "p2"]
[models.m.providers.p1]
type = "openai"
model_name = "gpt-4o-mini"
api_key_location = "env::RUNGUARD_FAKE_OPENAI_KEY"
[models.m.providers.p2]
type = "openai"
model_name = "gpt-4o"
api_key_location = "env::RUNGUARD_FAKE_OPENAI_KEY"
[functions.f]
type = "chat"
[functions.f.variants.a]
type = "chat_completion"
model = "m"
retries = { num_retries = 2, max_delay_s = 1 }
[functions.f.variants.bon]
type = "experimental_best_of_n_sampling"
candidates = ["a", "a", "a"]
[functions.f.variants.bon.evaluator]
model = "m"
"""


def test_same_seed_same_digest_in_two_processes(tmp_path: Path) -> None:
    config = tmp_path / "tensorzero.toml"
    config.write_text(CONFIG)
    digests = []
    for hash_seed in ("1", "987654"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        out = subprocess.run(
            [sys.executable, "-c", SCRIPT, str(config)],
            capture_output=True, text=True, env=env, check=True,
        )  # fmt: skip
        digests.append(out.stdout.strip())
    assert len(digests[0]) == 64
    assert digests[0] == digests[1]
