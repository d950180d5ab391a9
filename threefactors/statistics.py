"""Statistical tests fitted to the claims' designs: seeds, paired runs, equivalence margins.

Every procedure returns a :class:`TestResult` with a three-way verdict:

- ``agrees`` — the claimed effect (direction, equivalence or non-inferiority) is shown at
  level α;
- ``disagrees`` — the opposite is shown at level α (the reverse trend, a difference outside
  the equivalence margin, an inferiority beyond the margin);
- ``inconclusive`` — neither; the result then states ``detectable_effect``, the smallest
  effect the design could have shown, so that "could not reject" is never read as "no
  effect" (equivalence needs an equivalence test: Schuirmann 1987).

Conventions (the same for every test):

- ``p`` is the p-value of the test that decided the verdict: the test of the claim for
  ``agrees`` and ``inconclusive``, the test of the opposite for ``disagrees``. This is the
  p-value :func:`with_holm` adjusts.
- ``interval`` is the two-sided (1 − α) interval for two-sided tests and the (1 − 2α)
  interval for one-sided tests, TOST and non-inferiority (its relevant bound is the
  one-sided (1 − α) bound), so that interval and verdict tell the same story (e.g. the
  TOST interval lies inside ±margin exactly when equivalence is shown); ``confidence``
  records which.
- ``detectable_effect`` for t-based tests is the true effect detected with 80 % power,
  solved from the noncentral t distribution with the observed standard error (Cohen 1988,
  ch. 2); for the rank and permutation tests it is the critical value: the observed effect
  that reaches p < α for this design (a true effect of that size is detected about half the
  time). ``inf`` means no effect can reach p < α with this design (JSON: ``null``).

Missing values (NaN / None) are dropped with their partner and counted in ``detail``; the
caller reports the missing runs themselves.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike

from threefactors.errors import InputError, require
from threefactors.jsonio import to_jsonable

Verdict = Literal["agrees", "disagrees", "inconclusive"]
Alternative = Literal["two-sided", "greater", "less"]

POWER = 0.8  # the power at which t-based and sign tests state their detectable effect
_EXACT_PERMUTATION_LEVELS = 8  # per-seed enumeration up to 8! = 40,320 orderings
_EXACT_SUPPORT = 2_000_000  # largest support of the exact seed-blocked null distribution
_EXACT_WILCOXON = 50  # exact signed-rank null distribution up to this many pairs
_TOL = 1e-9  # permutation statistics equal up to float round-off count as ties


@dataclass(frozen=True)
class TestResult:
    """The outcome of one test: effect, interval, p, verdict and the design's power."""

    __test__ = False  # not a pytest test class

    test: str
    effect: float
    interval: tuple[float, float] | None
    p: float | None
    verdict: Verdict
    n: int
    margin: float | None = None
    detectable_effect: float | None = None
    detail: str = ""
    confidence: float | None = None
    alpha: float = 0.05
    p_claim: float | None = None  # equivalence / non-inferiority: the p of the claim's test

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dictionary, keys as the fields (non-finite numbers become ``None``)."""
        return to_jsonable(dataclasses.asdict(self))


# --------------------------------------------------------------------------- input checks


def _as_float(value: Any) -> float:
    """``value`` as a float, NaN when it is not a number (the caller's check then fails)."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _check_alpha(alpha: float) -> float:
    value = _as_float(alpha)
    require(0 < value < 0.5, "alpha", alpha, "must lie in (0, 0.5)")
    return value


def _check_alternative(alternative: str) -> Alternative:
    require(
        alternative in ("two-sided", "greater", "less"),
        "alternative",
        alternative,
        "must be 'two-sided', 'greater' or 'less'",
    )
    return alternative  # type: ignore[return-value]


def _check_sign(sign: int) -> int:
    require(sign in (1, -1), "sign", sign, "must be +1 or -1 (the claimed direction)")
    return int(sign)


def _floats(values: ArrayLike, parameter: str) -> np.ndarray:
    try:
        array = np.asarray(values, dtype=float).ravel()
    except (TypeError, ValueError) as error:
        raise InputError(parameter, values, "must be a sequence of numbers") from error
    require(not np.isinf(array).any(), parameter, values, "must not contain infinities")
    return array


def _reach(value: float, what: str, alpha: float) -> str:
    """The detectable-effect clause of a detail sentence."""
    if math.isinf(value):
        return f"no outcome of this design reaches p < {alpha:g}"
    return f"{what} {value:.3g}"


def _dropped(count: int) -> str:
    return f" {count} missing value(s) dropped." if count else ""


def _paired(a: ArrayLike, b: ArrayLike) -> tuple[np.ndarray, int]:
    """Differences a − b of the pairs where both are present, and the number dropped."""
    a, b = _floats(a, "a"), _floats(b, "b")
    require(len(a) == len(b), "b", len(b), f"paired samples need equal lengths ({len(a)})")
    keep = ~(np.isnan(a) | np.isnan(b))
    return a[keep] - b[keep], int((~keep).sum())


def _present(values: ArrayLike, parameter: str) -> tuple[np.ndarray, int]:
    array = _floats(values, parameter)
    keep = ~np.isnan(array)
    return array[keep], int((~keep).sum())


# --------------------------------------------------------------------------- t machinery


@dataclass(frozen=True)
class _Estimate:
    """A normal-theory estimate: value, standard error and degrees of freedom."""

    value: float
    se: float
    df: float


def _mean_estimate(d: np.ndarray, parameter: str) -> _Estimate:
    require(len(d) >= 2, parameter, len(d), "needs at least 2 complete pairs/values")
    return _Estimate(float(d.mean()), float(d.std(ddof=1) / math.sqrt(len(d))), len(d) - 1)


def _welch_estimate(a: np.ndarray, b: np.ndarray) -> _Estimate:
    """Welch (1947): se² = s_a²/n_a + s_b²/n_b, Satterthwaite degrees of freedom."""
    require(len(a) >= 2, "a", len(a), "needs at least 2 values")
    require(len(b) >= 2, "b", len(b), "needs at least 2 values")
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se2 = va + vb
    df = se2**2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1)) if se2 > 0 else len(a) + len(b)
    return _Estimate(float(a.mean() - b.mean()), float(math.sqrt(se2)), float(df))


def _t_sf(t: float, df: float) -> float:
    """P(T > t) for Student's t; a zero standard error gives t = ±inf (p = 0 or 1)."""
    from scipy import stats

    return float(stats.t.sf(t, df))


