"""The claim comparisons can fail: planted faults must be judged `disagrees`."""

from __future__ import annotations

import numpy as np

from threefactors.claims import Claim, Evidence, compare, spearman_permutation, trend


def test_compare_accepts_a_monte_carlo_estimate_and_rejects_a_planted_fault() -> None:
    rng = np.random.default_rng(1)
    samples = rng.normal(loc=2.0, scale=1.0, size=10_000)
    mean, se = samples.mean(), samples.std(ddof=1) / np.sqrt(samples.size)
    assert compare("simulate", "mean", 2.0, mean, se).verdict == "agrees"
    # a prediction off by 10 standard errors (a planted fault) must disagree
    assert compare("simulate", "mean", 2.0 + 10 * se, mean, se).verdict == "disagrees"
    # a stated bias bound widens the tolerance by exactly that amount
    assert compare("simulate", "mean", 2.0 + 10 * se, mean, se, bias=8 * se).verdict == "agrees"
    # a diverged run (non-finite observation) never agrees
    assert compare("simulate", "mean", 2.0, float("nan"), se).verdict == "disagrees"


def test_trend_sign_and_power() -> None:
    x = np.arange(12.0)
    rng = np.random.default_rng(2)
    y = -x + rng.normal(scale=0.5, size=x.size)
    assert trend("empirical", "lambda_max", x, y, -1).verdict == "agrees"
    assert trend("empirical", "lambda_max", x, y, +1).verdict == "disagrees"
    noise = rng.normal(size=x.size)
    rho, p = spearman_permutation(x, noise)
    expected = "inconclusive" if p >= 0.05 else ("agrees" if rho < 0 else "disagrees")
    assert trend("empirical", "lambda_max", x, noise, -1).verdict == expected


def test_exact_permutation_p_value_for_a_perfect_ranking() -> None:
    # n = 5: all 120 pairings are enumerated; a perfect ranking and its reverse give p = 2/120
    rho, p = spearman_permutation(range(5), range(5))
    assert rho == 1.0
    assert p == 2 / 120


def test_claim_verdict_combines_views() -> None:
    agree = Evidence("theory", "q", 1, 1, "agrees")
    fault = Evidence("simulate", "q", 1, 2, "disagrees")
    unclear = Evidence("empirical", "q", 1, 2, "inconclusive")
    skipped = Evidence("empirical", "q", 1, None, "not run")
    assert Claim("c", "s", "src", [agree, skipped]).verdict == "agrees"
    assert Claim("c", "s", "src", [agree, unclear]).verdict == "inconclusive"
    assert Claim("c", "s", "src", [agree, fault, unclear]).verdict == "disagrees"
    assert Claim("c", "s", "src", [skipped]).verdict == "not run"
