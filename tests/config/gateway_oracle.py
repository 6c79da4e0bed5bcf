"""Ask the real TensorZero gateway whether it accepts a config.

The embedded gateway (``tensorzero.TensorZeroGateway.build_embedded``) is the
ground truth for accept/refuse.  A config can crash the process that builds
it (a best-of-N variant naming itself overflows the gateway's stack), so the
builds run in a worker subprocess that reports one JSON line per config; when
the worker dies, the config it was building is recorded as a crash and a new
worker carries on with the rest.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass

#: Credentials the gateway looks up at build time for default key locations.
#: Placeholders suffice: nothing is ever sent to a provider.
PLACEHOLDER_ENV = dict.fromkeys(
    (
        "OPENAI_API_KEY",
        "ANTHROPIC_API_KEY",
        "AZURE_OPENAI_API_KEY",
        "AZURE_API_KEY",
        "AZURE_AI_FOUNDRY_API_KEY",
        "DEEPSEEK_API_KEY",
        "FIREWORKS_API_KEY",
        "GOOGLE_AI_STUDIO_API_KEY",
        "GEMINI_API_KEY",
        "GROQ_API_KEY",
        "HYPERBOLIC_API_KEY",
        "MISTRAL_API_KEY",
        "OPENROUTER_API_KEY",
        "TOGETHER_API_KEY",
        "XAI_API_KEY",
        "VLLM_API_KEY",
        "SGLANG_API_KEY",
        "TGI_API_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
    ),
    "placeholder",
)

_WORKER = r"""
import json, sys, warnings
warnings.simplefilter("ignore")
import tensorzero
for line in sys.stdin:
    path = line.rstrip("\n")
    if not path:
        continue
    print(json.dumps({"path": path, "started": True}), flush=True)
    try:
        gw = tensorzero.TensorZeroGateway.build_embedded(
            config_file=path, clickhouse_url=None
        )
    except BaseException as exc:
        print(json.dumps({"path": path, "ok": False, "error": str(exc)}), flush=True)
    else:
        del gw
        print(json.dumps({"path": path, "ok": True, "error": ""}), flush=True)
"""


@dataclass(frozen=True)
class Verdict:
    accepted: bool
    error: str
    crashed: bool = False


def gateway_verdicts(
    paths: list[str], extra_env: dict[str, str] | None = None
) -> dict[str, Verdict]:
    """Build each config (a file or a glob) in the real gateway."""
    env = {**os.environ, **PLACEHOLDER_ENV, **(extra_env or {})}
    env["RUST_LOG"] = "error"
    results: dict[str, Verdict] = {}
    pending = list(paths)
    while pending:
        proc = subprocess.run(
            [sys.executable, "-c", _WORKER],
            input="\n".join(pending) + "\n",
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
        started: str | None = None
        for line in proc.stdout.splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if record.get("started"):
                started = record["path"]
                continue
            results[record["path"]] = Verdict(record["ok"], record["error"])
            started = None
        if started is not None:
            results[started] = Verdict(
                False, f"gateway process died (exit {proc.returncode})", crashed=True
            )
        elif proc.returncode != 0 and not results:
            raise RuntimeError(f"gateway worker failed: {proc.stderr[-2000:]}")
        pending = [p for p in pending if p not in results]
        if pending and started is None:
            raise RuntimeError(f"gateway worker stopped early: {proc.stderr[-2000:]}")
    return results
