"""``threefactors bench``: speed as ratios against baselines measured in the same process.

The simulator's benchmark lives in ``threefactors.simulate.bench``, the networks' in
``threefactors.empirical.bench`` and the Dask sweep's in ``threefactors.simulate.sweep_bench``;
each exposes ``run(quick: bool) -> dict`` (JSON-able, with
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
    parser.add_argument(
        "--sweep", action="store_true", help="a simulation sweep on 2 Dask workers vs 1"
    )
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from threefactors.output import emit

    name = "empirical.bench" if args.empirical else "simulate.bench"
    module = importlib.import_module(
        "threefactors.simulate.sweep_bench" if args.sweep else f"threefactors.{name}"
    )
    result: dict[str, Any] = module.run(quick=args.quick)
    emit(result, args.json, module.format_text)
    return 0