def _t_ratio(difference: float, se: float) -> float:
    if se > 0:
        return difference / se
    return math.copysign(math.inf, difference) if difference else 0.0


def _t_quantile(q: float, df: float) -> float:
    from scipy import stats

    return float(stats.t.ppf(q, df))


def _solve_increasing(f: Callable[[float], float], target: float, low: float) -> float:
    """The x ≥ low where the increasing function f crosses target (bracket grows ×2)."""
    from scipy.optimize import brentq

    high = max(2 * low, 1.0)
    while f(high) < target:
        high *= 2
        if high > 1e8:
            return math.inf
    return float(brentq(lambda x: f(x) - target, low, high, xtol=1e-10))


def _t_detectable(est: _Estimate, alpha: float, two_sided: bool) -> float:
    """True effect δ with power 0.8: P(T' > t_c) = 0.8, T' ~ noncentral t(df, δ/se).

    t_c = t_{1−α/2, df} (two-sided; the opposite tail, below 10⁻³ at this power, is
    neglected) or t_{1−α, df}; close to (t_c + t_{0.8, df})·se, which it refines
    (Cohen 1988, ch. 2). The observed se stands in for the true one.
    """
    return _detectable_ncp(est.df, alpha / 2 if two_sided else alpha) * est.se


@functools.lru_cache(maxsize=1024)
def _detectable_ncp(df: float, tail: float) -> float:
    """Noncentrality λ with P(T' > t_{1−tail, df}) = 0.8, T' ~ noncentral t(df, λ)."""
    from scipy import stats

    t_c = _t_quantile(1 - tail, df)
    return _solve_increasing(lambda ncp: float(stats.nct.sf(t_c, df, ncp)), POWER, 0.0)


def _directional(p_claim: float, p_opposite: float, alpha: float) -> tuple[Verdict, float]:
    """``agrees`` if the claim's test rejects, ``disagrees`` if the opposite's does."""
    if p_claim < alpha:
        return "agrees", p_claim
    if p_opposite < alpha:
        return "disagrees", p_opposite
    return "inconclusive", p_claim


def _decide(
    upper_p: float, lower_p: float, alternative: Alternative, alpha: float
) -> tuple[Verdict, float, float]:
    """Verdict, p and interval coverage from the two one-sided p-values of a test.

    ``two-sided``: p = min(1, 2·min(upper, lower)), agrees when p < α (a difference, either
    sign), coverage 1 − α. One-sided: :func:`_directional` on the claimed and the opposite
    tail, coverage 1 − 2α.
    """
    if alternative == "two-sided":
        p = min(1.0, 2 * min(upper_p, lower_p))
        return ("agrees" if p < alpha else "inconclusive"), p, 1 - alpha
    claim, opposite = (upper_p, lower_p) if alternative == "greater" else (lower_p, upper_p)
    verdict, p = _directional(claim, opposite, alpha)
    return verdict, p, 1 - 2 * alpha


def _interval(est: _Estimate, confidence: float) -> tuple[float, float]:
    half = _t_quantile(0.5 + confidence / 2, est.df) * est.se if est.se else 0.0
    return (est.value - half, est.value + half)


def _one_or_two_sided(
    name: str,
    est: _Estimate,
    alpha: float,
    alternative: Alternative,
    n: int,
    units: str,
    note: str = "",
) -> TestResult:
    """A t test of est.value = 0: verdict, interval and detectable effect."""
    t = _t_ratio(est.value, est.se)
    verdict, p, confidence = _decide(_t_sf(t, est.df), _t_sf(-t, est.df), alternative, alpha)
    interval = _interval(est, confidence)
    detectable = _t_detectable(est, alpha, alternative == "two-sided")
    detail = (
        f"{units} = {est.value:+.4g} (se {est.se:.3g}, t = {t:+.3g}, df = {est.df:.4g}), "
        f"{100 * confidence:.0f}% CI [{interval[0]:+.4g}, {interval[1]:+.4g}], "
        f"p = {p:.3g} ({alternative}); 80% power at |effect| ≥ {detectable:.3g}.{note}"
    )
    return TestResult(
        name, est.value, interval, p, verdict, n, None, detectable, detail, confidence, alpha
    )


def mean_interval(
    values: ArrayLike, confidence: float = 0.95, bounds: tuple[float, float] | None = None
) -> tuple[float, float]:
    """Student-t confidence interval of the mean of i.i.d. replicate statistics.

    x̄ ± t_{(1+c)/2, n−1} · s/√n (s the sample standard deviation, n ≥ 2 replicates, one
    statistic per replicate), clipped to ``bounds`` when the statistic is bounded (a mean of
    correlations: [−1, 1]). Exact for normal statistics and asymptotically right otherwise
    (its coverage on the designs the claims use is tested).
    """
    x = _floats(values, "values")
    x = x[np.isfinite(x)]
    require(x.size >= 2, "values", values, "need ≥ 2 replicate statistics for an interval")
    require(0 < confidence < 1, "confidence", confidence, "must lie in (0, 1)")
    est = _Estimate(float(x.mean()), float(x.std(ddof=1)) / math.sqrt(x.size), x.size - 1)
    low, high = _interval(est, confidence)
    if bounds is not None:
        low, high = max(bounds[0], low), min(bounds[1], high)
    return (float(low), float(high))


# --------------------------------------------------------------------------- paired t


def paired_difference(
    a: ArrayLike, b: ArrayLike, alpha: float = 0.05, alternative: Alternative = "two-sided"
) -> TestResult:
    """Paired t test of the mean difference d = a − b (pairs share seed, weights, test set).

    t = d̄ / (s_d/√n), df = n − 1 (Student 1908). ``effect`` = d̄ in the units of a and b.
    ``greater`` claims a > b: agrees when P(T ≥ t) < α, disagrees when P(T ≤ t) < α;
    ``two-sided`` agrees on a difference of either sign (it cannot disagree: showing no
    difference needs :func:`tost`).
    """
    alpha, alternative = _check_alpha(alpha), _check_alternative(alternative)
    d, dropped = _paired(a, b)
    est = _mean_estimate(d, "a")
    return _one_or_two_sided(
        "paired t", est, alpha, alternative, len(d), "mean(a − b)", _dropped(dropped)
    )


# --------------------------------------------------------------------------- equivalence


