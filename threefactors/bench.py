"""``threefactors bench``: speed as ratios against baselines measured in the same process.

The simulator's benchmark lives in ``threefactors.simulate.bench`` and the networks' in
``threefactors.empirical.bench``; each exposes ``run(quick: bool) -> dict`` (JSON-able, with
provenance) and ``format_text(result: dict) -> str``.
"""

from __future__ import annotations

import argparse
import importlib
from typing import Any


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="measure speed against baselines run in the same process",
        description="Benchmark the simulator (default) or, with --empirical, the network code; "
        "prints times and their ratios to baselines measured in the same run.",
    )
    parser.add_argument(
        "--empirical", action="store_true", help="benchmark training/Hessian code (torch)"
    )
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from threefactors.output import emit

    module = importlib.import_module(
        "threefactors.empirical.bench" if args.empirical else "threefactors.simulate.bench"
    )
    result: dict[str, Any] = module.run(quick=args.quick)
    emit(result, args.json, module.format_text)
    return 0
