"""Our accept/refuse decision on TensorZero's own configs equals the real
gateway's, except where the gateway refuses for a reason outside the file
(a service or credential this machine does not have)."""

from __future__ import annotations

import re
import sys
import warnings
from pathlib import Path

from simulator.config import load_config
from simulator.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

#: gateway refusals that depend on the machine, not on the file
EXCUSES: dict[str, str] = {
    "needs Postgres": r"Missing environment variable `TENSORZERO_POSTGRES_URL`"
    r"|Track-and-Stop requires Postgres",
    "rate limiting needs Valkey or Postgres": r"Rate limiting is enabled with rules "
    r"configured, but no backend is available",
    "not available in the embedded gateway": r"not (yet )?supported in embedded "
    r"gateway mode",
    "credential not set": r"API key missing|ApiKeyMissing",
    "object storage not reachable": r"object store",
}
#: never built: the gateway would contact the bucket over the network
S3_EXCUSE = "S3 object storage (the gateway contacts the bucket at build time)"


def corpus_targets(corpus: Path) -> list[str]:
    e2e = corpus / "crates" / "tensorzero-core" / "tests" / "e2e" / "config"
    targets = [
        str(p)
        for p in sorted(corpus.rglob("*.toml"))
        if p.name != "Cargo.toml" and e2e not in p.parents
    ]
    targets.append(str(e2e / "*.toml"))
    return targets


def _uses_s3(target: str) -> bool:
    if "*" in target:
        return False
    data = tomllib.loads(Path(target).read_text(encoding="utf-8"))
    return data.get("object_storage", {}).get("type") == "s3_compatible"


def _excuse(error: str) -> str | None:
    for name, pattern in EXCUSES.items():
        if re.search(pattern, error):
            return name
    return None


def _ours(target: str) -> tuple[bool, str]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            load_config(target)
        except ConfigError as exc:
            return False, str(exc)
    return True, ""


def test_corpus_decisions_match_the_gateway(corpus_dir: Path) -> None:
    from gateway_oracle import gateway_verdicts

    targets = corpus_targets(corpus_dir)
    built = [t for t in targets if not _uses_s3(t)]
    verdicts = gateway_verdicts(built)
    agree: list[str] = []
    excused: dict[str, str] = {}
    disagree: list[str] = []
    for target in targets:
        ours, our_error = _ours(target)
        if target not in verdicts:
            assert ours, f"{target}: {our_error}"
            excused[target] = S3_EXCUSE
            continue
        verdict = verdicts[target]
        if ours == verdict.accepted:
            agree.append(target)
        elif ours and (reason := _excuse(verdict.error)) is not None:
            excused[target] = reason
        else:
            disagree.append(
                f"{target}: ours={our_error or 'accept'} gateway={verdict.error[:400]}"
            )
    assert disagree == []
    # The corpus has configs on both sides of the line, so a loader that
    # accepted (or refused) everything would fail here.
    refused_by_both = [t for t in agree if not verdicts[t].accepted]
    assert len(refused_by_both) >= 3
    assert len(agree) >= 60
    assert set(excused.values()) <= {*EXCUSES, S3_EXCUSE}
