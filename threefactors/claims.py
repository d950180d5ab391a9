"""Claims of the papers and the evidence each view brings for or against them.

A :class:`Claim` gathers :class:`Evidence` from the three views. Each piece of evidence is a
comparison whose verdict is decided by statistics, not taste:

- :func:`compare` — a number predicted by one route (theory) against one measured by
  another (simulation, networks): ``agrees`` when |observed − predicted| ≤ z·se + bias,
  with se the estimator's own standard error and bias a stated bound (e.g. a scheme's
  dt-bias or the Laplace error);
- :func:`trend` — a monotone relation claimed qualitatively (e.g. "larger η/S → smaller
  λ_max") judged by Spearman's ρ and its permutation p-value: ``agrees`` when ρ has the
  claimed sign and p < alpha, ``disagrees`` when the sign is opposite and p < alpha,
  ``inconclusive`` otherwise (a quick run too small to tell is reported as such, never
  massaged into agreement).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from scipy import stats

Verdict = Literal["agrees", "disagrees", "inconclusive", "not run"]


@dataclass
class Evidence:
    """One comparison: what a view predicted or measured, and the verdict."""

    view: str  # "theory", "simulate", "empirical"
    quantity: str
    predicted: Any
    observed: Any
    verdict: Verdict
    detail: str = ""
    stderr: float | None = None
    tolerance: float | None = None
    figure: str | None = None


@dataclass
class Claim:
    """A claim of the papers, with its source and the evidence of each view."""

    id: str
    statement: str
    source: str
    evidence: list[Evidence] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def verdict(self) -> Verdict:
        """``disagrees`` if any evidence disagrees, ``agrees`` if all that ran agree."""
        ran = [e.verdict for e in self.evidence if e.verdict != "not run"]
        if not ran:
            return "not run"
        if "disagrees" in ran:
            return "disagrees"
        if all(v == "agrees" for v in ran):
            return "agrees"
        return "inconclusive"


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
    A non-finite observation (a diverged run) disagrees.
    """
    tolerance = z * float(stderr) + float(bias)
    finite = math.isfinite(observed) and math.isfinite(predicted)
    verdict: Verdict = (
        "agrees" if finite and abs(observed - predicted) <= tolerance else "disagrees"
    )
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
    )


def spearman_permutation(
    x: Sequence[float], y: Sequence[float], permutations: int = 20000, seed: int = 0
) -> tuple[float, float]:
    """Spearman's ρ of (x, y) and its two-sided permutation p-value.

    ρ is Pearson's correlation of the ranks; under the null every pairing of the ranks is
    equally likely, so p = P(|ρ_perm| ≥ |ρ|): enumerated exactly for n ≤ 8, otherwise from
    ``permutations`` seeded random pairings with the observed one counted (p ≥ 1/(M+1)).
    """
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
    )
