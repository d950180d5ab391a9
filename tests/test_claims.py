"""The claim comparisons can fail: planted faults must be judged `disagrees`."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from threefactors.claims.base import (
    Claim,
    Evidence,
    compare,
    jointly,
    spearman_permutation,
    trend,
)


def test_compare_accepts_a_monte_carlo_estimate_and_rejects_a_planted_fault() -> None:
    rng = np.random.default_rng(1)
    samples = rng.normal(loc=2.0, scale=1.0, size=10_000)
    mean, se = samples.mean(), samples.std(ddof=1) / np.sqrt(samples.size)
    assert compare("simulate", "mean", 2.0, mean, se).verdict == "agrees"
    # a prediction off by 10 standard errors (a planted fault) must disagree
    assert compare("simulate", "mean", 2.0 + 10 * se, mean, se).verdict == "disagrees"
    # a stated bias bound widens the tolerance by exactly that amount
    assert compare("simulate", "mean", 2.0 + 10 * se, mean, se, bias=8 * se).verdict == "agrees"
    # the tolerance is exactly 4 se + bias: just inside agrees, just outside disagrees
    for offset, verdict in ((11.99, "agrees"), (12.01, "disagrees")):
        assert compare("s", "m", mean + offset * se, mean, se, bias=8 * se).verdict == verdict
    # a diverged run (non-finite observation) never agrees
    assert compare("simulate", "mean", 2.0, float("nan"), se).verdict == "disagrees"


def test_trend_sign_and_power() -> None:
    x = np.arange(12.0)
    rng = np.random.default_rng(2)
    y = -x + rng.normal(scale=0.5, size=x.size)
    assert trend("empirical", "lambda_max", x, y, -1).verdict == "agrees"
    assert trend("empirical", "lambda_max", x, y, +1).verdict == "disagrees"


def test_trend_on_pure_noise_has_the_nominal_size() -> None:
    """Under the null (y independent of x) a level-α test calls a trend in a fraction α of
    the data sets: over R = 400 noise sets, |fraction − α| ≤ 4·sqrt(α(1 − α)/R) ≈ 0.044."""
    x, alpha, repeats = np.arange(12.0), 0.05, 400
    rng = np.random.default_rng(3)
    verdicts = [trend("empirical", "q", x, rng.normal(size=12), -1).verdict for _ in range(repeats)]
    called = np.mean([v != "inconclusive" for v in verdicts])
    assert abs(called - alpha) <= 4 * np.sqrt(alpha * (1 - alpha) / repeats)


def _rank_correlation(x: np.ndarray, y: np.ndarray, axis: int) -> np.ndarray:
    """Spearman's ρ of x with each y along ``axis`` (Pearson's r of the ranks)."""
    rx = stats.rankdata(x) - (x.size + 1) / 2
    ry = np.moveaxis(stats.rankdata(y, axis=axis), axis, -1) - (x.size + 1) / 2
    return (ry @ rx) / np.sqrt((rx @ rx) * (ry**2).sum(axis=-1))


def test_spearman_matches_scipy() -> None:
    """ρ is scipy's spearmanr; p is scipy's permutation test of |ρ| (pairings): identical when
    both enumerate (n = 7), within 4 se of the difference of two M = 20000 Monte-Carlo
    p-values (se = sqrt(2p(1 − p)/M)) for n = 12."""
    rng = np.random.default_rng(5)
    for n in (7, 12):
        x = np.arange(float(n))
        y = -0.3 * x + 2 * rng.normal(size=n)
        rho, p = spearman_permutation(x, y)
        assert rho == pytest.approx(stats.spearmanr(x, y).statistic, rel=1e-12)
        reference = stats.permutation_test(
            (y,),
            lambda yy, axis, x=x: np.abs(_rank_correlation(x, yy, axis)),
            permutation_type="pairings",
            vectorized=True,
            n_resamples=np.inf if n <= 8 else 20000,
            alternative="greater",
            random_state=1,
        ).pvalue
        if n <= 8:
            assert p == pytest.approx(reference, rel=1e-12)
        else:
            assert abs(p - reference) <= 4 * np.sqrt(2 * reference * (1 - reference) / 20000)


def test_exact_permutation_p_value_for_a_perfect_ranking() -> None:
    # n = 5: all 120 pairings are enumerated; a perfect ranking and its reverse give p = 2/120
    rho, p = spearman_permutation(range(5), range(5))
    assert rho == 1.0
    assert p == 2 / 120


def test_claim_verdict_is_the_primary_tests() -> None:
    """Secondary items never override the declared primary test."""
    primary = Evidence("empirical", "primary", 1, 1, "agrees")
    fault = Evidence("simulate", "other", 1, 2, "disagrees")
    unclear = Evidence("empirical", "primary", 1, 2, "inconclusive")
    assert Claim("c", "s", "src", [primary, fault], primary_quantity="primary").verdict == "agrees"
    assert Claim("c", "s", "src", [unclear, fault], primary_quantity="primary").verdict == (
        "inconclusive"
    )
    assert Claim("c", "s", "src", [fault], primary_quantity="primary").verdict == "not run"


def test_jointly_agrees_only_when_every_item_agrees() -> None:
    good = [compare("simulate", f"q{i}", 0.0, 0.1 * i, 0.1) for i in range(3)]  # ≤ 2 se
    bad = compare("simulate", "q9", 0.0, 1.0, 0.1)  # 10 se off
    assert jointly("simulate", "all", good).verdict == "agrees"
    assert jointly("simulate", "all", good).effect == pytest.approx(0.5)  # 0.2 / (4·0.1)
    assert jointly("simulate", "all", [*good, bad]).verdict == "disagrees"
    assert jointly("simulate", "all", []).verdict == "not run"
