"""What a claim is, and the evidence each view brings for or against it.

A :class:`ClaimSpec` declares, before any data are seen, the claim's statement and source,
its **primary test** (the one comparison whose verdict is the claim's verdict), its
secondary tests (shown, Holm-adjusted across the claim, never overriding the primary), its
settings at each scale and the functions that gather the evidence of each view.

Each piece of :class:`Evidence` is a comparison decided by statistics, not taste:

- :func:`compare` — a number predicted by one route (theory) against one measured by
  another (simulation): ``agrees`` when |observed − predicted| ≤ z·se + bias, with se the
  estimator's own standard error and bias a stated bound (a scheme's dt-bias, the Laplace
  error);
- :func:`jointly` — several such comparisons read as one test (agrees iff all agree);
- :func:`trend` — a deterministic monotone relation of theory curves (Spearman's ρ with its
  permutation p-value);
- :func:`from_test` — a network design's test from :mod:`threefactors.statistics`
  (seed-blocked trends, paired, equivalence and non-inferiority tests), carrying its effect,
  interval, p, margin and the smallest effect the design could detect.
"""

from __future__ import annotations

import itertools
import math
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from threefactors.executors import LOCAL, ExecutorSpec
from threefactors.jsonio import dumps, write_atomic

if TYPE_CHECKING:
    from threefactors.statistics import TestResult

Verdict = Literal["agrees", "disagrees", "inconclusive", "not run"]
Role = Literal["primary", "secondary"]


@dataclass
class Evidence:
    """One comparison: what a view predicted or measured, and the verdict.

    The test fields (``test`` … ``detectable_effect``) are filled for statistical tests;
    ``p_holm`` is the Holm-adjusted p among the claim's secondary tests.
    """

    view: str  # "theory", "simulate", "empirical"
    quantity: str
    predicted: Any
    observed: Any
    verdict: Verdict
    detail: str = ""
    stderr: float | None = None
    tolerance: float | None = None
    figure: str | None = None
    test: str | None = None
    effect: float | None = None
    interval: list[float] | None = None
    p: float | None = None
    margin: float | None = None
    detectable_effect: float | None = None
    n: int | None = None
    p_holm: float | None = None


@dataclass
class Claim:
    """A claim of the papers, its declared primary quantity and the evidence of each view."""

    id: str
    statement: str
    source: str
    evidence: list[Evidence] = field(default_factory=list)
    seconds: float = 0.0
    primary_quantity: str = ""

    @property
    def primary(self) -> Evidence | None:
        """The evidence of the declared primary test (None when it did not run)."""
        return next((e for e in self.evidence if e.quantity == self.primary_quantity), None)

    @property
    def verdict(self) -> Verdict:
        """The primary test's verdict; secondary evidence never overrides it."""
        primary = self.primary
        return "not run" if primary is None else primary.verdict


def compare(
    view: str,
    quantity: str,
    predicted: float,
    observed: float,
    stderr: float,
    *,
    z: float = 4.0,
    bias: float = 0.0,
    detail: str = "",
    figure: str | None = None,
) -> Evidence:
    """Judge ``observed`` against ``predicted``: agrees iff |obs − pred| ≤ z·stderr + bias.

    ``stderr`` is the standard error of the observed estimator (from the run itself) and
    ``bias`` a stated deterministic error bound of the route (discretisation, asymptotics).
    A non-finite observation (a diverged run) disagrees. The effect is obs − pred, its
    interval ± the tolerance.
    """
    tolerance = z * float(stderr) + float(bias)
    finite = math.isfinite(observed) and math.isfinite(predicted)
    verdict: Verdict = (
        "agrees" if finite and abs(observed - predicted) <= tolerance else "disagrees"
    )
    effect = float(observed) - float(predicted)
    return Evidence(
        view,
        quantity,
        float(predicted),
        float(observed),
        verdict,
        detail,
        float(stderr),
        tolerance,
        figure,
        test=f"|observed − predicted| ≤ {z:g}·se + bias",
        effect=effect,
        interval=[effect - tolerance, effect + tolerance],
    )


