"""``runguard check CONFIG_OR_GLOB``: load a config the gateway's way and
report, per function and variant, provider calls and cost per inference."""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import warnings
from decimal import Decimal
from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "config",
        metavar="CONFIG_OR_GLOB",
        help="a tensorzero.toml or a glob of TOML files",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the report as JSON (default: a table)",
    )
    parser.add_argument(
        "--input-tokens",
        type=int,
        default=1000,
        help="input tokens per inference assumed for costs (default: 1000)",
    )
    parser.add_argument(
        "--output-tokens",
        type=int,
        default=200,
        help="output tokens per model call assumed for costs (default: 200)",
    )
    parser.add_argument(
        "--price-date",
        type=datetime.date.fromisoformat,
        default=None,
        help="price catalog date, YYYY-MM-DD (default: the catalog's current prices)",
    )
    parser.add_argument(
        "--allow-dummy",
        action="store_true",
        help=(
            'accept `type = "dummy"` providers as the gateway\'s test builds do '
            "(default: refuse)"
        ),
    )


def run(args: argparse.Namespace) -> int:
    from simulator.analysis import TokenSizes, analyze
    from simulator.config import load_config
    from simulator.errors import UsageError

    if args.input_tokens <= 0 or args.output_tokens < 0:
        raise UsageError("--input-tokens must be > 0 and --output-tokens >= 0")
    with warnings.catch_warnings():
        # Deprecations are part of the report, not stray stderr lines.
        warnings.simplefilter("ignore")
        config = load_config(args.config, allow_dummy=args.allow_dummy)
    analysis = analyze(
        config, TokenSizes(args.input_tokens, args.output_tokens), at=args.price_date
    )
    if args.json:
        json.dump(_to_json(config, analysis), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        _print_table(config, analysis)
    return 0


def _usd(value: Decimal | None) -> str | None:
    return None if value is None else format(value.normalize(), "f")


def _to_json(config: Any, analysis: Any) -> dict[str, Any]:
    return {
        "files": [str(p) for p in config.files],
        "token_sizes": {
            "input_tokens": analysis.sizes.input_tokens,
            "output_tokens": analysis.sizes.output_tokens,
        },
        "functions": [
            {
                "name": f.name,
                "type": f.type,
                "experimentation": f.experimentation,
                "blended_expected_usd": _usd(f.blended_expected_usd),
                "calls_worst_with_fallback": f.calls_worst_with_fallback,
                "variants": [
                    {
                        "name": v.variant,
                        "type": v.type,
                        "share": format(v.share.normalize(), "f"),
                        "calls_typical": v.calls_typical,
                        "calls_worst": v.calls_worst,
                        "prompt_inflation": format(v.prompt_inflation.normalize(), "f"),
                        "expected_usd": _usd(v.expected_usd),
                        "worst_usd": _usd(v.worst_usd),
                        "priced": v.priced,
                        "models": [
                            {"model": m.model, "priced": m.priced, "source": m.source}
                            for m in v.models
                        ],
                        "notes": list(v.notes),
                    }
                    for v in f.variants
                ],
            }
            for f in analysis.functions
        ],
        "warnings": [*config.warnings, *analysis.warnings],
    }


def _money(value: Decimal | None) -> str:
    if value is None:
        return "unpriced"
    return f"${value:.6f}"


_SHORT_TYPES = {
    "chat_completion": "chat",
    "experimental_best_of_n_sampling": "best-of-n",
    "experimental_mixture_of_n": "mixture-of-n",
    "experimental_dynamic_in_context_learning": "dicl",
    "experimental_chain_of_thought": "chain-of-thought",
}


def _print_table(config: Any, analysis: Any) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console(width=max(Console().width, 110))
    files = ", ".join(str(p) for p in config.files)
    console.print(f"{escape(files)}: loads", highlight=False)
    console.print(
        f"Costs assume {analysis.sizes.input_tokens} input and "
        f"{analysis.sizes.output_tokens} output tokens per model call "
        "(--input-tokens / --output-tokens).",
        highlight=False,
    )
    table = Table(title="provider calls and USD per inference")
    for column, justify in (
        ("function / variant", "left"),
        ("type", "left"),
        ("share", "right"),
        ("calls", "right"),
        ("worst calls", "right"),
        ("prompt x", "right"),
        ("expected USD", "right"),
        ("worst USD", "right"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    pricing: dict[str, str] = {}
    for f in analysis.functions:
        table.add_row(
            f"[bold]{escape(f.name)}[/bold]",
            f"{f.type} function",
            f.experimentation,
            "",
            str(f.calls_worst_with_fallback),
            "",
            _money(f.blended_expected_usd),
            "",
        )
        for v in f.variants:
            table.add_row(
                f"  {escape(v.variant)}",
                _SHORT_TYPES.get(v.type, v.type),
                f"{v.share:.0%}",
                str(v.calls_typical),
                str(v.calls_worst),
                f"{v.prompt_inflation:.2f}",
                _money(v.expected_usd),
                _money(v.worst_usd),
            )
            for m in v.models:
                pricing[m.model] = m.source
    console.print(table)
    console.print(
        "Function rows: worst calls through variant fallback and the blended "
        "expected cost from the variant weights.",
        highlight=False,
    )
    for model, source in sorted(pricing.items()):
        console.print(f"  priced: {escape(model)}: {escape(source)}", highlight=False)
    for line in [*config.warnings, *analysis.warnings]:
        console.print(f"[yellow]warning:[/yellow] {escape(line)}", highlight=False)
