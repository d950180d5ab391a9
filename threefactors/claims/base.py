"""What a claim is, its registered design, and the evidence each view brings.

A :class:`ClaimSpec` is a **registered design**: its kind, its statement split into
:class:`Part` s — each with the quantity, readout, test, sidedness, α, margin and why, unit
of replication, replicates and stopping rule — its secondary tests (shown, Holm-adjusted
across the claim, never deciding), the pilot seeds that sized it (never confirming seeds),
its settings at each scale and the functions that gather the evidence of each view. The
design has a short hash (:meth:`ClaimSpec.design_hash`); a change to it after data were
seen is an :class:`Amendment` (date, change, the old design's result, reason), shown in the
report with the old result beside the new. A test holds every hash against its
registration.

Two kinds of claim, two vocabularies (docs/statistics.md, "Two kinds of rows"):

- **verification** — the package's own machinery held against an exact answer it also
  computes (an SDE ensemble against its Gibbs law, SGD against the finite-η law, the
  Fokker–Planck relaxation against the MFPT, weak orders): ``verified`` / ``failed``. It
  checks the machinery; it cannot confirm or refute a paper.
- **reproduction** — a paper's statement tested on what the paper tested (networks; true
  SGD where the statement is about SGD itself): ``reproduced`` / ``not reproduced`` (the
  registered test contradicts the statement; the interval says by how much) /
  ``inconclusive`` (with the smallest effect the design could detect). A statement of
  several parts is reproduced only when every part is (an intersection–union test: no
  multiplicity correction is needed across parts; Berger 1982).

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

import math
import sys
import time
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
Z_95 = 1.959963984540054  # the standard normal's 97.5 % quantile
Kind = Literal["verification", "reproduction"]
Label = Literal["verified", "failed", "reproduced", "not reproduced", "inconclusive", "not run"]
KINDS: tuple[Kind, ...] = ("verification", "reproduction")
FIXED_DESIGN = "fixed design: every registered replicate runs, no interim look"
ENSEMBLE_UNIT = "particle ensemble (se from its own particles)"


def label(kind: Kind, verdict: Verdict) -> Label:
    """A test's verdict in the vocabulary of its claim's kind.

    verification: agrees → verified; disagrees or inconclusive → failed (a check against an
    exact answer that cannot show agreement has failed). reproduction: agrees → reproduced,
    disagrees → not reproduced, inconclusive → inconclusive.
    """
    if verdict == "not run":
        return "not run"
    if kind == "verification":
        return "verified" if verdict == "agrees" else "failed"
    return {"agrees": "reproduced", "disagrees": "not reproduced"}.get(verdict, "inconclusive")


def combine(kind: Kind, labels: Sequence[Label]) -> Label:
    """A claim's label from its parts': every part must hold (intersection–union)."""
    if not labels:
        return "not run"
    if kind == "verification":
        if "failed" in labels:
            return "failed"
        return "verified" if all(x == "verified" for x in labels) else "not run"
    if "not reproduced" in labels:
        return "not reproduced"
    if "not run" in labels:
        return "not run"
    return "reproduced" if all(x == "reproduced" for x in labels) else "inconclusive"


@dataclass(frozen=True)
class Part:
    """One part of a claim's statement and its registered test.

    ``quantity`` names the evidence item whose verdict decides the part; ``readout`` says
    where it is read (the point of training, the time, the temperatures); ``test`` the
    statistic and decision rule with its sidedness; ``margin`` the margin and why it is
    that size ("" when the test has none); ``unit`` the unit of replication; ``replicates``
    how many at the default scale; ``stopping`` the stopping rule.
    """

    statement: str
    quantity: str
    view: str
    test: str
    readout: str
    sidedness: str
    alpha: float | None = 0.05
    margin: str = ""
    unit: str = "seed"
    replicates: str = ""
    stopping: str = FIXED_DESIGN


@dataclass(frozen=True)
class Amendment:
    """A change to a registered design after data were seen, with the old design's result.

    ``design_hash`` is the design's hash after the change: the registration test holds the
    current design against the last amendment's hash.
    """

    date: str
    change: str
    old_result: str
    reason: str
    design_hash: str


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
    level: float | None = None  # the confidence level of ``interval``


@dataclass
class Claim:
    """A claim's result: its kind, its parts' statements and deciding quantities, the
    evidence of each view, its design hash and amendments (as plain data, as saved)."""

    id: str
    statement: str
    source: str
    evidence: list[Evidence] = field(default_factory=list)
    seconds: float = 0.0
    kind: Kind = "reproduction"
    parts: list[dict[str, str]] = field(default_factory=list)  # {statement, quantity}
    design_hash: str = ""
    amendments: list[dict[str, str]] = field(default_factory=list)
    families: list[str] = field(default_factory=list)  # model families, the first unmarked

    def evidence_of(self, quantity: str) -> Evidence | None:
        return next((e for e in self.evidence if e.quantity == quantity), None)

    @property
    def primary(self) -> Evidence | None:
        """The evidence of the first part's registered test (None when it did not run)."""
        return self.evidence_of(self.parts[0]["quantity"]) if self.parts else None

    def part_labels(self, family: str | None = None) -> list[Label]:
        """Each part's label on ``family`` (default: the first): its registered test's
        verdict in the kind's vocabulary."""
        found = [
            self.evidence_of(family_quantity(part["quantity"], family, self.families))
            for part in self.parts
        ]
        return [label(self.kind, "not run" if e is None else e.verdict) for e in found]

    def family_verdicts(self) -> dict[str, Label]:
        """Per model family, the claim's label from that family's parts."""
        return {f: combine(self.kind, self.part_labels(f)) for f in self.families}

    @property
    def verdict(self) -> Label:
        """Follows from the parts on every model family (intersection–union: reproduced
        only where every family reproduces it); secondary evidence never decides."""
        if len(self.families) <= 1:
            return combine(self.kind, self.part_labels())
        return combine(self.kind, [x for f in self.families for x in self.part_labels(f)])

    @property
    def verdict_text(self) -> str:
        """The verdict with its families: "reproduced on 2 of 2 families", "reproduced on
        mlp only (cnn: inconclusive)"."""
        verdicts = self.family_verdicts()
        if len(verdicts) <= 1:
            return self.verdict
        held = [f for f, v in verdicts.items() if v == "reproduced"]
        others = ", ".join(f"{f}: {v}" for f, v in verdicts.items() if v != "reproduced")
        if len(held) == len(verdicts):
            return f"reproduced on {len(held)} of {len(verdicts)} families"
        if not held:
            return f"{self.verdict} ({others})"
        return f"reproduced on {', '.join(held)} only ({others})"


