"""``threefactors reproduce``: every claim through the three views → figures/ and a report.

Each claim (:mod:`threefactors.claims`, one module per claim) gathers its evidence at the
chosen scale — ``quick`` (CPU minutes), ``default`` (tens of CPU minutes) or ``paper`` (the
papers' data sets and models, for a GPU). A finished claim is saved at once
(``OUT/claims/<id>.json``, written atomically) and skipped when the command is run again with
the same settings, so killing a long run loses only the claim in progress (the network grids
inside it resume from their own records). Bad input — an unknown ``--scale`` or ``--only``
id, ``--quick`` with ``--scale paper``, paper scale without its data in ``--data-dir`` — is
one line naming the parameter and value, exit 2, before any work starts.

``--set KEY=VALUE`` (repeatable) sets a training-config field in every network run of every
claim, over the registered design — a smoke test of a scale's whole path at a tiny budget,
e.g. on a GPU before a paper-scale run::

    threefactors reproduce --scale paper --only sharpest --data-dir DATA --out /tmp/smoke \
        --set epochs=1 --set n_train=512 --set measure_size=64 --set lanczos_steps=5

Its verdicts are not the design's: the overrides are part of the saved claims' settings
(a run without them never reuses those claims) and of the report's provenance.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from threefactors import options
from threefactors.claims import CONFIRMING_SEEDS
from threefactors.executors import add_arguments as add_executor_arguments
from threefactors.executors import usable_cores

if TYPE_CHECKING:
    from threefactors.claims.base import Claim, ClaimSpec, Context, Evidence


def _settings(ctx: Context) -> dict[str, Any]:
    from threefactors import __version__

    settings = {"scale": ctx.scale, "seed": ctx.seed, "version": __version__}
    if ctx.overrides:  # only then, so that claims saved without --set stay reusable
        settings["overrides"] = {  # as saved in JSON: a tuple comes back a list
            k: list(v) if isinstance(v, tuple) else v for k, v in sorted(ctx.overrides.items())
        }
    return settings


def _load(path: Path, settings: dict[str, Any], spec: ClaimSpec) -> Claim | None:
    """The claim saved at ``path`` by a run with the same ``settings`` and design; None when
    there is none, when it was saved with other settings or another design (kept, not
    reused), or when it fails its check (moved aside)."""
    from threefactors.saved import load_validated

    return load_validated(path, lambda payload: parse_claim(payload, settings, spec))


_NUMBERS = ("stderr", "tolerance", "effect", "p", "margin", "detectable_effect", "p_holm", "level")
_TEXTS = ("view", "quantity", "detail")


def _text(value: Any, what: str, optional: bool = False) -> None:
    """``value`` is one line of plain text (no control characters, no HTML tags: a tag's
    name follows its < at once, so "gain < margin" is text)."""
    import re

    from threefactors.saved import check

    if optional and value is None:
        return
    check(isinstance(value, str), f"{what} is {type(value).__name__}, not text")
    check(len(value) <= 4000, f"{what} is {len(value)} characters long")
    check(not re.search(r"[\x00-\x1f\x7f]", value), f"{what} holds a control character")
    check(not re.search(r"<[A-Za-z/!?]", value), f"{what} holds an HTML tag")


def _number(value: Any, what: str, low: float = -math.inf, high: float = math.inf) -> None:
    from threefactors.saved import check

    if value is None:
        return
    check(
        isinstance(value, int | float) and not isinstance(value, bool),
        f"{what} is {type(value).__name__}, not a number",
    )
    check(low <= value <= high, f"{what} = {value!r} outside [{low}, {high}]")


def _evidence(item: Any) -> Evidence:
    """One saved evidence item, every field of its declared type."""
    from dataclasses import MISSING, fields
    from typing import get_args

    from threefactors.claims.base import Evidence, Verdict
    from threefactors.saved import check, require_fields

    required = [f.name for f in fields(Evidence) if f.default is MISSING]
    known = {f.name for f in fields(Evidence)}
    require_fields(item, required, "evidence")
    check(set(item) <= known, f"evidence has unknown fields {sorted(set(item) - known)}")
    check(item["verdict"] in get_args(Verdict), f"unknown verdict {item['verdict']!r}")
    for name in _TEXTS:
        _text(item.get(name, ""), f"evidence {name}")
    for name in ("test", "figure"):
        _text(item.get(name), f"evidence {name}", optional=True)
    figure = item.get("figure")
    check(
        figure is None or (figure.endswith(".png") and "/" not in figure and ".." not in figure),
        f"evidence figure {figure!r} is not a figure of the report",
    )
    for name in _NUMBERS:
        bounded = name in ("p", "p_holm", "level")
        _number(item.get(name), f"evidence {name}", 0.0 if bounded else -math.inf,
                1.0 if bounded else math.inf)  # fmt: skip
    interval = item.get("interval")
    check(
        interval is None or (isinstance(interval, list) and len(interval) == 2),
        "evidence interval is not a pair",
    )
    for bound in interval or ():
        _number(bound, "evidence interval bound")
    n = item.get("n")
    check(n is None or (isinstance(n, int) and not isinstance(n, bool) and n >= 0), "bad n")
    return Evidence(**item)


def parse_claim(payload: Any, settings: dict[str, Any], spec: ClaimSpec) -> Claim | None:
    """A saved ``{"settings", "claim"}`` document → Claim, checked field by field against
    its types and against the claim's current design (Invalid on any mismatch)."""
    from dataclasses import fields

    from threefactors.claims.base import Claim
    from threefactors.saved import check, require_fields

    require_fields(payload, ("settings", "claim"), "claim file")
    if payload["settings"] != settings:
        return None  # a valid claim of another run: kept, not reused
    names = [f.name for f in fields(Claim)]
    data = require_fields(payload["claim"], names, "claim")
    check(set(data) == set(names), f"claim has unknown fields {sorted(set(data) - set(names))}")
    if data["design_hash"] != spec.design_hash():
        return None  # saved under an earlier design: kept, not reused
    expected = spec.claim([], 0.0, settings["scale"])
    for name in ("id", "statement", "source", "kind", "parts", "amendments", "families"):
        check(data[name] == getattr(expected, name), f"claim {name} differs from its design")
    _number(data["seconds"], "claim seconds", 0.0)
    check(isinstance(data["evidence"], list) and data["evidence"], "claim has no evidence")
    return Claim(**{**data, "evidence": [_evidence(item) for item in data["evidence"]]})