def jointly(
    view: str,
    quantity: str,
    items: Sequence[Evidence],
    detail: str = "",
    figure: str | None = None,
) -> Evidence:
    """Several comparisons of one view read as one test: agrees iff every item agrees.

    The effect is the largest |observed − predicted| in units of its tolerance (≤ 1 when
    all agree).
    """
    ran = [e for e in items if e.verdict != "not run"]
    verdict: Verdict = (
        "not run"
        if not ran
        else "agrees"
        if all(e.verdict == "agrees" for e in ran)
        else "disagrees"
    )
    worst = max(
        (abs(e.effect) / e.tolerance for e in ran if e.effect is not None and e.tolerance),
        default=None,
    )
    if worst is not None:
        detail = f"effect = largest |observed − predicted| / tolerance = {worst:.3g}. {detail}"
    return Evidence(
        view,
        quantity,
        "every item within its tolerance",
        f"{sum(e.verdict == 'agrees' for e in ran)} of {len(ran)} agree",
        verdict,
        detail.strip(),
        figure=figure or (items[0].figure if items else None),
        test="all of: " + ((items[0].test if items else None) or "comparison"),
        effect=None if worst is None else float(worst),
        n=len(ran),
    )


def spearman_permutation(
    x: Sequence[float], y: Sequence[float], permutations: int = 20000, seed: int = 0
) -> tuple[float, float]:
    """Spearman's ρ of (x, y) and its two-sided permutation p-value.

    ρ is Pearson's correlation of the ranks; under the null every pairing of the ranks is
    equally likely, so p = P(|ρ_perm| ≥ |ρ|): enumerated exactly for n ≤ 8, otherwise from
    ``permutations`` seeded random pairings with the observed one counted (p ≥ 1/(M+1)).
    """
    from scipy import stats

    rx = stats.rankdata(np.asarray(x, float))
    ry = stats.rankdata(np.asarray(y, float))
    rx, ry = rx - rx.mean(), ry - ry.mean()
    scale = math.sqrt(float(rx @ rx) * float(ry @ ry))
    if scale == 0.0:
        return 0.0, 1.0
    rho = float(rx @ ry) / scale
    n = rx.size
    if n <= 8:
        perms = np.array(list(itertools.permutations(range(n))))
        extra = 0
    else:
        rng = np.random.default_rng(seed)
        perms = rng.permuted(np.tile(np.arange(n), (permutations, 1)), axis=1)
        extra = 1
    null = (ry[perms] @ rx) / scale
    hits = int(np.count_nonzero(np.abs(null) >= abs(rho) - 1e-12))
    return rho, (hits + extra) / (len(perms) + extra)


def trend(
    view: str,
    quantity: str,
    x: Sequence[float],
    y: Sequence[float],
    expected_sign: int,
    *,
    alpha: float = 0.05,
    detail: str = "",
    figure: str | None = None,
) -> Evidence:
    """Judge a claimed monotone relation of y on x (``expected_sign`` = +1 or −1)."""
    if len(x) < 3:
        return Evidence(view, quantity, expected_sign, None, "not run", "fewer than 3 points")
    rho, p = spearman_permutation(x, y)
    verdict: Verdict
    if p < alpha and np.sign(rho) == expected_sign:
        verdict = "agrees"
    elif p < alpha:
        verdict = "disagrees"
    else:
        verdict = "inconclusive"
    text = f"Spearman ρ = {rho:+.2f} (permutation p = {p:.3g}, n = {len(x)})"
    return Evidence(
        view,
        quantity,
        f"sign {expected_sign:+d}",
        round(rho, 4),
        verdict,
        f"{text}. {detail}".strip(),
        None,
        alpha,
        figure,
        test="Spearman permutation trend",
        effect=round(rho, 4),
        p=p,
        n=len(x),
    )


def from_test(
    view: str,
    quantity: str,
    result: TestResult,
    *,
    predicted: Any = None,
    detail: str = "",
    figure: str | None = None,
) -> Evidence:
    """Evidence from a :class:`threefactors.statistics.TestResult` (its verdict, effect,
    interval, p, margin and detectable effect)."""
    text = " ".join(t for t in (result.detail, detail) if t)
    return Evidence(
        view,
        quantity,
        predicted,
        result.effect,
        result.verdict,  # type: ignore[arg-type]
        text,
        figure=figure,
        test=result.test,
        effect=result.effect,
        interval=None if result.interval is None else [float(v) for v in result.interval],
        p=result.p,
        margin=result.margin,
        detectable_effect=result.detectable_effect,
        n=result.n,
    )