def family_quantity(quantity: str, family: str | None, families: Sequence[str]) -> str:
    """The evidence name of ``quantity`` on model ``family``: unmarked on the first family
    (the one every claim has), ``quantity [family]`` on the others."""
    if family is None or not families or family == families[0]:
        return quantity
    return f"{quantity} [{family}]"


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
    A non-finite observation (a diverged run) disagrees. The effect is obs − pred with its
    95 % confidence interval effect ± 1.96·se (the decision band, z·se + bias, is
    ``tolerance``).
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
        interval=[effect - Z_95 * float(stderr), effect + Z_95 * float(stderr)],
        level=0.95,
    )


def jointly(
    view: str,
    quantity: str,
    items: Sequence[Evidence],
    detail: str = "",
    figure: str | None = None,
) -> Evidence:
    """Several comparisons of one view read as one test: agrees iff every item agrees.

    The effect is the worst item's normalised deviation |observed − predicted| / tolerance
    (≤ 1 when all agree), and the interval that item's confidence interval in the same
    units (its interval / its tolerance), at its level.
    """
    ran = [e for e in items if e.verdict != "not run"]
    verdict: Verdict = (
        "not run"
        if not ran
        else "agrees"
        if all(e.verdict == "agrees" for e in ran)
        else "disagrees"
    )
    scored = [e for e in ran if e.effect is not None and e.tolerance]
    worst_item = max(scored, key=lambda e: abs(e.effect) / e.tolerance, default=None)
    worst = interval = level = None
    if worst_item is not None:
        worst = abs(worst_item.effect) / worst_item.tolerance
        sign = 1.0 if worst_item.effect >= 0 else -1.0
        if worst_item.interval is not None:
            low, high = (sign * v / worst_item.tolerance for v in worst_item.interval)
            interval, level = [min(low, high), max(low, high)], worst_item.level
        detail = (
            f"effect = the worst item's |observed − predicted| / tolerance = {worst:.3g} "
            f"({worst_item.quantity}). {detail}"
        )
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
        interval=interval,
        n=len(ran),
        level=level,
    )