def run_claims(specs: Sequence[ClaimSpec], ctx: Context, force: bool = False) -> list[Claim]:
    """Check each claim, reusing results saved by an earlier run with the same settings."""
    from dataclasses import asdict

    from threefactors.claims.base import Evidence
    from threefactors.jsonio import dumps, write_atomic

    settings = _settings(ctx)
    claims = []
    for i, spec in enumerate(specs, 1):
        path = ctx.out / "claims" / f"{spec.id}.json"
        claim = None if force else _load(path, settings, spec)
        if claim is not None:
            ctx.log(f"reproduce: [{i}/{len(specs)}] {spec.id}: done earlier, reused")
            claims.append(claim)
            continue
        ctx.log(f"reproduce: [{i}/{len(specs)}] {spec.id}: {spec.statement}")
        start = time.perf_counter()
        try:
            evidence = spec.gather(ctx)
        except Exception as err:  # one broken check must not cost the other claims
            traceback.print_exc(file=sys.stderr)
            failed = Evidence(
                "reproduce", spec.id, None, None, "not run", f"error: {type(err).__name__}: {err}"
            )
            claims.append(spec.claim([failed], time.perf_counter() - start, ctx.scale))
            continue  # not saved: the next run retries it
        claim = spec.claim(evidence, time.perf_counter() - start, ctx.scale)
        write_atomic(path, dumps({"settings": settings, "claim": asdict(claim)}))
        claims.append(claim)
    return claims