def not_run(view: str, quantity: str, reason: str) -> Evidence:
    """A test that could not run (too few finished runs, an incomplete grid)."""
    return Evidence(view, quantity, None, None, "not run", reason)


def holm_adjusted(evidence: list[Evidence], primary: str, alpha: float = 0.05) -> list[Evidence]:
    """Holm-adjust the p-values of the secondary tests (every item but ``primary`` with a p).

    A secondary verdict whose adjusted p is ≥ ``alpha`` becomes inconclusive (for an
    equivalence or non-inferiority test, whose p is that of equivalence, only ``agrees``)."""
    from dataclasses import replace

    tested = [i for i, e in enumerate(evidence) if e.quantity != primary and e.p is not None]
    if not tested:
        return evidence
    from threefactors.statistics import holm

    adjusted = holm([evidence[i].p for i in tested])
    out = list(evidence)
    for i, p_holm in zip(tested, adjusted, strict=True):
        item = out[i]
        verdict = item.verdict
        judged = ("agrees",) if item.margin is not None else ("agrees", "disagrees")
        if verdict in judged and p_holm >= alpha:
            verdict = "inconclusive"
        out[i] = replace(item, p_holm=float(p_holm), verdict=verdict)
    return out


@dataclass
class Context:
    """What a claim's evidence functions need: where to write, the scale, the seed."""

    out: Path
    scale: str = "default"
    seed: int = 0
    progress: bool = True
    data_dir: str | None = None
    executor: ExecutorSpec = LOCAL  # where the network grids' runs execute
    ensemble: bool = True  # train runs that can share a loop as one ensemble

    @property
    def quick(self) -> bool:
        return self.scale == "quick"

    def log(self, message: str) -> None:
        if self.progress:
            print(message, file=sys.stderr, flush=True)

    def figure(self, name: str, data: dict[str, Any], plot: Callable[[dict, Path], None]) -> str:
        """Save the data behind a figure as ``name.json``, draw ``name.png``; return its name."""
        write_atomic(self.out / f"{name}.json", dumps(data))
        plot(data, self.out / f"{name}.png")
        return f"{name}.png"


Settings = Mapping[str, Any]
Gather = Callable[[Context, Settings], list[Evidence]]


def read_jointly(view: str, primary: str, prefix: str, figure: str, items: Gather) -> Gather:
    """A claim's evidence: its ``items``, led by those of ``view`` whose quantity starts with
    ``prefix`` read jointly (:func:`jointly`) as the primary test ``primary``."""

    def evidence(ctx: Context, settings: Settings) -> list[Evidence]:
        found = items(ctx, settings)
        selected = [e for e in found if e.view == view and e.quantity.startswith(prefix)]
        return [jointly(view, primary, selected, figure=figure), *found]

    return evidence


@dataclass(frozen=True)
class ClaimSpec:
    """A claim, declared before any data are seen.

    ``primary`` is the quantity of the evidence item whose verdict is the claim's (with
    ``primary_view`` and ``primary_test`` saying which view and which test); ``secondary``
    lists the other tests. ``scales`` maps quick / default / paper to the settings the
    evidence functions read; ``views`` are those functions (theory, simulation, networks),
    each (context, settings) → evidence.
    """

    id: str
    statement: str
    source: str
    command: str
    primary_view: str
    primary: str
    primary_test: str
    secondary: tuple[str, ...]
    scales: Mapping[str, Settings]
    views: tuple[Gather, ...]
    paper_setting: str = ""

    def settings(self, scale: str) -> Settings:
        """The settings at ``scale`` (``paper`` falls back to ``default`` for views that
        need no data set)."""
        return self.scales.get(scale) or self.scales["default"]

    def gather(self, ctx: Context) -> list[Evidence]:
        """Every view's evidence at the context's scale, secondary p-values Holm-adjusted."""
        settings = self.settings(ctx.scale)
        evidence = [item for view in self.views for item in view(ctx, settings)]
        return holm_adjusted(evidence, self.primary)


def plotter(name: str) -> Callable[[dict, Path], None]:
    """``threefactors.plotting.plot_<name>`` (matplotlib is imported only when drawing)."""

    def draw(data: dict, path: Path) -> None:
        from threefactors import plotting

        getattr(plotting, f"plot_{name.replace('-', '_')}")(data, path)

    return draw
