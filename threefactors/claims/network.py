"""Running a claim's network grid and reading its records (shared by the network claims).

A grid runs (or resumes) under ``OUT/runs/<experiment>`` at the context's scale, on the
context's model family (:data:`~threefactors.empirical.experiments.FAMILIES`), with the
context's seed as the first replicate seed, so a killed ``reproduce`` loses at most the run in
progress. Rows are the records' tidy metrics at the matched-progress threshold.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from threefactors.claims.base import Context, Evidence, Settings, from_test, not_run

Records = list[dict[str, Any]]

SEED_UNIT = "seed (runs of one seed share initial weights and data order)"
RATIO_REPLICATES = "mlp: 5 seeds × 15 (η, S) cells; cnn: 3 seeds × the same 15 cells"
RATIO_CNN_DESIGN = (
    "the SimpleCNN on the 5,000 MNIST digits over the same 15 (η, S) cells, 3 seeds, each "
    "run stopped at 95 % train accuracy, where the top-5 spectrum is measured once on 500 "
    "examples with 20 Lanczos steps (no loss-level spectra, Tr H or Tr C; ratio grid's "
    "FamilyDesign), sized on pilot seeds 1000–1002"
)


def replicates(experiment: str) -> Callable[[str, int], set[int]]:
    """(scale, seed offset) → the replicate seeds experiment ``experiment`` uses."""

    def seeds(scale: str, seed: int) -> set[int]:
        from threefactors.empirical.experiments import seeds_for

        return set(seeds_for(experiment, scale, seed))

    return seeds


def run_grid(ctx: Context, name: str, settings: Settings) -> dict[str, Any]:
    """Run experiment ``name`` at ``ctx.scale`` on the context's model family (settings may
    hold ``overrides``; the context's ``overrides``, from ``reproduce --set``, are applied
    over them); a later family's runs live in ``runs/<name>-<family>``."""
    from threefactors.empirical.experiments import run_experiment
    from threefactors.progress import Progress

    bar = Progress(f"  {name}{ctx.marker}: run", 0, 0.0, ctx.progress)  # total: from the grid

    def on_run(done: int, total: int, record: dict[str, Any]) -> None:
        bar.total = total
        bar.update(done, force=True)

    return run_experiment(
        name,
        scale=ctx.scale,
        seed=ctx.seed,
        out=ctx.out / "runs" / f"{name}{ctx.marker}",
        overrides={**settings.get("overrides", {}), **ctx.overrides},
        family=ctx.family,
        data_dir=ctx.data_dir,
        executor=ctx.executor,
        on_run=on_run,
        ensemble=ctx.ensemble,
    )


def incomplete(name: str, result: dict[str, Any], quantity: str) -> list[Evidence]:
    """The evidence of a grid that did not finish: its primary test did not run."""
    failed = "; ".join(str(f) for f in result["failed"])[:300]
    return [not_run("empirical", quantity, f"grid {name} incomplete: {failed}")]


def at_threshold(rows: Records) -> tuple[Records, list[str], str]:
    """The tidy rows of the runs that reached the matched-progress threshold without
    diverging, the others named, and a one-line note saying how many and which."""
    kept = [r for r in rows if r["reached_threshold"] and not r["diverged"]]
    missing = [
        f"(η={r['lr']:g}, S={r['batch']}, seed {r['seed']})"
        for r in rows
        if not (r["reached_threshold"] and not r["diverged"])
    ]
    note = f"{len(kept)} of {len(rows)} runs reached the threshold" + (
        f"; not reached or diverged: {', '.join(missing)}" if missing else ""
    )
    return kept, missing, note


def series(record: dict[str, Any], key: str) -> list[tuple[int, float]]:
    """(epoch, value) along a run's history where ``key`` was measured."""
    return [(h["epoch"], h[key]) for h in record["history"] if h.get(key) is not None]


def seed_of(record: dict[str, Any]) -> int:
    return int(record["config"]["seed"])


def paired_by_seed(
    records: Records, select: Callable[[dict[str, Any]], bool], value: Callable[[dict], Any]
) -> dict[int, Any]:
    """seed → value for the records ``select`` picks (one per seed)."""
    return {seed_of(r): value(r) for r in records if select(r)}


def aligned(a: dict[int, Any], b: dict[int, Any]) -> tuple[list[Any], list[Any], list[int]]:
    """The values of ``a`` and ``b`` on their common seeds where both are not None."""
    seeds = sorted(s for s in a if s in b and a[s] is not None and b[s] is not None)
    return [a[s] for s in seeds], [b[s] for s in seeds], seeds


def histories(records: Records, keys: Sequence[str]) -> list[dict[str, Any]]:
    """Per run: its (lr, batch, seed) and the epochs and values of ``keys`` along training."""
    out = []
    for r in records:
        c = r["config"]
        entry: dict[str, Any] = {
            "lr": c["lr"],
            "batch": c["batch"],
            "seed": c["seed"],
            "schedule": c["schedule"],
        }
        for key in keys:
            points = series(r, key)
            entry[f"{key}_epoch"] = [e for e, _ in points]
            entry[key] = [v for _, v in points]
        out.append(entry)
    return out


def blocked_trend(
    quantity: str,
    rows: Sequence[dict[str, Any]],
    x: str,
    y: str,
    sign: int,
    rng: int,
    *,
    stratum: str | None = None,
    detail: str = "",
    figure: str | None = None,
) -> Evidence:
    """Seed-blocked Spearman trend of ``y`` on ``x`` over the rows where y was measured
    (blocks = seeds, or seed × ``stratum`` for the effect of x at a fixed other factor).
    Rows without a value are counted in the detail, never silently dropped; a design with
    nothing to rank is reported as not run."""
    from threefactors.errors import InputError
    from threefactors.statistics import seed_blocked_trend

    kept = [r for r in rows if r.get(y) is not None and r.get(x) is not None]
    missing = len(rows) - len(kept)
    note = detail + (f"; {missing} runs without a value" if missing else "")
    blocks = [str(r["seed"]) if stratum is None else f"{r['seed']}|{r[stratum]}" for r in kept]
    try:
        test = seed_blocked_trend([r[x] for r in kept], [r[y] for r in kept], blocks, sign, rng=rng)
    except InputError as err:
        return not_run("empirical", quantity, f"{err.reason}. {note}".strip())
    return from_test(
        "empirical",
        quantity,
        test,
        predicted=f"sign {sign:+d}",
        detail=note.strip("; "),
        figure=figure,
    )
