from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_runguard.cli import main

CHESS = "examples/chess-puzzles/config/tensorzero.toml"
BEST_OF_N = Path(__file__).parents[1] / "scenarios/best_of_n/tensorzero.toml"


def test_chess_best_and_mixture_of_five_make_six_calls(
    corpus_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", str(corpus_dir / CHESS), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    (function,) = report["functions"]
    calls = {v["name"]: v["calls_typical"] for v in function["variants"]}
    assert calls == {"baseline": 1, "best_of_5": 6, "mixture_of_5": 6}
    assert all(v["priced"] for v in function["variants"])
    # Uniform sampling over three variants: blended = mean of the three.
    expected = [float(v["expected_usd"]) for v in function["variants"]]
    assert float(function["blended_expected_usd"]) == pytest.approx(sum(expected) / 3)


def test_table_output_states_token_sizes(
    corpus_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "check",
            str(corpus_dir / CHESS),
            "--input-tokens",
            "500",
            "--output-tokens",
            "50",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "500 input and 50 output tokens" in out
    assert "best_of_5" in out


def test_refused_config_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "tensorzero.toml"
    bad.write_text(
        '[functions.f]\ntype = "chat"\n'
        '[functions.f.variants.v]\ntype = "chat_completion"\n'
    )
    assert main(["check", str(bad)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"runguard: {bad}: functions.f.variants.v.model: ")


def test_e2e_glob_is_refused_cleanly_like_the_gateway(
    corpus_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    glob = corpus_dir / "crates/tensorzero-core/tests/e2e/config/*.toml"
    assert main(["check", str(glob)]) == 2
    err = capsys.readouterr().err
    assert "gateway.cache.backend" in err and "Traceback" not in err


def test_e2e_function_files_check_with_dummy_allowed(
    corpus_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    glob = corpus_dir / "crates/tensorzero-core/tests/e2e/config/tensorzero.*.toml"
    # The evaluations reference TypeScript files the corpus does not carry.
    code = main(["check", str(glob), "--allow-dummy", "--json"])
    err = capsys.readouterr().err
    assert code == 2
    assert "typescript_file" in err


LEGACY_WEIGHTS = """
[models.m]
routing = ["p"]
[models.m.providers.p]
type = "openai"
model_name = "gpt-4o-mini"
[functions."[red]f"]
type = "chat"
[functions."[red]f".variants."[bold]a"]
type = "chat_completion"
model = "m"
weight = inf
[functions."[red]f".variants.b]
type = "chat_completion"
model = "m"
weight = 1
"""


def test_non_finite_weight_is_unset_and_names_print_verbatim(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "tensorzero.toml"
    path.write_text(LEGACY_WEIGHTS, encoding="utf-8")
    assert main(["check", str(path), "--json"]) == 0
    (function,) = json.loads(capsys.readouterr().out)["functions"]
    shares = {v["name"]: v["share"] for v in function["variants"]}
    # `weight = inf` reads as no weight: a fallback-only variant.
    assert shares == {"[bold]a": "0", "b": "1"}
    assert main(["check", str(path)]) == 0
    out = capsys.readouterr().out
    # Names and warnings are text, not rich markup.
    assert "[red]f" in out and "[bold]a" in out
    assert "use [functions.F.experimentation] with" in " ".join(out.split())


def test_unpriced_shorthand_model_gets_a_fix_it_can_use(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "tensorzero.toml"
    path.write_text(
        '[functions.f]\ntype = "chat"\n[functions.f.variants.a]\n'
        'type = "chat_completion"\nmodel = "openai::gpt-99-imaginary"\n',
        encoding="utf-8",
    )
    assert main(["check", str(path), "--json"]) == 0
    (warning,) = json.loads(capsys.readouterr().out)["warnings"]
    # Shorthand models take no `cost` entries: the fix must not ask for them.
    assert "'openai::gpt-99-imaginary' has no price" in warning
    assert "declare it under [models] with `cost` entries" in warning


def test_a_directory_gets_a_directory_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "config"
    folder.mkdir()
    assert main(["check", f"{folder}/"]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "is a directory" in line
    assert f"pass {folder}/tensorzero.toml or a glob such as '{folder}/*.toml'" in line


def test_a_closed_stdout_ends_quietly() -> None:
    # `runguard check ... --json | head -1` when head exits first.
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pytest_runguard.cli",
            "check",
            str(BEST_OF_N),
            "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=60) == 1
    assert err == ""
