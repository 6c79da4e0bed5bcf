from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from simulator.errors import RunguardError
from simulator.fakeprovider import ConstantBehaviour, FakeProvider
from simulator.fakeprovider.ledger import JsonlLedger
from simulator.fakeprovider.worldbehaviour import WorldBehaviour
from simulator.ledger import FIELDS


def _post(url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.loads(exc.read())


def _chat(model: str = "m", text: str = "hello world") -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": text}]}


def test_server_disables_nagle_on_its_connections() -> None:
    with FakeProvider(ConstantBehaviour()) as provider:
        url = f"http://127.0.0.1:{provider.port}/health"
        with urllib.request.urlopen(url, timeout=10) as response:
            assert json.loads(response.read()) == {"status": "ok", "tcp_nodelay": True}


def test_outcome_schedule_and_ledger_follow_the_world(tmp_path: Path) -> None:
    world = {
        "defaults": {"latency_s": 0, "output_tokens": 12},
        "models": {"m": {"outcomes": ["ok", 429, "server_error"]}},
        "prices": {"m": {"input_per_million": 1.0, "output_per_million": 2.0}},
    }
    ledger = JsonlLedger(tmp_path / "ledger.jsonl")
    with FakeProvider(WorldBehaviour.from_world(world), sink=ledger) as provider:
        url = provider.base_url + "chat/completions"
        answers = [_post(url, _chat()) for _ in range(4)]
        calls = provider.calls()
    ledger.close()
    assert [status for status, _ in answers] == [200, 429, 500, 200]
    # "hello world" is 3 tokens, +4 for the message, +3 for the request.
    assert answers[0][1]["usage"]["prompt_tokens"] == 10
    assert answers[0][1]["usage"]["completion_tokens"] == 12
    assert [c.outcome for c in calls] == ["ok", "rate_limited", "server_error", "ok"]
    rows = [json.loads(line) for line in ledger.path.read_text().splitlines()]
    assert [tuple(row) for row in rows] == [FIELDS] * 4
    # 10 in at $1/M + 12 out at $2/M = 34 micro-dollars; failed calls unbilled.
    assert [row["cost_nanousd"] for row in rows] == [34_000, 0, 0, 34_000]
    assert [row["billed"] for row in rows] == [True, False, False, True]
    # The message structure the request actually had, as the engine writes it.
    assert [(row["messages"], row["roles"]) for row in rows] == [(1, "user")] * 4


def test_context_window_counts_the_requested_completion() -> None:
    world = {
        "defaults": {"latency_s": 0, "output_tokens": 5},
        "models": {"m": {"context_window": 30}},
    }
    with FakeProvider(WorldBehaviour.from_world(world)) as provider:
        url = provider.base_url + "chat/completions"
        # a 10-token prompt fits alone and with 20 more, not with 21 more
        fits = _post(url, {**_chat(), "max_tokens": 20})
        refused = _post(url, {**_chat(), "max_tokens": 21})
        bare = _post(url, _chat())
    assert (fits[0], refused[0], bare[0]) == (200, 400, 200)
    error = refused[1]["error"]
    assert error["code"] == "context_length_exceeded"
    assert "31 tokens (10 in the messages, 21 in the completion)" in error["message"]


def test_reset_restarts_the_schedules() -> None:
    world = {"defaults": {"latency_s": 0}, "models": {"m": {"outcomes": [500]}}}
    with FakeProvider(WorldBehaviour.from_world(world)) as provider:
        url = provider.base_url + "chat/completions"
        first = _post(url, _chat())[0]
        provider.reset()
        assert provider.calls() == []
        again = _post(url, _chat())[0]
    assert (first, again) == (500, 500)


def test_embeddings_and_anthropic_endpoints() -> None:
    with FakeProvider(WorldBehaviour.from_world({"defaults": {"latency_s": 0}})) as p:
        status, body = _post(p.base_url + "embeddings", {"model": "e", "input": "abcd"})
        assert status == 200
        assert body["usage"]["prompt_tokens"] == 1
        assert len(body["data"]) == 1
        status, body = _post(
            p.base_url + "messages",
            {
                "model": "c",
                "max_tokens": 5,
                "messages": [{"role": "user", "content": "x"}],
            },
        )
        assert status == 200
        assert body["type"] == "message"
        assert [c.api for c in p.calls()] == ["embeddings", "messages"]


def test_bad_json_is_a_400() -> None:
    with FakeProvider(ConstantBehaviour()) as provider:
        request = urllib.request.Request(
            provider.base_url + "chat/completions", data=b"{not json"
        )
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(request, timeout=10)
        info.value.close()
        assert info.value.code == 400


def test_cli_serves_until_interrupted(tmp_path: Path) -> None:
    world = tmp_path / "world.toml"
    world.write_text("[defaults]\nlatency_s = 0\noutput_tokens = 3\n")
    ledger = tmp_path / "calls.jsonl"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pytest_runguard.cli",
            "provider",
            "--world",
            str(world),
            "--ledger",
            str(ledger),
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("runguard provider: serving on http://127.0.0.1:")
        base = line.rsplit(" ", 1)[1].strip()
        status, body = _post(base + "chat/completions", _chat())
        assert status == 200
        assert body["usage"]["completion_tokens"] == 3
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()
    assert json.loads(ledger.read_text().splitlines()[0])["output_tokens"] == 3


def test_cli_rejects_an_unknown_world_key(tmp_path: Path) -> None:
    world = tmp_path / "world.toml"
    world.write_text("[defaultz]\n")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest_runguard.cli",
            "provider",
            "--world",
            str(world),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("runguard: ")
    assert "defaultz" in proc.stderr


def test_a_taken_port_is_a_clear_error() -> None:
    with FakeProvider(ConstantBehaviour()) as first:
        second = FakeProvider(ConstantBehaviour(), port=first.port)
        with pytest.raises(RunguardError, match="could not listen on 127.0.0.1:"):
            second.start()