def _difference(a: ArrayLike, b: ArrayLike, paired: bool) -> tuple[_Estimate, int, int]:
    """Estimate of mean(a) − mean(b): paired t or Welch; units and missing count."""
    if paired:
        d, dropped = _paired(a, b)
        return _mean_estimate(d, "a"), len(d), dropped
    a_, da = _present(a, "a")
    b_, db = _present(b, "b")
    return _welch_estimate(a_, b_), len(a_) + len(b_), da + db


def _check_margin(margin: float) -> float:
    value = _as_float(margin)
    require(
        math.isfinite(value) and value > 0,
        "margin",
        margin,
        "must be a finite number > 0, fixed before the data are seen",
    )
    return value


_LEGENDRE = np.polynomial.legendre.leggauss(64)


def _tost_detectable(est: _Estimate, alpha: float) -> float:
    """Margin m shown with power 0.8 when the true difference is 0.

    TOST shows equivalence when |d̂| + t_c·ŝe < m, t_c = t_{1−α, df}. With d̂ ~ N(0, se²) and
    ŝe = se·u, u² ~ χ²_df/df independent of d̂, its power is
    P(m) = ∫₀^{m'/t_c} [2Φ(m' − t_c·u) − 1] f_u(u) du, m' = m/se (Schuirmann 1987;
    Phillips 1990), integrated by 64-point Gauss–Legendre; m solves P(m) = 0.8 with the
    observed se standing in for the true one. Close to (t_{1−α} + t_{0.9})·se, which
    underestimates the power by 0.003–0.03 for 20 ≥ n ≥ 3.
    """
    return _tost_scaled_margin(est.df, alpha) * est.se


@functools.lru_cache(maxsize=1024)
def _tost_scaled_margin(df: float, alpha: float) -> float:
    """m' = m/se solving the TOST power equation of :func:`_tost_detectable`."""
    from scipy import special

    t_c = _t_quantile(1 - alpha, df)
    nodes, weights = _LEGENDRE
    log_norm = special.gammaln(df / 2) + df / 2 * math.log(2)

    def power(scaled_margin: float) -> float:
        top = scaled_margin / t_c
        u = (nodes + 1) * top / 2
        v = df * u * u  # χ²_df; density of u = 2·u·df·f_χ²(v)
        density = 2 * u * df * np.exp(special.xlogy(df / 2 - 1, v) - v / 2 - log_norm)
        inside = 2 * special.ndtr(scaled_margin - t_c * u) - 1
        return float(top / 2 * weights @ (inside * density))

    return _solve_increasing(power, POWER, 0.0)


def _margin_result(
    name: str,
    est: _Estimate,
    margin: float,
    alpha: float,
    p_claim: float,
    p_opposite: float,
    detectable: float,
    n: int,
    what: str,
    closing: str,
) -> TestResult:
    """Verdict, (1 − 2α) interval and detail of an equivalence / non-inferiority test."""
    verdict, p = _directional(p_claim, p_opposite, alpha)
    confidence = 1 - 2 * alpha
    interval = _interval(est, confidence)
    detail = (
        f"{what} {est.value:+.4g} (se {est.se:.3g}, df {est.df:.4g}), "
        f"{100 * confidence:.0f}% CI [{interval[0]:+.4g}, {interval[1]:+.4g}], margin "
        f"{margin:.4g}: p = {p:.3g}; {closing}"
    )
    return TestResult(
        name,
        est.value,
        interval,
        p,
        verdict,
        n,
        margin,
        detectable,
        detail,
        confidence,
        alpha,
        p_claim,
    )


def tost(
    a: ArrayLike, b: ArrayLike, margin: float, alpha: float = 0.05, paired: bool = True
) -> TestResult:
    """Two one-sided tests (Schuirmann 1987) for equivalence |mean(a) − mean(b)| < margin.

    With d̂ = mean difference (paired: mean of a − b; unpaired: Welch) and its se:
    t₋ = (d̂ + margin)/se tests d ≤ −margin, t₊ = (d̂ − margin)/se tests d ≥ margin;
    equivalence is shown when both reject at α, i.e. when the (1 − 2α) interval
    d̂ ± t_{1−α}·se lies inside (−margin, margin): ``agrees``, p = max of the two one-sided
    p-values. ``disagrees`` when equivalence is not shown and a difference is (that
    interval excludes 0: the one-sided t test of d = 0 in the observed direction rejects at
    α, p its p-value): the claim "no difference" is contradicted, by at least the interval's
    bound nearer 0. "Could not reject a difference" is not equivalence, and an interval
    that excludes the claimed "no difference" is not "could not tell". Else
    ``inconclusive`` with ``detectable_effect`` = the margin this design could have shown
    (see :func:`_tost_detectable`). ``effect`` = d̂. The margin must be declared before the
    data are seen.
    """
    alpha, margin = _check_alpha(alpha), _check_margin(margin)
    est, n, dropped = _difference(a, b, paired)
    p_low = _t_sf(_t_ratio(est.value + margin, est.se), est.df)  # H0: d ≤ −margin
    p_high = _t_sf(_t_ratio(margin - est.value, est.se), est.df)  # H0: d ≥ +margin
    t_zero = _t_ratio(est.value, est.se)
    p_difference = min(_t_sf(t_zero, est.df), _t_sf(-t_zero, est.df))  # H0: d = 0, one side
    detectable = _tost_detectable(est, alpha)
    return _margin_result(
        f"TOST equivalence ({'paired' if paired else 'Welch'})",
        est,
        margin,
        alpha,
        max(p_low, p_high),
        p_difference,
        detectable,
        n,
        "mean difference",
        f"this design shows equivalence within ±{detectable:.3g} with 80% power when there "
        f"is no true difference.{_dropped(dropped)}",
    )


