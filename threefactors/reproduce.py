"""``threefactors reproduce``: every claim through the three views → figures/ and a report.

Each claim (``threefactors.checks.CLAIMS``) is checked by a function that runs theory,
simulation and networks and returns :class:`~threefactors.claims.Evidence`. A finished
claim is saved at once (``OUT/claims/<id>.json``, written atomically) and skipped when the
command is run again with the same settings, so killing a long run loses only the claim in
progress (the network grids inside it resume from their own records).
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import MISSING, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from threefactors import options
from threefactors.executors import LOCAL, ExecutorSpec
from threefactors.executors import add_arguments as add_executor_arguments
from threefactors.jsonio import dumps, write_atomic
from threefactors.saved import check, load_validated, require_fields

if TYPE_CHECKING:
    from threefactors.claims import Claim, Evidence


@dataclass
class Context:
    """What a claim check needs: where to write, how big to run, the seed, and where the
    network grids' runs execute."""

    out: Path
    quick: bool
    seed: int
    progress: bool = True
    executor: ExecutorSpec = LOCAL

    def log(self, message: str) -> None:
        if self.progress:
            print(message, file=sys.stderr, flush=True)

    def figure(self, name: str, data: dict[str, Any], plot: Callable[[dict, Path], None]) -> str:
        """Save the data behind a figure as ``name.json``, draw ``name.png``; return its name."""
        write_atomic(self.out / f"{name}.json", dumps(data))
        plot(data, self.out / f"{name}.png")
        return f"{name}.png"


@dataclass(frozen=True)
class ClaimSpec:
    """A claim of the papers and the function that gathers the views' evidence."""

    id: str
    statement: str
    source: str
    command: str
    check: Callable[[Context], list[Evidence]]


def _settings(ctx: Context) -> dict[str, Any]:
    from threefactors import __version__

    return {"quick": ctx.quick, "seed": ctx.seed, "version": __version__}


def _load(path: Path, settings: dict[str, Any]) -> Claim | None:
    """The claim saved at ``path`` by a run with the same ``settings``; None when there is
    none, when it was saved with other settings, or when it fails its check (moved aside)."""
    return load_validated(path, lambda payload: _parse_claim(payload, settings))


def _parse_claim(payload: Any, settings: dict[str, Any]) -> Claim | None:
    """A saved ``{"settings", "claim"}`` document → Claim; Invalid on a wrong schema."""
    from dataclasses import fields
    from typing import get_args

    from threefactors.claims import Claim, Evidence, Verdict

    require_fields(payload, ("settings", "claim"), "claim file")
    if payload["settings"] != settings:
        return None  # a valid claim of another run: kept, not reused
    names = [f.name for f in fields(Claim)]
    data = require_fields(payload["claim"], names, "claim")
    check(set(data) == set(names), f"claim has unknown fields {sorted(set(data) - set(names))}")
    check(isinstance(data["evidence"], list) and data["evidence"], "claim has no evidence")
    required = [f.name for f in fields(Evidence) if f.default is MISSING]
    known = {f.name for f in fields(Evidence)}
    evidence = []
    for item in data["evidence"]:
        require_fields(item, required, "evidence")
        check(set(item) <= known, f"evidence has unknown fields {sorted(set(item) - known)}")
        check(item["verdict"] in get_args(Verdict), f"unknown verdict {item['verdict']!r}")
        evidence.append(Evidence(**item))
    return Claim(**{**data, "evidence": evidence})


def run_claims(specs: Sequence[ClaimSpec], ctx: Context, force: bool = False) -> list[Claim]:
    """Check each claim, reusing results saved by an earlier run with the same settings."""
    from dataclasses import asdict

    from threefactors.claims import Claim, Evidence

    settings = _settings(ctx)
    claims = []
    for i, spec in enumerate(specs, 1):
        path = ctx.out / "claims" / f"{spec.id}.json"
        claim = None if force else _load(path, settings)
        if claim is None:
            ctx.log(f"reproduce: [{i}/{len(specs)}] {spec.id}: {spec.statement}")
            start = time.perf_counter()
            try:
                evidence = spec.check(ctx)
            except Exception as err:  # one broken check must not cost the other claims
                traceback.print_exc(file=sys.stderr)
                failed = Evidence(
                    "reproduce",
                    spec.id,
                    None,
                    None,
                    "not run",
                    f"error: {type(err).__name__}: {err}",
                )
                claims.append(
                    Claim(
                        spec.id, spec.statement, spec.source, [failed], time.perf_counter() - start
                    )
                )
                continue  # not saved: the next run retries it
            claim = Claim(
                spec.id, spec.statement, spec.source, evidence, time.perf_counter() - start
            )
            write_atomic(path, dumps({"settings": settings, "claim": asdict(claim)}))
        else:
            ctx.log(f"reproduce: [{i}/{len(specs)}] {spec.id}: done earlier, reused")
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
        claim = fresh.get(spec.id) or _load(ctx.out / "claims" / f"{spec.id}.json", settings)
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
    parser.add_argument("--quick", action="store_true", help="CPU-minutes scale")
    parser.add_argument(
        "--out", type=options.output_dir, default="figures", help="output folder (default: figures)"
    )
    parser.add_argument("--seed", type=options.seed, default=0)
    parser.add_argument("--only", nargs="+", metavar="CLAIM", help="check only these claims")
    parser.add_argument("--force", action="store_true", help="recompute finished claims")
    parser.add_argument("--json", action="store_true", help="print claims.json on stdout")
    add_executor_arguments(parser)
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")
    from threefactors.checks import CLAIMS
    from threefactors.errors import require
    from threefactors.executors import check_scheduler, from_args
    from threefactors.provenance import provenance
    from threefactors.report import claims_table, write_report

    known = {spec.id: spec for spec in CLAIMS}
    for claim_id in args.only or []:
        require(claim_id in known, "only", claim_id, f"unknown claim; known: {', '.join(known)}")
    specs = [known[c] for c in args.only] if args.only else list(CLAIMS)
    out = Path(args.out)
    ctx = Context(out=out, quick=args.quick, seed=args.seed, executor=from_args(args))
    check_scheduler(ctx.executor)
    claims = run_claims(specs, ctx, force=args.force)
    prov = provenance({"quick": args.quick, "only": args.only, "out": str(out)}, args.seed)
    report = write_report(saved_alongside(claims, CLAIMS, ctx), out, prov)
    errors = [c.id for c in claims if any(e.view == "reproduce" for e in c.evidence)]
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
