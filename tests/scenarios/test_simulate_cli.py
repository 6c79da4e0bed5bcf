from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_runguard.cli import main

CHESS = "examples/chess-puzzles/config/tensorzero.toml"
BATCH = "pytest_runguard.example_agents.batch:solve_batch"


def simulate(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["simulate", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_chess_config_with_a_shipped_agent(
    corpus_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = simulate(
        capsys, str(corpus_dir / CHESS), "--agent", BATCH, "--runs", "20", "--json"
    )
    assert code == 0
    report = json.loads(out)
    (arm,) = report["scenarios"][0]["arms"]
    # baseline is one call; best_of_5 and mixture_of_5 are 5 candidates plus
    # an evaluator or fuser each.
    assert arm["calls_per_inference_by_variant"] == {
        "baseline": 1.0,
        "best_of_5": 6.0,
        "mixture_of_5": 6.0,
    }
    assert arm["inferences"] == 20 * 8 * 2
    assert arm["calls_per_inference"] == arm["provider_calls"] / arm["inferences"]
    assert 1.0 < arm["calls_per_inference"] < 6.0
    assert set(arm["billed_usd_by"]["role"]) == {
        "generation",
        "candidate",
        "evaluator",
        "fuser",
    }


def test_chess_table_names_the_cost_drivers(
    corpus_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = simulate(
        capsys, str(corpus_dir / CHESS), "--agent", BATCH, "--runs", "5"
    )
    assert code == 0
    assert "calls/inference" in out
    assert "top variants" in out
    assert "best_of_5 6.00" in out and "baseline 1.00" in out
    assert "openai::gpt-4o-mini 100%" in out


def test_one_library_scenario_by_name(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = simulate(
        capsys, "best_of_n", "--runs", "30", "--json", "--seed", "3"
    )
    assert code == 0
    (scenario,) = json.loads(out)["scenarios"]
    unguarded, guarded = scenario["arms"]
    assert (unguarded["label"], guarded["label"]) == ("unguarded", "guarded")
    assert unguarded["breach_rate"] == 1.0
    assert guarded["breaches"] == 0
    assert unguarded["calls_per_inference_by_variant"] == {"best_of_5": 6.0}
    assert scenario["as_expected"] is True


def test_same_seed_same_report(capsys: pytest.CaptureFixture[str]) -> None:
    first = json.loads(simulate(capsys, "unpriced_model", "--runs", "25", "--json")[1])
    second = json.loads(simulate(capsys, "unpriced_model", "--runs", "25", "--json")[1])
    first.pop("elapsed_s")
    second.pop("elapsed_s")
    assert first == second


def test_a_scenario_that_cannot_run_is_reported_not_fatal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shipped = Path(__file__).resolve().parents[2] / "scenarios" / "best_of_n"
    (tmp_path / "world.toml").write_text("weather = 'stormy'\n")
    for kind in ("unguarded", "guarded"):
        text = (shipped / f"best_of_n.{kind}.toml").read_text()
        text = text.replace(
            'config = "tensorzero.toml"', f'config = "{shipped}/tensorzero.toml"'
        )
        (tmp_path / f"{kind}.toml").write_text(text)
    (tmp_path / "library.toml").write_text(
        '[[scenario]]\nname = "stormy"\npattern = "a world we cannot load"\n'
        'unguarded = "unguarded.toml"\nguarded = "guarded.toml"\n'
    )
    code, out, _ = simulate(capsys, str(tmp_path), "best_of_n", "--runs", "5")
    assert code == 0
    assert "unguarded not run:" in out and "weather" in out
    assert "best_of_n: best-of-N hidden multiplier" in out


def test_plot_writes_a_png(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib")
    target = tmp_path / "spend.png"
    code, out, _ = simulate(
        capsys, "feedback_cycle", "--runs", "20", "--plot", str(target)
    )
    assert code == 0
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"histogram: {target}" in out.replace("\n", "")


def test_plot_without_matplotlib_says_how_to_get_it(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    code, out, err = simulate(capsys, "best_of_n", "--plot", str(tmp_path / "x.png"))
    assert code == 2
    assert "pytest-runguard[plot]" in err
    assert out == ""
    assert not (tmp_path / "x.png").exists()


def test_config_without_agent_is_a_usage_error(
    corpus_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = simulate(capsys, str(corpus_dir / CHESS))
    assert code == 2
    assert err.startswith("runguard: ") and "--agent" in err


def test_unknown_scenario_name_lists_the_library(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = simulate(capsys, "best_of_twelve")
    assert code == 2
    assert "best_of_n" in err and "unreported_billing" in err


def test_agent_from_a_file_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    agent = tmp_path / "my_agent.py"
    agent.write_text(
        "MESSAGES = [{'role': 'user', 'content': 'hi'}]\n"
        "def run(client):\n"
        "    for _ in range(3):\n"
        "        client.inference(function_name='research_step',\n"
        "                         input={'messages': MESSAGES})\n"
    )
    config = Path(__file__).resolve().parents[2] / "scenarios/best_of_n/tensorzero.toml"
    code, out, _ = simulate(
        capsys, str(config), "--agent", f"{agent}:run", "--runs", "4", "--json",
        "--ceiling", "max_billed_usd=0.001",
    )  # fmt: skip
    # Every run breaches the ceiling, so the command fails, as a test would.
    assert code == 1
    (scenario,) = json.loads(out)["scenarios"]
    (arm,) = scenario["arms"]
    assert arm["inferences"] == 12
    assert arm["breach_rate"] == 1.0
    assert scenario["problems"] == "agent breached in 4 runs"


def test_a_config_sweep_within_its_ceiling_passes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = Path(__file__).resolve().parents[2] / "scenarios/best_of_n/tensorzero.toml"
    agent = "pytest_runguard.example_agents.research:research_loop"
    code, out, _ = simulate(
        capsys, str(config), "--agent", agent, "--runs", "3",
        "--agent-kwargs", '{"queries": 1}', "--ceiling", "max_billed_usd=5",
    )  # fmt: skip
    assert code == 0
    assert "NOT AS EXPECTED" not in out


def test_agent_module_in_the_working_directory(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # `runguard` is a console script: unlike `python -m`, it does not put the
    # directory it runs from on sys.path.
    (tmp_path / "cwd_agent_mod.py").write_text(
        "MESSAGES = [{'role': 'user', 'content': 'hi'}]\n"
        "def run(client):\n"
        "    client.inference(function_name='research_step',\n"
        "                     input={'messages': MESSAGES})\n"
    )
    config = Path(__file__).resolve().parents[2] / "scenarios/best_of_n/tensorzero.toml"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", ".")])
    code, out, _ = simulate(
        capsys, str(config), "--agent", "cwd_agent_mod:run", "--runs", "3", "--json"
    )
    assert code == 0
    (arm,) = json.loads(out)["scenarios"][0]["arms"]
    assert arm["inferences"] == 3


def test_nothing_swept_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = Path(__file__).resolve().parents[2] / "scenarios/best_of_n/tensorzero.toml"
    code, _, err = simulate(
        capsys, str(config), "--agent", "no_such_agent_module:run", "--runs", "3"
    )
    assert code == 2
    assert err.startswith("runguard: best_of_n (agent): agent: cannot import")
    assert "no_such_agent_module" in err


@pytest.mark.parametrize("target", ["config/tensorzero.toml", "config/*.toml"])
def test_a_config_sweep_is_named_after_its_project(
    target: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    shipped = Path(__file__).resolve().parents[2] / "scenarios/best_of_n"
    project = tmp_path / "support-bot"
    (project / "config").mkdir(parents=True)
    (project / "config/tensorzero.toml").write_text(
        (shipped / "tensorzero.toml").read_text()
    )
    monkeypatch.chdir(project)
    agent = "pytest_runguard.example_agents.research:research_loop"
    code, out, _ = simulate(
        capsys, target, "--agent", agent, "--runs", "1",
        "--agent-kwargs", '{"queries": 1}', "--json",
    )  # fmt: skip
    assert code == 0
    (scenario,) = json.loads(out)["scenarios"]
    assert scenario["name"] == "support-bot"


def test_config_warnings_print_as_one_runguard_line(tmp_path: Path) -> None:
    config = tmp_path / "tensorzero.toml"
    config.write_text(
        '[functions.ask]\ntype = "chat"\n'
        '[functions.ask.variants.only]\ntype = "chat_completion"\n'
        'model = "openai::gpt-4o-mini"\nweight = 1\n'
    )
    agent = tmp_path / "ask_agent.py"
    agent.write_text(
        "MESSAGES = [{'role': 'user', 'content': 'hi'}]\n"
        "def run(client):\n"
        "    client.inference(function_name='ask', input={'messages': MESSAGES})\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "pytest_runguard.cli", "simulate", str(config),
         "--agent", f"{agent}:run", "--runs", "2", "--json"],
        capture_output=True, text=True, cwd=tmp_path, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert any(
        line.startswith("warning: runguard: ")
        and "functions.ask.variants.only.weight" in line
        for line in lines
    ), done.stderr
    assert "ConfigWarning" not in done.stderr
    assert "load_config(" not in done.stderr