def saved_alongside(
    claims: Sequence[Claim], specs: Sequence[ClaimSpec], ctx: Context
) -> list[Claim]:
    """``claims`` plus the other claims of ``specs`` saved by earlier runs with the same
    settings, in the order of ``specs``: ``reproduce --only ID`` updates one claim of the
    report without dropping the others."""
    fresh = {c.id: c for c in claims}
    settings = _settings(ctx)
    merged = []
    for spec in specs:
        claim = fresh.get(spec.id) or _load(ctx.out / "claims" / f"{spec.id}.json", settings, spec)
        if claim is not None:
            merged.append(claim)
    return merged


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "reproduce",
        help="check every claim with theory, simulation and networks; write figures/ + report",
        description="Run each claim of the papers through the three views and write the "
        "figures (PNG + the JSON behind each), OUT/REPORT.md and OUT/claims.json. Finished "
        "claims are reused when the command is run again with the same settings.",
    )
    parser.add_argument("--quick", action="store_true", help="CPU-minutes scale (--scale quick)")
    parser.add_argument(
        "--scale", default=None, help="quick | default (tens of CPU minutes) | paper (GPU)"
    )
    parser.add_argument(
        "--out",
        type=options.output_dir,
        default=None,
        help="output folder (default: figures, or figures/quick with --quick)",
    )
    parser.add_argument(
        "--seed",
        type=options.seed,
        default=CONFIRMING_SEEDS[0],
        help=f"first replicate seed (default {CONFIRMING_SEEDS[0]}, the first confirming set; "
        f"{CONFIRMING_SEEDS[1]} is the second). At the default and paper scales a seed whose "
        "replicates overlap a claim's pilot seeds is refused",
    )
    parser.add_argument(
        "--compare",
        nargs=2,
        metavar=("A", "B"),
        default=None,
        help="compare two claims.json files (or folders): per claim and part, both verdicts "
        "and effects; runs nothing",
    )
    parser.add_argument(
        "--pilot",
        action="store_true",
        help="a pilot run that sizes a design: pilot seeds allowed, the report is marked "
        "PILOT (never confirming evidence); writes figures/pilot unless --out is given",
    )
    parser.add_argument("--only", nargs="+", metavar="CLAIM", help="check only these claims")
    parser.add_argument("--data-dir", default=None, help="folder of the paper-scale data sets")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set a training-config field in every network run, over the design (a smoke "
        "test at a tiny budget, e.g. --set epochs=1 --set n_train=512; the verdicts are not "
        "the design's)",
    )
    parser.add_argument("--force", action="store_true", help="recompute finished claims")
    parser.add_argument("--json", action="store_true", help="print claims.json on stdout")
    parser.add_argument(
        "--readme", default=None, metavar="PATH", help="rebuild the claims table in this README"
    )
    parser.add_argument(
        "--ensemble",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="train network runs that share model, data and batch size together (default); "
        "--no-ensemble trains them one by one (same numbers up to float round-off)",
    )
    add_executor_arguments(parser, default_workers=usable_cores())
    parser.set_defaults(func=_run)


def resolve_scale(quick: bool, scale: str | None) -> str:
    """The scale from ``--quick`` / ``--scale`` (InputError naming the bad one)."""
    from threefactors.claims import SCALES
    from threefactors.errors import require

    if scale is not None:
        require(scale in SCALES, "scale", scale, f"choose one of {', '.join(SCALES)}")
        require(not quick or scale == "quick", "scale", scale, "--quick contradicts it")
        return scale
    return "quick" if quick else "default"