def intersection(view: str, quantity: str, items: Sequence[Evidence], detail: str = "") -> Evidence:
    """Several tests that must all hold (an intersection–union test, level α without any
    correction: Berger 1982): agrees iff every item agrees, disagrees iff any disagrees,
    else inconclusive. The deciding item — the first that disagrees, else the least
    significant — lends its effect, interval, p, margin and detectable effect."""
    ran = [e for e in items if e.verdict != "not run"]
    if not ran or len(ran) < len(items):
        return not_run(view, quantity, f"{len(items) - len(ran)} of {len(items)} tests did not run")
    verdicts = [e.verdict for e in ran]
    verdict: Verdict = (
        "disagrees"
        if "disagrees" in verdicts
        else "agrees"
        if all(v == "agrees" for v in verdicts)
        else "inconclusive"
    )
    deciding = next(
        (e for e in ran if e.verdict == "disagrees"),
        max(ran, key=lambda e: -1.0 if e.p is None else e.p),
    )
    return Evidence(
        view,
        quantity,
        "every item holds",
        f"{verdicts.count('agrees')} of {len(ran)} hold",
        verdict,
        f"deciding item: {deciding.quantity}. {detail}".strip(),
        figure=deciding.figure,
        test="all of: " + (deciding.test or "test"),
        effect=deciding.effect,
        interval=deciding.interval,
        p=deciding.p,
        margin=deciding.margin,
        detectable_effect=deciding.detectable_effect,
        n=deciding.n,
        level=deciding.level,
    )


def trend(
    view: str,
    quantity: str,
    x: Sequence[float],
    y: Sequence[float],
    expected_sign: int,
    *,
    detail: str = "",
    figure: str | None = None,
) -> Evidence:
    """A claimed monotone relation of a **deterministic** curve y(x) (``expected_sign`` =
    +1 or −1), stated as an exact fact: agrees iff y is strictly monotone in the claimed
    direction. The effect is the fraction of steps in the claimed direction (1 exactly when
    it agrees). No p-value: nothing in a computed curve is random.
    """
    if len(x) < 2:
        return Evidence(view, quantity, expected_sign, None, "not run", "fewer than 2 points")
    order = np.argsort(np.asarray(x, float))
    steps = np.diff(np.asarray(y, float)[order]) * expected_sign
    share = float(np.mean(steps > 0))
    verdict: Verdict = "agrees" if share == 1.0 else "disagrees"
    text = (
        f"exact: deterministic curve, {int(np.sum(steps > 0))} of {steps.size} steps in the "
        f"claimed direction (n = {len(x)})"
    )
    return Evidence(
        view,
        quantity,
        f"strictly monotone, sign {expected_sign:+d}",
        share,
        verdict,
        f"{text}. {detail}".strip(),
        figure=figure,
        test="exact monotonicity of a computed curve",
        effect=share,
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
        level=result.confidence,
    )


def not_run(view: str, quantity: str, reason: str) -> Evidence:
    """A test that could not run (too few finished runs, an incomplete grid)."""
    return Evidence(view, quantity, None, None, "not run", reason)