def noninferiority(
    treatment: ArrayLike,
    control: ArrayLike,
    margin: float,
    alpha: float = 0.05,
    paired: bool = True,
    higher_is_better: bool = True,
) -> TestResult:
    """Non-inferiority of treatment to control within a declared margin (one-sided t).

    d = treatment − control, oriented so that d > 0 is better (sign flipped when
    ``higher_is_better`` is False); ``effect`` = d̂ in that orientation. H0: d ≤ −margin,
    t = (d̂ + margin)/se. ``agrees`` when the lower bound of the (1 − 2α) interval exceeds
    −margin (p = P(T ≥ t) < α); ``disagrees`` when its upper bound is below −margin (the
    treatment is shown worse by more than the margin); else ``inconclusive`` with
    ``detectable_effect`` = the margin shown with 80 % power when the true d is 0
    (noncentral t; ICH E9, §3.3.2 and Blackwelder 1982).
    """
    alpha, margin = _check_alpha(alpha), _check_margin(margin)
    sign = 1.0 if higher_is_better else -1.0
    est, n, dropped = _difference(treatment, control, paired)
    est = _Estimate(sign * est.value, est.se, est.df)
    detectable = _t_detectable(est, alpha, two_sided=False)
    return _margin_result(
        f"non-inferiority ({'paired' if paired else 'Welch'})",
        est,
        margin,
        alpha,
        _t_sf(_t_ratio(est.value + margin, est.se), est.df),  # H0: d ≤ −margin
        _t_sf(_t_ratio(-margin - est.value, est.se), est.df),  # H0: d ≥ −margin
        detectable,
        n,
        f"treatment − control ({'higher' if higher_is_better else 'lower'} is better)",
        f"this design shows non-inferiority within {detectable:.3g} with 80% power when "
        f"there is no true difference.{_dropped(dropped)}",
    )


# --------------------------------------------------------------------------- trends