def check_paper_data(data_dir: str | None) -> None:
    """Every data set the paper-scale grids use must already be in ``data_dir``."""
    from threefactors.empirical.data import require_on_disk
    from threefactors.empirical.experiments import EXPERIMENTS, configs_for

    for name in EXPERIMENTS:
        for dataset in sorted({c.dataset for c in configs_for(name, "paper")}):
            require_on_disk(dataset, data_dir)


def parse_overrides(texts: Sequence[str]) -> dict[str, Any]:
    """``--set KEY=VALUE`` texts → {TrainConfig field: value of its type} (InputError naming
    ``set`` for an unknown field or a value of the wrong type)."""
    if not texts:
        return {}
    from threefactors.empirical.experiments import parse_override

    return dict(parse_override(text) for text in texts)


def default_out(scale: str, pilot: bool) -> str:
    """figures/pilot for a pilot run, figures/quick at the quick scale, else figures."""
    return "figures/pilot" if pilot else "figures/quick" if scale == "quick" else "figures"


def check_confirming(specs: Sequence[ClaimSpec], scale: str, seed: int) -> None:
    """At the default and paper scales no claim may reuse a pilot seed (InputError)."""
    from threefactors.errors import InputError

    if scale == "quick":
        return
    for spec in specs:
        shared = spec.pilot_overlap(scale, seed)
        if shared:
            raise InputError(
                "seed",
                seed,
                f"claim {spec.id} would reuse its pilot seeds {shared[0]}…{shared[-1]}; a "
                f"confirming run needs seeds disjoint from the pilots (e.g. --seed "
                f"{CONFIRMING_SEEDS[0]})",
            )


def _compare(args: argparse.Namespace) -> int:
    import json

    from threefactors.compare import compare_reports, load_report, render

    first, second = args.compare
    comparison = compare_reports(load_report(first), load_report(second))
    if args.json:
        print(json.dumps(comparison, indent=1, ensure_ascii=False))
    else:
        print(render(comparison, (first, second)))
    return 0


def _run(args: argparse.Namespace) -> int:
    from threefactors import claims as registry
    from threefactors.errors import require

    if args.compare:
        return _compare(args)
    scale = resolve_scale(args.quick, args.scale)
    known = registry.ids()
    for claim_id in args.only or []:
        require(claim_id in known, "only", claim_id, f"unknown claim; known: {', '.join(known)}")
    if scale == "paper":
        check_paper_data(args.data_dir)
    overrides = parse_overrides(args.set)

    import matplotlib

    matplotlib.use("Agg")
    from threefactors.claims.base import Context
    from threefactors.executors import check_scheduler, from_args
    from threefactors.provenance import provenance
    from threefactors.report import claims_table, update_readme, write_report

    every = registry.all_specs()
    specs = [registry.spec(c) for c in args.only] if args.only else every
    if not args.pilot:
        check_confirming(specs, scale, args.seed)
    out = Path(args.out or default_out(scale, args.pilot))
    ctx = Context(
        out=out,
        scale=scale,
        seed=args.seed,
        data_dir=args.data_dir,
        executor=from_args(args),
        ensemble=args.ensemble,
        overrides=overrides,
    )
    check_scheduler(ctx.executor)
    claims = run_claims(specs, ctx, force=args.force)
    prov = provenance(
        {"scale": scale, "only": args.only, "out": str(out), "pilot": args.pilot, "set": args.set},
        args.seed,
    )
    report = write_report(saved_alongside(claims, every, ctx), out, prov, scale, every)
    errors = [c.id for c in claims if any(e.view == "reproduce" for e in c.evidence)]
    if args.readme:
        every_claim = saved_alongside(claims, every, ctx)
        update_readme(Path(args.readme), every_claim, {s.id: s.command for s in every})
    if args.json:
        print((out / "claims.json").read_text())
    else:
        print(claims_table(claims, {s.id: s.command for s in specs}))
        print(f"\nreport: {report}")
    if errors:
        print(
            f"reproduce: checks that raised (rerun to retry): {', '.join(errors)}", file=sys.stderr
        )
    return 1 if errors else 0