def holm_adjusted(
    evidence: list[Evidence], registered: Sequence[str], alpha: float = 0.05
) -> list[Evidence]:
    """Holm-adjust the p-values of the secondary tests: every item with a p whose quantity
    is not one of the parts' ``registered`` quantities (the family is the claim's secondary
    tests; no correction is applied across claims).

    A secondary verdict whose adjusted p is ≥ ``alpha`` becomes inconclusive (for an
    equivalence or non-inferiority test, whose p is that of equivalence, only ``agrees``)."""
    from dataclasses import replace

    tested = [i for i, e in enumerate(evidence) if e.quantity not in registered and e.p is not None]
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
    family: str | None = None  # the model family the network grids run on (None: the grid's)
    first: str | None = None  # the claim's first family (its figures and runs unmarked)
    # TrainConfig fields set in every network run, over the design's (reproduce --set)
    overrides: Mapping[str, Any] = field(default_factory=dict)

    @property
    def quick(self) -> bool:
        return self.scale == "quick"

    @property
    def marker(self) -> str:
        """ "" on the first family, "-cnn" on family cnn: marks its runs and figures."""
        return "" if self.family is None or self.family == self.first else f"-{self.family}"

    def figure_name(self, figure: str | None) -> str | None:
        """``name.png`` → the family's ``name-cnn.png`` (unchanged on the first family)."""
        if figure is None or not self.marker:
            return figure
        return figure.removesuffix(".png") + f"{self.marker}.png"

    def log(self, message: str) -> None:
        if self.progress:
            print(message, file=sys.stderr, flush=True)

    def figure(self, name: str, data: dict[str, Any], plot: Callable[[dict, Path], None]) -> str:
        """Save the data behind a figure as ``name.json``, draw ``name.png``; return its name."""
        name = f"{name}{self.marker}"
        labelled = data if self.family is None else {**data, "family": self.family}
        write_atomic(self.out / f"{name}.json", dumps(labelled))
        plot(labelled, self.out / f"{name}.png")
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
    """A claim's registered design, declared before its confirming data are seen.

    ``parts`` split the statement; each part's ``quantity`` is the evidence item whose
    verdict decides it. ``secondary`` lists the other tests (shown, never deciding).
    ``scales`` maps quick / default / paper to the settings the evidence functions read;
    ``views`` are those functions, each (context, settings) → evidence. ``pilot_seeds`` are
    the replicate seeds [first, last) of runs that sized or chose the design: a confirming
    run uses none of them. ``registered`` is the design hash at registration and
    ``amendments`` every later change.
    """

    id: str
    statement: str
    source: str
    command: str
    kind: Kind
    parts: tuple[Part, ...]
    secondary: tuple[str, ...]
    scales: Mapping[str, Settings]
    views: tuple[Gather, ...]
    registered: str
    paper_setting: str = ""
    pilot_seeds: tuple[tuple[int, int], ...] = ()
    amendments: tuple[Amendment, ...] = ()
    replicates: Callable[[str, int], set[int]] | None = None  # (scale, seed) → seeds used
    families: tuple[str, ...] = ()  # the model families its network evidence runs on

    @property
    def primary(self) -> str:
        """The first part's deciding quantity."""
        return self.parts[0].quantity

    def design(self) -> dict[str, Any]:
        """The registered design as plain data: what the hash covers."""
        from dataclasses import asdict

        return {
            "id": self.id,
            "kind": self.kind,
            "statement": self.statement,
            "parts": [asdict(part) for part in self.parts],
            "secondary": list(self.secondary),
            "pilot_seeds": [list(r) for r in self.pilot_seeds],
            "default": {k: v for k, v in self.settings("default").items()},
            **({"families": list(self.families)} if self.families else {}),
        }

    def design_hash(self) -> str:
        """A short hash of :meth:`design` (sha256 of its canonical JSON, 12 hex digits)."""
        import hashlib
        import json

        text = json.dumps(self.design(), sort_keys=True, ensure_ascii=True, default=list)
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    @property
    def expected_hash(self) -> str:
        """The hash the design must have: the last amendment's, else the registration's."""
        return self.amendments[-1].design_hash if self.amendments else self.registered

    def pilot_overlap(self, scale: str, seed: int) -> list[int]:
        """Replicate seeds a run at (``scale``, ``seed``) would share with the pilots."""
        if self.replicates is None or not self.pilot_seeds:
            return []
        seeds = self.replicates(scale, seed)
        return sorted(s for s in seeds if any(lo <= s < hi for lo, hi in self.pilot_seeds))

    def settings(self, scale: str) -> Settings:
        """The settings at ``scale`` (``paper`` falls back to ``default`` for views that
        need no data set)."""
        return self.scales.get(scale) or self.scales["default"]

    def families_at(self, scale: str) -> tuple[str, ...]:
        """The model families run at ``scale``: every one at the default scale; the quick
        scale (minutes on 2 cores) runs the first, and the paper scale runs its grids' own
        models (VGG-11 / CIFAR-10 …) as the one family."""
        return self.families if scale == "default" else self.families[:1]

    def gather(self, ctx: Context) -> list[Evidence]:
        """Every view's evidence at the context's scale, secondary p-values Holm-adjusted;
        once per model family, the later families' quantities and figures marked with the
        family's name (Holm within each family: each is its own replicate study)."""
        from dataclasses import replace as with_fields

        settings = self.settings(ctx.scale)
        families = self.families_at(ctx.scale)
        evidence: list[Evidence] = []
        for family in families or (None,):
            here = ctx if family is None else with_fields(ctx, family=family, first=families[0])
            start = time.perf_counter()
            found = [item for view in self.views for item in view(here, settings)]
            if family is not None:
                ctx.log(f"{self.id} [{family}]: {time.perf_counter() - start:.0f} s")
            found = holm_adjusted(found, [part.quantity for part in self.parts])
            evidence += [
                with_fields(
                    e,
                    quantity=family_quantity(e.quantity, family, families),
                    figure=here.figure_name(e.figure),
                )
                for e in found
            ]
        return evidence

    def claim(self, evidence: list[Evidence], seconds: float, scale: str = "default") -> Claim:
        """The result of this design on ``evidence`` gathered at ``scale`` (its families are
        those run there)."""
        from dataclasses import asdict

        return Claim(
            self.id,
            self.statement,
            self.source,
            evidence,
            seconds,
            self.kind,
            [{"statement": p.statement, "quantity": p.quantity} for p in self.parts],
            self.design_hash(),
            [asdict(a) for a in self.amendments],
            list(self.families_at(scale)),
        )


def plotter(name: str) -> Callable[[dict, Path], None]:
    """``threefactors.plotting.plot_<name>`` (matplotlib is imported only when drawing)."""

    def draw(data: dict, path: Path) -> None:
        from threefactors import plotting

        plotting.draw(name, data, path)

    return draw