def _blocks(
    x: ArrayLike, y: ArrayLike, seeds: ArrayLike
) -> tuple[list[tuple[np.ndarray, np.ndarray]], int]:
    """(x, y) of each seed, pairs with a missing x or y dropped; and the number dropped."""
    x_, y_ = _floats(x, "x"), _floats(y, "y")
    labels = np.asarray(seeds).ravel()
    require(len(x_) == len(y_), "y", len(y_), f"needs one value per x ({len(x_)})")
    require(len(labels) == len(x_), "seeds", len(labels), f"needs one seed per x ({len(x_)})")
    keep = ~(np.isnan(x_) | np.isnan(y_))
    blocks = [(x_[keep & (labels == s)], y_[keep & (labels == s)]) for s in np.unique(labels[keep])]
    return blocks, int((~keep).sum())


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1 … n, tied values sharing the mean of their ranks (scipy's ``rankdata``)."""
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    new = np.concatenate([[True], ordered[1:] != ordered[:-1]])
    dense = np.empty(len(values), dtype=int)
    dense[order] = np.cumsum(new)
    bounds = np.concatenate([np.flatnonzero(new), [len(values)]])
    return 0.5 * (bounds[dense] + bounds[dense - 1] + 1)


def _centred_ranks(values: np.ndarray) -> np.ndarray:
    ranks = _average_ranks(values)
    return ranks - ranks.mean()


@functools.lru_cache(maxsize=256)
def _null_support(rx: tuple[float, ...], ry: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Exact permutation law of ρ = Σ rx·ry[π] / (‖rx‖‖ry‖) over all n! orderings π.

    It depends on the two multisets of centred ranks only (pass them sorted, so that the
    cache serves every seed with the same tie pattern).
    """
    x, y = np.array(rx), np.array(ry)
    orders = np.array(list(itertools.permutations(range(len(y)))))
    rho = y[orders] @ x / math.sqrt((x @ x) * (y @ y))
    values, weights = _merge(rho, np.full(len(rho), 1.0 / len(rho)))
    values.setflags(write=False)
    weights.setflags(write=False)
    return values, weights


def _merge(values: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Collapse values equal up to round-off (gaps ≤ 1e-9) of a discrete distribution.

    Each group is represented by its smallest value; weights are summed.
    """
    values, weights = values.ravel(), weights.ravel()
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    group = np.concatenate([[0], np.cumsum(np.diff(ordered) > _TOL)])
    first = np.concatenate([[True], np.diff(group) > 0])
    return ordered[first], np.bincount(group, weights=weights[order])


def _abs_law(values: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Levels v of |T| (ascending) and the tail P(|T| ≥ v) of a discrete law of T."""
    levels, level_weights = _merge(np.abs(values), weights)
    return levels, np.cumsum(level_weights[::-1])[::-1]


_Blocks = tuple[tuple[tuple[float, ...], tuple[float, ...]], ...]


@functools.lru_cache(maxsize=64)
def _exact_law(blocks: _Blocks) -> tuple[np.ndarray, np.ndarray]:
    """|Σ_s ρ_s| under independent within-seed permutations: a convolution of the seeds'
    exact laws (``blocks`` = each seed's sorted centred ranks of x and of y)."""
    values, weights = np.zeros(1), np.ones(1)
    for rx, ry in blocks:
        if len(rx) > _EXACT_PERMUTATION_LEVELS:
            raise OverflowError
        v, w = _null_support(rx, ry)
        if len(values) * len(v) > _EXACT_SUPPORT:
            raise OverflowError
        values, weights = _merge(values[:, None] + v[None, :], weights[:, None] * w[None, :])
    levels, tail = _abs_law(values, weights)
    levels.setflags(write=False)
    tail.setflags(write=False)
    return levels, tail


def _monte_carlo_law(
    pairs: list[tuple[np.ndarray, np.ndarray]], observed: float, permutations: int, rng: Any
) -> tuple[np.ndarray, np.ndarray]:
    """|Σ_s ρ_s| over ``permutations`` random within-seed orderings plus the observed one.

    Including the observed statistic gives p = (1 + #{|T_b| ≥ |t|}) / (B + 1), a valid
    Monte-Carlo p-value (Phipson & Smyth 2010).
    """
    generator = np.random.default_rng(rng)
    total = np.zeros(permutations)
    for rx, ry in pairs:
        shuffled = generator.permuted(np.tile(ry, (permutations, 1)), axis=1)
        total += shuffled @ rx / math.sqrt((rx @ rx) * (ry @ ry))
    values = np.append(total, observed)
    return _abs_law(values, np.full(len(values), 1.0 / len(values)))


def _two_sided_tail(
    levels: np.ndarray, tail: np.ndarray, statistic: float, alpha: float
) -> tuple[float, float]:
    """p = P(|T| ≥ |t|) and the critical value c = min{v : P(|T| ≥ v) < α} (inf if none)."""
    observed = np.searchsorted(levels, abs(statistic) + _TOL, side="right") - 1
    below = np.flatnonzero(tail < alpha)
    return min(float(tail[observed]), 1.0), float(levels[below[0]]) if len(below) else math.inf


def seed_blocked_trend(
    x: ArrayLike,
    y: ArrayLike,
    seeds: ArrayLike,
    sign: int,
    alpha: float = 0.05,
    permutations: int = 10_000,
    rng: Any = 0,
) -> TestResult:
    """Seed-blocked Spearman trend: T = mean over seeds of the per-seed Spearman ρ(x, y).

    ρ_s is Pearson's correlation of the average ranks of x and y within seed s (Spearman
    1904; ties allowed). Null: y is exchangeable within each seed (runs of one seed share
    initial weights and data order, so seeds are blocks); the null law of T is enumerated
    exactly (a convolution of the per-seed permutation laws) when every seed has ≤ 8 runs,
    else drawn with ``permutations`` Monte-Carlo within-seed shuffles. Two-sided
    p = P(|T₀| ≥ |t|). ``agrees``: T has the claimed ``sign`` and p < α; ``disagrees``:
    opposite sign and p < α. ``detectable_effect`` = c, the smallest |mean ρ| with
    p < α under this null (the design's critical value). ``interval`` is a confidence
    interval of the effect, not of the test: the (1 − α) Student-t interval of the mean of
    the per-seed ρ_s over seeds (the seed is the unit of replication; :func:`mean_interval`),
    clipped to [−1, 1]; ``None`` with one seed. ρ is bounded and skewed, so its coverage is
    a little below nominal on small designs: 91–94 % for the nominal 95 % with 3–10 seeds of
    six runs each (measured; tested). Seeds whose x or y is constant carry no
    ordering information and are left out (said in ``detail``).
    """
    alpha, sign = _check_alpha(alpha), _check_sign(sign)
    require(
        int(permutations) == permutations and permutations >= 100,
        "permutations",
        permutations,
        "must be an integer ≥ 100",
    )
    blocks, dropped = _blocks(x, y, seeds)
    ranked = [
        (_centred_ranks(bx), _centred_ranks(by))
        for bx, by in blocks
        if len(bx) >= 2 and np.ptp(bx) > 0 and np.ptp(by) > 0
    ]
    require(bool(ranked), "y", y, "no seed has ≥ 2 runs with varying x and y")
    rhos = np.array([rx @ ry / math.sqrt((rx @ rx) * (ry @ ry)) for rx, ry in ranked])
    total = float(rhos.sum())
    method = "exact"
    blocks_key = tuple(sorted((tuple(np.sort(rx)), tuple(np.sort(ry))) for rx, ry in ranked))
    try:
        law = _exact_law(blocks_key)
    except OverflowError:
        method = f"{permutations} Monte-Carlo permutations"
        law = _monte_carlo_law(ranked, total, int(permutations), rng)
    p, critical_sum = _two_sided_tail(*law, total, alpha)
    k = len(ranked)
    effect, critical = total / k, critical_sum / k
    if p < alpha:
        verdict: Verdict = "agrees" if np.sign(effect) == sign else "disagrees"
    else:
        verdict = "inconclusive"
    interval = mean_interval(rhos, 1 - alpha, bounds=(-1.0, 1.0)) if k >= 2 else None
    left_out = len(blocks) - k
    detail = (
        f"mean per-seed Spearman ρ = {effect:+.3f} over {k} seed(s) "
        f"(ρ_s = {', '.join(f'{r:+.2f}' for r in rhos)}; {sum(len(r) for r, _ in ranked)} "
        f"runs), within-seed permutation p = {p:.3g} ({method}, two-sided); "
        f"{_reach(critical, f'p < {alpha:g} needs |mean ρ| ≥', alpha)}"
        + (
            f"; {100 * (1 - alpha):.0f}% t interval over seeds [{interval[0]:+.3f}, "
            f"{interval[1]:+.3f}]."
            if interval is not None
            else "."
        )
        + (f" {left_out} seed(s) with constant x or y left out." if left_out else "")
        + _dropped(dropped)
    )
    return TestResult(
        "seed-blocked Spearman trend",
        effect,
        interval,
        p,
        verdict,
        k,
        None,
        critical,
        detail,
        1 - alpha,
        alpha,
    )


def _gehan_dominance(y: np.ndarray, censored: np.ndarray) -> np.ndarray:
    """D[i, j] = +1 when run i is determined above run j, −1 when below, 0 when the
    right-censoring leaves the order open (Gehan 1965): i > j is determined iff j is not
    censored and y_i > y_j (a censored y is a lower bound of the true value)."""
    above = (y[:, None] > y[None, :]) & ~censored[None, :]
    return above.astype(float) - above.T.astype(float)


def _gehan_tau(x: np.ndarray, dominance: np.ndarray) -> float:
    """Σ_{i<j} sign(x_i − x_j)·D[i, j] / C(n, 2): Kendall's concordance with the pairs whose
    order censoring leaves open counted as 0."""
    n = len(x)
    upper = np.triu(np.ones((n, n), bool), 1)
    return float((np.sign(x[:, None] - x[None, :]) * dominance)[upper].sum() / (n * (n - 1) / 2))


def _gehan_law(x: np.ndarray, dominance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The exact law of τ when the (y, censored) pairs are permuted over x (all n!)."""
    orders = itertools.permutations(range(len(x)))
    values = np.array([_gehan_tau(x, dominance[np.ix_(o, o)]) for o in orders])
    return _merge(values, np.full(len(values), 1.0 / len(values)))


def censored_blocked_trend(
    x: ArrayLike,
    y: ArrayLike,
    censored: ArrayLike,
    seeds: ArrayLike,
    sign: int,
    alpha: float = 0.05,
) -> TestResult:
    """Seed-blocked Gehan–Kendall trend of a right-censored y on x: T = mean over seeds of
    τ_s = Σ_{i<j} sign(x_i − x_j)·D_ij / C(n_s, 2), where D_ij = ±1 when the order of y_i and
    y_j is determined despite censoring (a censored value is a lower bound: i > j is
    determined iff j is uncensored and y_i > y_j) and 0 when it is not (Gehan 1965's
    generalised Wilcoxon scoring, applied to Kendall's pairs). An undetermined pair counts
    for neither side, so censoring can only cost power, never plant a trend.

    Null: the (y, censored) pairs are exchangeable over x within each seed; the law of T is
    enumerated exactly (per-seed laws over all n_s! orderings, convolved over seeds; n_s ≤ 8).
    Two-sided p = P(|T₀| ≥ |t|); ``agrees`` when T has the claimed ``sign`` and p < α,
    ``disagrees`` when it has the opposite sign and p < α. ``detectable_effect`` is the
    critical |T|; ``interval`` the (1 − α) t interval of the mean τ_s over seeds, in [−1, 1].
    Without censoring T is the mean per-seed Kendall τ (ties in y count 0).
    """
    alpha, sign = _check_alpha(alpha), _check_sign(sign)
    x_, y_ = _floats(x, "x"), _floats(y, "y")
    flags = np.asarray(censored, dtype=bool).ravel()
    labels = np.asarray(seeds).ravel()
    for name, values in (("y", y_), ("censored", flags), ("seeds", labels)):
        require(len(values) == len(x_), name, len(values), f"needs one value per x ({len(x_)})")
    keep = ~(np.isnan(x_) | np.isnan(y_))
    taus, undetermined, pairs = [], 0, 0
    values, weights = np.zeros(1), np.ones(1)
    for s in np.unique(labels[keep]):
        mask = keep & (labels == s)
        bx, by, bc = x_[mask], y_[mask], flags[mask]
        if len(bx) < 2 or np.ptp(bx) == 0:
            continue
        require(
            len(bx) <= _EXACT_PERMUTATION_LEVELS,
            "x",
            len(bx),
            f"at most {_EXACT_PERMUTATION_LEVELS} runs per seed for the exact law",
        )
        dominance = _gehan_dominance(by, bc)
        n = len(bx)
        upper = np.triu(np.ones((n, n), bool), 1)
        undetermined += int((dominance[upper] == 0).sum())
        pairs += int(upper.sum())
        taus.append(_gehan_tau(bx, dominance))
        v, w = _gehan_law(bx, dominance)
        values, weights = _merge(values[:, None] + v[None, :], weights[:, None] * w[None, :])
    require(bool(taus), "y", y, "no seed has ≥ 2 runs with varying x")
    k = len(taus)
    total = float(np.sum(taus))
    p, critical_sum = _two_sided_tail(*_abs_law(values, weights), total, alpha)
    effect, critical = total / k, critical_sum / k
    if p < alpha:
        verdict: Verdict = "agrees" if np.sign(effect) == sign else "disagrees"
    else:
        verdict = "inconclusive"
    interval = mean_interval(taus, 1 - alpha, bounds=(-1.0, 1.0)) if k >= 2 else None
    detail = (
        f"mean per-seed Gehan–Kendall τ = {effect:+.3f} over {k} seed(s) "
        f"(τ_s = {', '.join(f'{t:+.2f}' for t in taus)}; {int(flags[keep].sum())} censored "
        f"run(s), {undetermined} of {pairs} pairs left undetermined by censoring), exact "
        f"within-seed permutation p = {p:.3g} (two-sided); "
        f"{_reach(critical, f'p < {alpha:g} needs |mean τ| ≥', alpha)}"
        + (
            f"; {100 * (1 - alpha):.0f}% t interval over seeds [{interval[0]:+.3f}, "
            f"{interval[1]:+.3f}]."
            if interval is not None
            else "."
        )
        + _dropped(int((~keep).sum()))
    )
    return TestResult(
        "seed-blocked Gehan–Kendall trend (right-censored)",
        effect,
        interval,
        p,
        verdict,
        k,
        None,
        critical,
        detail,
        1 - alpha,
        alpha,
    )


def seed_regression_trend(
    x: ArrayLike,
    y: ArrayLike,
    seeds: ArrayLike,
    sign: int,
    alpha: float = 0.05,
    log_x: bool = True,
) -> TestResult:
    """Seed fixed-effects regression y = a_seed + b·log(x) + ε, ε ~ N(0, σ²) i.i.d.

    Least squares within seeds (the fixed effects absorb each seed's level):
    b̂ = Σ x̃ỹ / Σ x̃², x̃ = log x − its seed mean, ỹ likewise; σ̂² = RSS / (N − k − 1) with
    N runs and k seeds; se(b̂) = σ̂/√Σx̃²; t = b̂/se with N − k − 1 degrees of freedom
    (e.g. Wooldridge 2010, §10.5). ``effect`` = b̂ (change of y per unit of log x, or of x
    when ``log_x`` is False); two-sided (1 − α) t interval. ``agrees``: b̂ has the claimed
    ``sign`` and p < α; ``disagrees``: the opposite sign and p < α; ``detectable_effect`` =
    |b| detected with 80 % power (noncentral t).
    """
    alpha, sign = _check_alpha(alpha), _check_sign(sign)
    blocks, dropped = _blocks(x, y, seeds)
    if log_x:
        for bx, _ in blocks:
            require(bool((bx > 0).all()), "x", bx.tolist(), "log(x) needs x > 0")
    xs = [np.log(bx) if log_x else bx for bx, _ in blocks]
    x_within = np.concatenate([bx - bx.mean() for bx in xs])
    y_within = np.concatenate([by - by.mean() for _, by in blocks])
    sxx = float(x_within @ x_within)
    df = len(x_within) - len(blocks) - 1
    require(df >= 1, "x", len(x_within), f"{len(blocks)} seed(s) need ≥ {len(blocks) + 2} runs")
    require(sxx > 0, "x", x, "x must vary within at least one seed")
    slope = float(x_within @ y_within) / sxx
    residual = y_within - slope * x_within
    est = _Estimate(slope, math.sqrt(float(residual @ residual) / df / sxx), df)
    result = _one_or_two_sided(
        "seed fixed-effects regression trend",
        est,
        alpha,
        "two-sided",
        len(blocks),
        f"slope of y on {'log ' if log_x else ''}x",
        f" {len(blocks)} seed(s), {len(x_within)} runs.{_dropped(dropped)}",
    )
    if result.verdict == "agrees" and np.sign(slope) != sign:
        result = dataclasses.replace(result, verdict="disagrees")
    return result


def two_factor_slopes(
    eta: ArrayLike, batch_size: ArrayLike, y: ArrayLike, seeds: ArrayLike
) -> dict[Any, tuple[float, float]]:
    """Per seed, the least-squares slopes of y = a + b_η·log η + b_S·log S.

    One fit per seed over its (η, S) cells (ordinary least squares; Wooldridge 2010, ch. 3):
    the seed is the unit of replication, so each seed contributes one (b_η, b_S). If y
    depends on η and S only through η/S, y = f(log η − log S) and, for f linear over the
    grid, b_η = −b_S: the sum b_η + b_S measures the dependence on the scale of (η, S) at
    fixed η/S (the change of y when η and S are multiplied by e together). A seed needs
    ≥ 4 cells with log η and log S not collinear; seeds with fewer are left out (their
    count is the caller's to report). Missing y (None / NaN) are dropped.
    """
    eta_, batch_, y_ = (
        _floats(v, name) for v, name in ((eta, "eta"), (batch_size, "batch_size"), (y, "y"))
    )
    seeds_ = list(seeds)
    require(
        len(eta_) == len(batch_) == len(y_) == len(seeds_),
        "y",
        len(y_),
        "eta, batch_size, y and seeds need the same length",
    )
    require(bool((eta_ > 0).all() and (batch_ > 0).all()), "eta", eta_.tolist(), "need η, S > 0")
    slopes: dict[Any, tuple[float, float]] = {}
    for seed in dict.fromkeys(seeds_):
        keep = np.array([s == seed for s in seeds_]) & np.isfinite(y_)
        design = np.column_stack([np.ones(keep.sum()), np.log(eta_[keep]), np.log(batch_[keep])])
        if keep.sum() < 4 or np.linalg.matrix_rank(design) < 3:
            continue
        coef, *_ = np.linalg.lstsq(design, y_[keep], rcond=None)
        slopes[seed] = (float(coef[1]), float(coef[2]))
    return slopes


# --------------------------------------------------------------------------- rank tests


@functools.lru_cache(maxsize=256)
def _sign_detectable(n: int, alpha: float, alternative: Alternative) -> float:
    """Fraction π of positive differences that the exact sign test detects with power 0.8.

    Rejection region K ≥ k_c with P(K ≥ k_c | ½) < α (α/2 per tail when two-sided, the
    lower tail K ≤ n − k_c then added); π solves P(reject | π) = 0.8. For ``less`` the
    fraction is 1 − π; ``inf`` when k_c > n.
    """
    from scipy import stats
    from scipy.optimize import brentq

    tail = alpha / 2 if alternative == "two-sided" else alpha
    ks = np.arange(n + 1)
    reaching = np.flatnonzero(stats.binom.sf(ks - 1, n, 0.5) < tail)
    if not len(reaching):
        return math.inf
    k_c = int(reaching[0])

    def power(pi: float) -> float:
        lower = stats.binom.cdf(n - k_c, n, pi) if alternative == "two-sided" else 0.0
        return float(stats.binom.sf(k_c - 1, n, pi) + lower)

    pi = float(brentq(lambda q: power(q) - POWER, 0.5, 1.0, xtol=1e-12))
    return 1 - pi if alternative == "less" else pi


def sign_test(
    differences: ArrayLike, alpha: float = 0.05, alternative: Alternative = "greater"
) -> TestResult:
    """Exact binomial sign test of P(d > 0) = ½ on paired outcomes (Arbuthnott 1710; Dixon &
    Mood 1946).

    Zero differences are dropped (no direction). K = #{d > 0} ~ Bin(n, ½) under the null.
    ``effect`` = K/n, the fraction of positive differences, with its Clopper–Pearson
    interval. ``greater`` claims positive differences: agrees when P(K ≥ k) < α, disagrees
    when P(K ≤ k) < α. ``detectable_effect`` = the fraction π of positive differences
    detected with 80 % exact binomial power (for ``less``: the fraction 1 − π; ``inf`` when
    even n out of n cannot reach p < α).
    """
    from scipy import stats

    alpha, alternative = _check_alpha(alpha), _check_alternative(alternative)
    d, dropped = _present(differences, "differences")
    zeros = int((d == 0).sum())
    d = d[d != 0]
    n, k = len(d), int((d > 0).sum())
    require(n >= 1, "differences", differences, "needs at least one non-zero difference")
    upper_p, lower_p = float(stats.binom.sf(k - 1, n, 0.5)), float(stats.binom.cdf(k, n, 0.5))
    verdict, p, confidence = _decide(upper_p, lower_p, alternative, alpha)
    tail = (1 - confidence) / 2  # Clopper & Pearson (1934) exact interval for K/n
    ci_low = float(stats.beta.ppf(tail, k, n - k + 1)) if k > 0 else 0.0
    ci_high = float(stats.beta.isf(tail, k + 1, n - k)) if k < n else 1.0
    detectable = _sign_detectable(n, alpha, alternative)
    detail = (
        f"{k} of {n} non-zero differences positive (fraction {k / n:.3g}, "
        f"{100 * confidence:.0f}% CI [{ci_low:.3g}, {ci_high:.3g}]), exact p = {p:.3g} "
        f"({alternative}); {_reach(detectable, '80% power at a fraction', alpha)}."
        + (f" {zeros} zero difference(s) dropped." if zeros else "")
        + _dropped(dropped)
    )
    return TestResult(
        "exact sign test",
        k / n,
        (ci_low, ci_high),
        p,
        verdict,
        n,
        None,
        detectable,
        detail,
        confidence,
        alpha,
    )


@functools.lru_cache(maxsize=64)
def _signed_rank_null(n: int) -> np.ndarray:
    """P(W⁺ = w), w = 0 … n(n+1)/2, for n untied non-zero pairs: the generating function
    Π_i (1 + z^i)/2 (Wilcoxon 1945)."""
    law = np.zeros(n * (n + 1) // 2 + 1)
    law[0] = 1.0
    for i in range(1, n + 1):
        law[i:] = (law[i:] + law[:-i].copy()) / 2
        law[:i] /= 2
    law.setflags(write=False)
    return law


def _signed_rank_lower(n: int, tail: float, exact: bool) -> int:
    """Largest a with P(W⁺ ≤ a) < tail (−1 when none); normal approximation if not exact."""
    from scipy import stats

    if exact:
        below = np.flatnonzero(np.cumsum(_signed_rank_null(n)) < tail)
        return int(below[-1]) if len(below) else -1
    mean, sd = n * (n + 1) / 4, math.sqrt(n * (n + 1) * (2 * n + 1) / 24)
    return math.floor(mean - 0.5 + sd * float(stats.norm.ppf(tail)))


def wilcoxon_signed_rank(
    differences: ArrayLike, alpha: float = 0.05, alternative: Alternative = "greater"
) -> TestResult:
    """Wilcoxon (1945) signed-rank test that the paired differences are centred at 0.

    Zeros are dropped (Wilcoxon's convention); W⁺ = sum of the average ranks of |d| over
    d > 0. p is exact (the generating function Π(1 + z^i)/2) for n ≤ 50 untied differences,
    else normal with tie correction Var W⁺ = n(n+1)(2n+1)/24 − Σ(t³ − t)/48 and a continuity
    correction of ½. ``effect`` = the Hodges–Lehmann estimate, the median of the Walsh
    averages (d_i + d_j)/2, i ≤ j, in the units of d; ``interval`` = the distribution-free
    interval [W_(a+1), W_(M−a)] of the sorted Walsh averages, a = the largest count with
    P(W⁺ ≤ a) below the tail (Hollander, Wolfe & Chicken 2014, §3.3); for untied data it
    excludes 0 exactly when the test rejects. ``detectable_effect`` = the distance from the
    estimate to the bound: the shift the observed differences would need to reach p < α.
    """
    from scipy import stats

    alpha, alternative = _check_alpha(alpha), _check_alternative(alternative)
    d, dropped = _present(differences, "differences")
    zeros = int((d == 0).sum())
    d = d[d != 0]
    n = len(d)
    require(n >= 1, "differences", differences, "needs at least one non-zero difference")
    ranks = _average_ranks(np.abs(d))
    w_plus = float(ranks[d > 0].sum())
    _, tie_counts = np.unique(ranks, return_counts=True)
    exact = n <= _EXACT_WILCOXON and bool((tie_counts == 1).all())
    total = n * (n + 1) / 2
    if exact:
        cdf = np.cumsum(_signed_rank_null(n))
        w = round(w_plus)
        upper_p = float(1 - cdf[w - 1]) if w > 0 else 1.0
        lower_p = float(cdf[w])
    else:
        ties = float((tie_counts**3 - tie_counts).sum())
        sd = math.sqrt(n * (n + 1) * (2 * n + 1) / 24 - ties / 48)
        mean = total / 2
        upper_p = float(stats.norm.sf((w_plus - mean - 0.5) / sd))
        lower_p = float(stats.norm.cdf((w_plus - mean + 0.5) / sd))
    verdict, p, confidence = _decide(upper_p, lower_p, alternative, alpha)
    tail = alpha / 2 if alternative == "two-sided" else alpha
    i, j = np.triu_indices(n)
    walsh = np.sort((d[i] + d[j]) / 2)
    estimate = float(np.median(walsh))
    a = _signed_rank_lower(n, tail, exact)
    if a < 0:
        interval, detectable = (-math.inf, math.inf), math.inf
    else:
        interval = (float(walsh[a]), float(walsh[len(walsh) - 1 - a]))
        to_bound = {
            "greater": estimate - interval[0],
            "less": interval[1] - estimate,
            "two-sided": (interval[1] - interval[0]) / 2,
        }
        detectable = to_bound[alternative]
    detail = (
        f"W⁺ = {w_plus:g} over {n} non-zero differences, Hodges–Lehmann shift "
        f"{estimate:+.4g}, {100 * confidence:.0f}% CI [{interval[0]:+.4g}, {interval[1]:+.4g}], "
        f"{'exact' if exact else 'normal-approximation'} p = {p:.3g} ({alternative}); "
        f"{_reach(detectable, f'p < {alpha:g} needs a shift of', alpha)}."
        + (f" {zeros} zero difference(s) dropped." if zeros else "")
        + _dropped(dropped)
    )
    return TestResult(
        "Wilcoxon signed-rank",
        estimate,
        interval,
        p,
        verdict,
        n,
        None,
        detectable,
        detail,
        confidence,
        alpha,
    )


# --------------------------------------------------------------------------- multiplicity


def holm(pvalues: Sequence[float], alpha: float = 0.05) -> list[float]:
    """Holm (1979) step-down adjusted p-values, in the input order.

    With p_(1) ≤ … ≤ p_(m): p̃_(i) = max_{j ≤ i} min(1, (m − j + 1)·p_(j)); rejecting
    p̃ < α controls the family-wise error rate at α under any dependence. ``alpha`` is not
    needed to adjust and is accepted for symmetry with :func:`with_holm`.
    """
    _check_alpha(alpha)
    p = _floats(list(pvalues), "pvalues")
    require(bool(((p >= 0) & (p <= 1)).all()), "pvalues", list(pvalues), "must lie in [0, 1]")
    m = len(p)
    order = np.argsort(p, kind="stable")
    stepped = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    adjusted = np.empty(m)
    adjusted[order] = stepped
    return adjusted.tolist()


def with_holm(results: Sequence[TestResult], alpha: float = 0.05) -> list[TestResult]:
    """The results with Holm-adjusted p (over those that have one) and verdicts recomputed.

    A result keeps ``agrees`` / ``disagrees`` only when its adjusted p < α; otherwise it
    becomes ``inconclusive``. Results without a p-value are returned unchanged.
    """
    _check_alpha(alpha)
    family = [i for i, r in enumerate(results) if r.p is not None]
    adjusted = dict(zip(family, holm([results[i].p for i in family], alpha), strict=True))
    out = []
    for i, result in enumerate(results):
        if i not in adjusted:
            out.append(result)
            continue
        p = adjusted[i]
        verdict = result.verdict if p < alpha else "inconclusive"
        note = f" Holm-adjusted over {len(family)} tests: p = {p:.3g} → {verdict}."
        out.append(
            dataclasses.replace(
                result, p=p, verdict=verdict, alpha=alpha, detail=result.detail + note
            )
        )
    return out


def fixed_sequence(pvalues: Sequence[float], alpha: float = 0.05) -> int:
    """How many of the ordered hypotheses a fixed-sequence (hierarchical) procedure rejects.

    The hypotheses are tested in their registered order, each at level α, stopping at the
    first that is not rejected: H_1 … H_k are rejected where k is the first index with
    p_{k+1} ≥ α. No adjustment is needed: the family-wise error rate is ≤ α under any
    dependence, because a false rejection needs the first true null in the order to be
    rejected at level α (Maurer, Hothorn & Lehmacher 1995; Westfall & Krishen 2001). Used
    for "equivalent over a range of β": walking outward from β = 1, the range ends at the
    first β whose equivalence is not shown.
    """
    _check_alpha(alpha)
    p = _floats(list(pvalues), "pvalues")
    require(bool(((p >= 0) & (p <= 1)).all()), "pvalues", list(pvalues), "must lie in [0, 1]")
    failed = np.flatnonzero(p >= alpha)
    return int(failed[0]) if failed.size else int(p.size)
