"""``runguard serve`` from the command line, in a subprocess."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import tensorzero
import tomli_w
from served_config import INPUT, WORLD

from simulator import Simulation


def test_serve_health_one_inference_and_stop(config_file: Path) -> None:
    world = config_file.parent / "world.toml"
    world.write_text(tomli_w.dumps(WORLD))
    ledger = config_file.parent / "calls.jsonl"
    command = [
        sys.executable,
        "-m",
        "pytest_runguard.cli",
        "serve",
        "--config",
        str(config_file),
        "--world",
        str(world),
        "--seed",
        "5",
        "--port",
        "0",
        "--ledger",
        str(ledger),
    ]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None and process.stderr is not None
        first = process.stdout.readline()
        assert first.startswith("runguard serve: gateway on http://127.0.0.1:"), (
            first + (process.stderr.read() if process.poll() is not None else "")
        )
        url = first.split(" on ")[1].split()[0]
        assert process.stdout.readline().strip() == (
            f"runguard serve: OpenAI base_url {url}/openai/v1"
        )
        with urllib.request.urlopen(f"{url}/health") as health:
            assert json.loads(health.read())["gateway"] == "ok"
        client: Any = tensorzero.TensorZeroGateway.build_http(gateway_url=url)
        served = client.inference(function_name="chat", input=INPUT)
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    local = Simulation.from_config(str(config_file), world=WORLD, seed=5)
    assert served == local.client().inference(function_name="chat", input=INPUT)
    digest = local.ledger.digest()
    assert f"1 inferences, 1 provider calls, billed ${local.ledger.billed_usd}" in out
    assert f"digest {digest}" in out
    rows = [json.loads(line) for line in ledger.read_text().splitlines()]
    assert len(rows) == 1 and rows[0]["variant"] == served.variant_name


def test_bad_port_is_a_usage_error(config_file: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest_runguard.cli",
            "serve",
            "--config",
            str(config_file),
            "--port",
            "70000",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "runguard: port 70000 is not a TCP port" in done.stderr
