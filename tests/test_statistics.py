"""Tests of threefactors.statistics: planted effects, null calibration, references, power.

Calibration tests draw seeded null data sets (vectorised), run the module's test on each
and require the rejection rate to be consistent with the test's size: a two-sided exact
binomial test of the count at level 0.001 (the 99.9 % interval), against α for continuous
tests and against the exact attainable size (computed independently in the test, by brute
force) for discrete ones. Power tests simulate at exactly the reported detectable effect
and require the detection rate to match 0.8 the same way. The ``slow`` versions repeat
them with ten times the data sets over several designs.
"""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
from scipy import stats

from threefactors import statistics as st
from threefactors.errors import InputError

ALPHA = 0.05
LEVELS = np.array([1.0, 2.0, 4.0, 8.0, 16.0])
TIED_LEVELS = np.array([1.0, 2.0, 2.0, 4.0, 4.0])  # η/S values with ties


def assert_rate(hits: int, trials: int, rate: float) -> None:
    """hits/trials is consistent with ``rate``: exact binomial two-sided p ≥ 0.001."""
    p = stats.binomtest(int(hits), trials, rate).pvalue
    assert p >= 1e-3, f"{hits}/{trials} = {hits / trials:.4f} vs {rate:.4f} (p = {p:.2g})"


def assert_rate_at_most(hits: int, trials: int, rate: float) -> None:
    """hits/trials is not above ``rate``: exact one-sided binomial p ≥ 0.001."""
    p = stats.binomtest(int(hits), trials, rate, alternative="greater").pvalue
    assert p >= 1e-3, f"{hits}/{trials} = {hits / trials:.4f} exceeds {rate:.4f} (p = {p:.2g})"


def rejections(results: list[st.TestResult]) -> int:
    return sum(r.verdict != "inconclusive" for r in results)


def trend_design(
    seeds: int, rng: np.random.Generator, slope: float, levels: np.ndarray = LEVELS
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """y = slope·log x + seed offset + N(0, 1), one run per level and seed."""
    x = np.tile(levels, seeds)
    labels = np.repeat(np.arange(seeds), len(levels))
    y = slope * np.log(x) + rng.normal(size=len(x)) + 3.0 * labels
    return x, y, labels


# --------------------------------------------------------------------------- planted effects


@pytest.mark.parametrize("test", [st.seed_blocked_trend, st.seed_regression_trend])
@pytest.mark.parametrize("slope", [-2.0, 2.0])
def test_trend_planted_effect_agrees_and_reverse_disagrees(test, slope: float) -> None:
    x, y, labels = trend_design(3, np.random.default_rng(11), slope)
    claimed = int(np.sign(slope))
    agree = test(x, y, labels, sign=claimed)
    assert agree.verdict == "agrees" and np.sign(agree.effect) == claimed
    assert agree.p < ALPHA and agree.n == 3
    assert test(x, y, labels, sign=-claimed).verdict == "disagrees"


@pytest.mark.parametrize(
    "test", [st.paired_difference, st.sign_test, st.wilcoxon_signed_rank], ids=lambda f: f.__name__
)
def test_paired_planted_effect_detected_in_the_claimed_direction_only(test) -> None:
    rng = np.random.default_rng(3)
    base = rng.normal(size=12)
    shifted = base + 1.0 + 0.3 * rng.normal(size=12)
    d = shifted - base

    def call(differences: np.ndarray, alternative: str) -> st.TestResult:
        if test is st.paired_difference:
            return test(differences, np.zeros_like(differences), alternative=alternative)
        return test(differences, alternative=alternative)

    assert call(d, "greater").verdict == "agrees"
    assert call(d, "two-sided").verdict == "agrees"
    assert call(d, "less").verdict == "disagrees"
    assert call(-d, "less").verdict == "agrees"
    assert call(-d, "greater").verdict == "disagrees"


def test_tost_planted_equivalence_agrees_and_planted_difference_disagrees() -> None:
    rng = np.random.default_rng(5)
    a = rng.normal(size=20)
    same = a + 0.05 * rng.normal(size=20)
    assert st.tost(a, same, margin=0.2).verdict == "agrees"
    far = a + 1.0 + 0.05 * rng.normal(size=20)
    result = st.tost(a, far, margin=0.2)
    assert result.verdict == "disagrees" and result.interval[1] < -0.2
    assert st.tost(far, a, margin=0.2).interval[0] > 0.2  # the other side too
    noisy = a + rng.normal(size=20)
    unsure = st.tost(a, noisy, margin=0.2)
    assert unsure.verdict == "inconclusive" and unsure.detectable_effect > 0.2
    unpaired = st.tost(rng.normal(size=30), rng.normal(size=25) + 3.0, margin=0.5, paired=False)
    assert unpaired.verdict == "disagrees" and unpaired.test == "TOST equivalence (Welch)"


def test_noninferiority_planted_cases_and_orientation() -> None:
    rng = np.random.default_rng(6)
    control = rng.normal(size=16)
    as_good = control + 0.02 + 0.05 * rng.normal(size=16)
    assert st.noninferiority(as_good, control, margin=0.1).verdict == "agrees"
    worse = control - 1.0 + 0.05 * rng.normal(size=16)
    assert st.noninferiority(worse, control, margin=0.1).verdict == "disagrees"
    # lower is better (a loss): the worse arm is the better one
    flipped = st.noninferiority(worse, control, margin=0.1, higher_is_better=False)
    assert flipped.verdict == "agrees" and flipped.effect > 0.9


# --------------------------------------------------------------------------- references


def test_paired_t_matches_scipy_ttest_rel() -> None:
    rng = np.random.default_rng(8)
    a, b = rng.normal(size=9), rng.normal(size=9) + 0.4
    for alternative in ("two-sided", "greater", "less"):
        ours = st.paired_difference(a, b, alternative=alternative)
        ref = stats.ttest_rel(a, b, alternative="two-sided")
        assert ours.effect == pytest.approx(np.mean(a - b), rel=1e-12)
        ref_side = stats.ttest_rel(a, b, alternative=alternative)
        if ours.verdict != "disagrees":
            assert ours.p == pytest.approx(ref_side.pvalue, rel=1e-10)
        level = 0.95 if alternative == "two-sided" else 0.90
        assert ours.interval == pytest.approx(tuple(ref.confidence_interval(level)), rel=1e-10)


def test_welch_tost_matches_two_scipy_one_sided_welch_tests() -> None:
    rng = np.random.default_rng(9)
    a, b = rng.normal(size=14), 1.5 * rng.normal(size=9) + 0.1
    margin = 0.8
    ours = st.tost(a, b, margin=margin, paired=False)
    low = stats.ttest_ind(a + margin, b, equal_var=False, alternative="greater").pvalue
    high = stats.ttest_ind(a - margin, b, equal_var=False, alternative="less").pvalue
    assert ours.p == pytest.approx(max(low, high), rel=1e-10)
    assert ours.n == 23


def test_seed_regression_matches_least_squares_with_seed_dummies() -> None:
    rng = np.random.default_rng(10)
    x, y, labels = trend_design(4, rng, -0.3, TIED_LEVELS)
    ours = st.seed_regression_trend(x, y, labels, sign=-1)
    design = np.column_stack([np.log(x), (labels[:, None] == np.arange(4)).astype(float)])
    coef, rss, *_ = np.linalg.lstsq(design, y, rcond=None)
    df = len(y) - design.shape[1]
    se = math.sqrt(rss[0] / df * np.linalg.inv(design.T @ design)[0, 0])
    assert ours.effect == pytest.approx(coef[0], rel=1e-10)
    assert ours.p == pytest.approx(2 * stats.t.sf(abs(coef[0] / se), df), rel=1e-8)
    half = stats.t.ppf(0.975, df) * se
    assert ours.interval == pytest.approx((coef[0] - half, coef[0] + half), rel=1e-8)


def test_per_seed_spearman_matches_scipy_spearmanr() -> None:
    rng = np.random.default_rng(12)
    x, y, labels = trend_design(3, rng, 0.5, TIED_LEVELS)
    y[4] = y[3]  # a tie in y as well
    per_seed = [stats.spearmanr(x[labels == s], y[labels == s]).statistic for s in range(3)]
    assert st.seed_blocked_trend(x, y, labels, 1).effect == pytest.approx(np.mean(per_seed))
    one = labels == 0
    single = st.seed_blocked_trend(x[one], y[one], labels[one], 1)
    assert single.effect == pytest.approx(per_seed[0], rel=1e-12)


def brute_force_trend_null(x_levels: np.ndarray, y_blocks: list[np.ndarray]) -> np.ndarray:
    """Every combination of within-seed orderings: the mean Spearman ρ of each."""
    per_seed = []
    for y in y_blocks:
        rows = [
            stats.pearsonr(stats.rankdata(x_levels), stats.rankdata(y)[list(order)]).statistic
            for order in itertools.permutations(range(len(y)))
        ]
        per_seed.append(np.array(rows))
    grids = np.meshgrid(*per_seed, indexing="ij")
    return np.mean(grids, axis=0).ravel()


def test_seed_blocked_exact_p_and_critical_value_match_brute_force() -> None:
    rng = np.random.default_rng(13)
    y_blocks = [rng.normal(size=5), np.array([0.3, 0.1, 0.1, 0.9, 0.5])]  # second has a tie
    y_blocks[0] = -np.log(TIED_LEVELS) + 0.5 * y_blocks[0]
    null = brute_force_trend_null(TIED_LEVELS, y_blocks)
    ours = st.seed_blocked_trend(
        np.tile(TIED_LEVELS, 2), np.concatenate(y_blocks), np.repeat([0, 1], 5), sign=-1
    )
    assert "exact" in ours.detail
    assert ours.p == pytest.approx(np.mean(np.abs(null) >= abs(ours.effect) - 1e-9), rel=1e-9)
    sizes = np.unique(np.round(np.abs(null), 9))
    tails = np.array([np.mean(np.abs(null) >= c - 1e-9) for c in sizes])
    assert ours.detectable_effect == pytest.approx(sizes[tails < ALPHA][0], abs=1e-9)


def test_wilcoxon_matches_scipy_exact_and_normal_approximation() -> None:
    rng = np.random.default_rng(14)
    d = rng.normal(size=15) + 0.4
    for alternative in ("two-sided", "greater", "less"):
        ours = st.wilcoxon_signed_rank(d, alternative=alternative)
        ref = stats.wilcoxon(d, alternative=alternative, method="exact")
        if ours.verdict != "disagrees":
            assert ours.p == pytest.approx(ref.pvalue, rel=1e-10)
    walsh = [(d[i] + d[j]) / 2 for i in range(15) for j in range(i, 15)]
    assert ours.effect == pytest.approx(np.median(walsh))
    tied = np.round(rng.normal(size=70) + 0.2, 1)
    tied[:3] = 0.0  # zeros are dropped (zero_method="wilcox")
    ours = st.wilcoxon_signed_rank(tied, alternative="greater")
    ref = stats.wilcoxon(
        tied, alternative="greater", method="approx", correction=True, zero_method="wilcox"
    )
    zeros = int((tied == 0).sum())
    assert "normal-approximation" in ours.detail and f"{zeros} zero" in ours.detail
    assert ours.p == pytest.approx(ref.pvalue, rel=1e-8)


def test_sign_test_matches_scipy_binomtest() -> None:
    d = np.array([0.5, 1.2, -0.3, 0.8, 0.0, 2.0, 0.1, -0.2, 0.9, 0.4, 0.7, 1.1])
    for alternative in ("two-sided", "greater"):
        ours = st.sign_test(d, alternative=alternative)
        ref = stats.binomtest(9, 11, 0.5, alternative=alternative)
        assert ours.n == 11 and ours.effect == pytest.approx(9 / 11)
        assert ours.p == pytest.approx(ref.pvalue, rel=1e-12)
        two_sided = stats.binomtest(9, 11, 0.5)  # our interval is two-sided at `confidence`
        ci = two_sided.proportion_ci(confidence_level=ours.confidence, method="exact")
        assert ours.interval == pytest.approx((ci.low, ci.high), rel=1e-10)


def test_holm_against_a_hand_worked_example() -> None:
    # Holm (1979), step-down: sorted p = .005, .01, .03, .04 times 4, 3, 2, 1 gives
    # .02, .03, .06, .04, made monotone: .02, .03, .06, .06
    assert st.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert st.holm([0.5]) == [0.5]
    assert st.holm([0.4, 0.3, 0.9]) == pytest.approx([0.9, 0.9, 0.9])  # capped at 1 → 0.9·1


def test_with_holm_recomputes_verdicts_on_adjusted_p() -> None:
    rng = np.random.default_rng(15)
    zeros = np.zeros(6)
    strong = st.paired_difference(rng.normal(size=6) + 3, zeros, alternative="greater")
    weak = st.paired_difference([0.9, 0.2, 0.7, -0.2, 0.4, 0.3], zeros, alternative="greater")
    nothing = st.paired_difference([-0.9, 0.2, -0.7, 0.2, -0.4, 0.3], zeros, alternative="greater")
    assert weak.verdict == "agrees" and 0.025 < weak.p < ALPHA
    adjusted = st.with_holm([strong, weak, nothing])
    # Holm: the smallest p times 3, the next times 2 (0.06 > α), the largest times 1
    assert [r.verdict for r in adjusted] == ["agrees", "inconclusive", "inconclusive"]
    assert adjusted[1].p == pytest.approx(2 * weak.p)
    assert adjusted[0].p == pytest.approx(3 * strong.p)
    assert "Holm-adjusted over 3 tests" in adjusted[1].detail
    assert st.with_holm([strong, weak])[1].verdict == "agrees"  # second of two: times 1


# --------------------------------------------------------------------------- null calibration

N_NULL = 2000


def exact_trend_size(levels: np.ndarray, seeds: int) -> float:
    """P(p < α) of the exact seed-blocked test for untied continuous y, by brute force."""
    null = brute_force_trend_null(levels, [np.arange(len(levels), dtype=float)] * seeds)
    size = np.sort(np.abs(null))
    p_of = (len(size) - np.searchsorted(size, size - 1e-9)) / len(size)  # P(|T| ≥ |t|)
    return float(np.mean(p_of < ALPHA))


def test_seed_blocked_exact_null_calibration_with_ties() -> None:
    rng = np.random.default_rng(20)
    x = np.tile(TIED_LEVELS, 3)
    labels = np.repeat(np.arange(3), 5)
    ys = rng.normal(size=(N_NULL, 15)) + 3.0 * labels
    results = [st.seed_blocked_trend(x, y, labels, sign=1) for y in ys]
    assert all("exact" in r.detail for r in results[:5])
    size = exact_trend_size(TIED_LEVELS, 3)
    assert 0.03 < size <= ALPHA
    assert_rate(rejections(results), N_NULL, size)
    # the critical value: p < α exactly when |mean ρ| ≥ detectable_effect
    assert all((r.p < ALPHA) == (abs(r.effect) >= r.detectable_effect - 1e-9) for r in results)


def test_seed_blocked_monte_carlo_null_calibration_with_ties() -> None:
    rng = np.random.default_rng(21)
    levels = np.repeat([1.0, 2.0, 4.0, 8.0, 16.0], 2)  # 10 runs per seed, each level twice
    x, labels = np.tile(levels, 3), np.repeat(np.arange(3), 10)
    ys = rng.normal(size=(N_NULL, 30))
    results = [
        st.seed_blocked_trend(x, y, labels, sign=-1, permutations=999, rng=i)
        for i, y in enumerate(ys)
    ]
    assert "999 Monte-Carlo" in results[0].detail
    assert_rate(rejections(results), N_NULL, ALPHA)


def test_seed_regression_null_calibration_with_ties() -> None:
    rng = np.random.default_rng(22)
    x, _, labels = trend_design(3, rng, 0.0, TIED_LEVELS)
    ys = rng.normal(size=(N_NULL, 15)) + 5.0 * labels
    results = [st.seed_regression_trend(x, y, labels, sign=1) for y in ys]
    assert_rate(rejections(results), N_NULL, ALPHA)


@pytest.mark.parametrize("alternative", ["two-sided", "greater"])
def test_paired_t_null_calibration(alternative: str) -> None:
    rng = np.random.default_rng(23)
    shared = rng.normal(size=(N_NULL, 1))  # a seed effect common to both arms
    a = shared + rng.normal(size=(N_NULL, 8))
    b = shared + rng.normal(size=(N_NULL, 8))
    results = [
        st.paired_difference(u, v, alternative=alternative) for u, v in zip(a, b, strict=True)
    ]
    agreed = sum(r.verdict == "agrees" for r in results)
    assert_rate(agreed, N_NULL, ALPHA)
    if alternative == "greater":  # the opposite direction has its own size α
        assert_rate(sum(r.verdict == "disagrees" for r in results), N_NULL, ALPHA)


def test_tost_size_at_the_margin_boundary() -> None:
    rng = np.random.default_rng(24)
    margin, n = 1.0, 10
    d = margin + rng.normal(size=(N_NULL, n))  # true difference exactly at +margin
    results = [st.tost(row, np.zeros(n), margin=margin) for row in d]
    agreed = sum(r.verdict == "agrees" for r in results)
    assert_rate_at_most(agreed, N_NULL, ALPHA)
    # far from the other margin the lower test almost always rejects: the size is ≈ α
    assert_rate(agreed, N_NULL, ALPHA)
    unpaired = [
        st.tost(margin + rng.normal(size=n), rng.normal(size=n), margin=margin, paired=False)
        for _ in range(N_NULL)
    ]
    assert_rate_at_most(sum(r.verdict == "agrees" for r in unpaired), N_NULL, ALPHA)


def test_noninferiority_size_at_the_margin_boundary() -> None:
    rng = np.random.default_rng(25)
    margin, n = 0.5, 9
    treatment = -margin + rng.normal(size=(N_NULL, n))  # exactly margin worse
    results = [st.noninferiority(row, np.zeros(n), margin=margin) for row in treatment]
    assert_rate(sum(r.verdict == "agrees" for r in results), N_NULL, ALPHA)


def test_sign_test_exact_size() -> None:
    rng = np.random.default_rng(26)
    n = 14
    d = rng.normal(size=(N_NULL, n))
    results = [st.sign_test(row, alternative="greater") for row in d]
    k_c = next(k for k in range(n + 1) if stats.binom.sf(k - 1, n, 0.5) < ALPHA)
    size = stats.binom.sf(k_c - 1, n, 0.5)
    assert size <= ALPHA
    assert_rate(sum(r.verdict == "agrees" for r in results), N_NULL, size)


def test_wilcoxon_exact_size_by_enumeration_and_approximate_size() -> None:
    rng = np.random.default_rng(27)
    n = 10
    signs = np.array(list(itertools.product([0, 1], repeat=n)))
    w_all = signs @ np.arange(1, n + 1)
    p_all = np.array([np.mean(w_all >= w) for w in w_all])  # exact P(W⁺ ≥ w), brute force
    size = float(np.mean(p_all < ALPHA))
    results = [st.wilcoxon_signed_rank(row) for row in rng.standard_t(3, size=(N_NULL, n))]
    assert_rate(sum(r.verdict == "agrees" for r in results), N_NULL, size)
    # the distribution-free interval excludes 0 exactly when the test rejects
    assert all((r.verdict == "agrees") == (r.interval[0] > 0) for r in results)
    ties = np.round(rng.normal(size=(N_NULL, 60)), 1)  # ties and zeros: normal approximation
    approx = [st.wilcoxon_signed_rank(row, alternative="two-sided") for row in ties]
    assert_rate(rejections(approx), N_NULL, ALPHA)


# --------------------------------------------------------------------------- detectable effect


def power_of_paired_t(n: int, alternative: str, sims: int, seed: int) -> tuple[int, float]:
    """Detection count at exactly the reported 80 %-power effect, and that effect."""
    rng = np.random.default_rng(seed)
    pilot_data = rng.normal(size=n)
    pilot = st.paired_difference(pilot_data, np.zeros(n), alternative=alternative)
    sd = float(np.std(pilot_data, ddof=1))
    direction = -1.0 if alternative == "less" else 1.0
    rows = direction * pilot.detectable_effect + sd * rng.standard_normal((sims, n))
    hits = sum(
        st.paired_difference(row, np.zeros(n), alternative=alternative).verdict == "agrees"
        for row in rows
    )
    return hits, pilot.detectable_effect


def power_of_margin_test(test, n: int, sims: int, seed: int) -> int:
    """Run ``test`` with its own reported margin on data with no true difference."""
    rng = np.random.default_rng(seed)
    pilot_data = rng.normal(size=n)
    sd = float(np.std(pilot_data, ddof=1))
    margin = test(pilot_data, np.zeros(n), margin=1.0).detectable_effect
    rows = sd * rng.standard_normal((sims, n))
    return sum(test(row, np.zeros(n), margin=margin).verdict == "agrees" for row in rows)


def power_of_regression(seeds: int, sims: int, seed: int) -> int:
    rng = np.random.default_rng(seed)
    x, y, labels = trend_design(seeds, rng, 0.0, TIED_LEVELS)
    pilot = st.seed_regression_trend(x, y, labels, sign=1)
    design = np.column_stack([np.log(x), (labels[:, None] == np.arange(seeds)).astype(float)])
    _, rss, *_ = np.linalg.lstsq(design, y, rcond=None)
    sigma = math.sqrt(rss[0] / (len(x) - seeds - 1))  # the pilot's residual sd
    ys = pilot.detectable_effect * np.log(x) + 2.0 * labels
    ys = ys + sigma * rng.standard_normal((sims, len(x)))
    return sum(st.seed_regression_trend(x, y, labels, sign=1).verdict == "agrees" for y in ys)


def power_of_sign_test(n: int, sims: int, seed: int) -> int:
    rng = np.random.default_rng(seed)
    pi = st.sign_test(np.ones(n)).detectable_effect
    d = np.where(rng.random((sims, n)) < pi, 1.0, -1.0)
    return sum(st.sign_test(row).verdict == "agrees" for row in d)


N_POWER = 1000


@pytest.mark.parametrize("alternative", ["greater", "two-sided"])
def test_paired_t_detectable_effect_has_80_percent_power(alternative: str) -> None:
    hits, _ = power_of_paired_t(8, alternative, N_POWER, 30)
    assert_rate(hits, N_POWER, st.POWER)


@pytest.mark.parametrize("test", [st.tost, st.noninferiority], ids=["tost", "noninferiority"])
def test_margin_detectable_effect_has_80_percent_power(test) -> None:
    assert_rate(power_of_margin_test(test, 7, N_POWER, 31), N_POWER, st.POWER)


def test_regression_detectable_effect_has_80_percent_power() -> None:
    assert_rate(power_of_regression(3, N_POWER, 32), N_POWER, st.POWER)


def test_sign_test_detectable_fraction_has_80_percent_power() -> None:
    assert_rate(power_of_sign_test(12, N_POWER, 33), N_POWER, st.POWER)
    assert math.isinf(st.sign_test([1.0, 1.0, 1.0, 1.0]).detectable_effect)  # 1/16 > α


def test_wilcoxon_detectable_shift_is_the_shift_that_reaches_significance() -> None:
    rng = np.random.default_rng(34)
    d = rng.normal(size=11)
    result = st.wilcoxon_signed_rank(d)
    centred = d - result.effect  # Hodges–Lehmann estimate 0
    just_above = centred + result.detectable_effect + 1e-9
    just_below = centred + result.detectable_effect - 1e-6
    assert st.wilcoxon_signed_rank(just_above).verdict == "agrees"
    assert st.wilcoxon_signed_rank(just_below).verdict == "inconclusive"


@pytest.mark.slow
@pytest.mark.parametrize("n", [3, 5, 12, 30])
def test_detectable_effects_have_80_percent_power_thorough(n: int) -> None:
    sims = 10_000
    for alternative in ("greater", "less", "two-sided"):
        hits, _ = power_of_paired_t(n, alternative, sims, 40 + n)
        assert_rate(hits, sims, st.POWER)
    for test in (st.tost, st.noninferiority):
        assert_rate(power_of_margin_test(test, n, sims, 50 + n), sims, st.POWER)
    assert_rate(power_of_sign_test(n + 6, sims, 60 + n), sims, st.POWER)
    assert_rate(power_of_regression(max(2, n // 3), sims, 70 + n), sims, st.POWER)


@pytest.mark.slow
def test_null_calibration_thorough() -> None:
    rng = np.random.default_rng(80)
    sims = 20_000
    for seeds, levels in ((2, LEVELS), (3, TIED_LEVELS)):
        x, labels = np.tile(levels, seeds), np.repeat(np.arange(seeds), len(levels))
        ys = rng.normal(size=(sims, len(x)))
        results = [st.seed_blocked_trend(x, y, labels, sign=1) for y in ys]
        assert_rate(rejections(results), sims, exact_trend_size(levels, seeds))
        results = [st.seed_regression_trend(x, y, labels, sign=1) for y in ys]
        assert_rate(rejections(results), sims, ALPHA)
    levels = np.repeat(LEVELS, 2)
    x, labels = np.tile(levels, 5), np.repeat(np.arange(5), 10)
    results = [
        st.seed_blocked_trend(x, y, labels, sign=1, permutations=999, rng=i)
        for i, y in enumerate(rng.normal(size=(sims, 50)))
    ]
    assert_rate(rejections(results), sims, ALPHA)


# --------------------------------------------------------------------------- input and output


def test_missing_values_are_dropped_and_reported() -> None:
    x, y, labels = trend_design(2, np.random.default_rng(16), -2.0)
    y = y.astype(object)
    y[2] = None
    y[7] = float("nan")
    result = st.seed_blocked_trend(x, y, labels, sign=-1)
    assert "2 missing value(s) dropped" in result.detail
    paired = st.paired_difference([1.0, 2.0, None, 4.0], [0.5, 1.0, 3.0, float("nan")])
    assert paired.n == 2 and "2 missing" in paired.detail


def test_to_dict_is_json_with_the_contract_keys() -> None:
    result = st.tost([1.0, 2.0, 3.0], [1.1, 2.0, 2.9], margin=0.5)
    record = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert {"test", "effect", "interval", "p", "verdict", "n", "margin"} <= set(record)
    assert record["interval"] == list(result.interval) and record["margin"] == 0.5
    hopeless = st.sign_test([1.0, 1.0]).to_dict()
    assert hopeless["detectable_effect"] is None  # no outcome can reach p < α
    json.dumps(hopeless, allow_nan=False)


def test_monte_carlo_is_reproducible_from_its_seed() -> None:
    x, y, labels = trend_design(2, np.random.default_rng(17), 0.3, np.arange(1.0, 11.0))
    first = st.seed_blocked_trend(x, y, labels, 1, permutations=500, rng=4)
    assert first == st.seed_blocked_trend(x, y, labels, 1, permutations=500, rng=4)


@pytest.mark.parametrize(
    "call",
    [
        lambda: st.paired_difference([1.0, 2.0], [1.0], alpha=0.05),
        lambda: st.paired_difference([1.0, 2.0], [1.0, 3.0], alpha=0.7),
        lambda: st.paired_difference([1.0, 2.0], [1.0, 3.0], alternative="bigger"),
        lambda: st.tost([1.0, 2.0], [1.0, 3.0], margin=0.0),
        lambda: st.tost([1.0, 2.0], [1.0, 3.0], margin=float("nan")),
        lambda: st.seed_blocked_trend([1, 2, 3], [1, 2, 3], [0, 0, 0], sign=0),
        lambda: st.seed_regression_trend([0, 1, 2], [1, 2, 3], [0, 0, 0], sign=1),
        lambda: st.seed_blocked_trend([1, 1, 1], [1, 2, 3], [0, 0, 0], sign=1),
        lambda: st.sign_test([0.0, 0.0]),
        lambda: st.holm([0.2, 1.5]),
        lambda: st.wilcoxon_signed_rank(["a", "b"]),
    ],
)
def test_bad_input_is_one_clear_input_error(call) -> None:
    with pytest.raises(InputError):
        call()


# --------------------------------------------------------------------------- intervals, families


def test_tost_shown_difference_that_is_not_shown_equivalent_disagrees() -> None:
    # the schedules pattern: a difference inside the margin's reach, its interval excluding 0
    # and crossing the margin: the claim "no difference" is contradicted, not "could not tell"
    rng = np.random.default_rng(11)
    a = rng.normal(0.5, 0.004, size=16)
    b = a - 0.0095 + rng.normal(0.0, 0.004, size=16)
    result = st.tost(b, a, margin=0.01)
    low, high = result.interval
    assert low < -0.01 < high < 0  # neither inside ±margin nor outside it
    assert result.verdict == "disagrees" and result.p < 0.05
    # a tiny difference shown, but inside the margin: equivalence wins
    c = a + 0.001 + rng.normal(0.0, 0.0005, size=16)
    assert st.tost(c, a, margin=0.01).verdict == "agrees"


@pytest.mark.parametrize("n", [3, 5, 10])
def test_mean_interval_covers_a_planted_mean_at_its_level(n: int) -> None:
    rng = np.random.default_rng(n)
    trials, level, mu = 4000, 0.9, 0.3
    hits = sum(
        low <= mu <= high
        for low, high in (st.mean_interval(rng.normal(mu, 1.0, n), level) for _ in range(trials))
    )
    se = math.sqrt(level * (1 - level) / trials)
    assert abs(hits / trials - level) <= 4 * se


def test_seed_blocked_trend_interval_covers_the_planted_mean_rho() -> None:
    # designs like the ratio grid's: 5 seeds × 6 x values, y = −x + noise per run
    rng = np.random.default_rng(21)
    x = np.tile(np.arange(6.0), 5)
    seeds = np.repeat(np.arange(5), 6)

    def draw() -> np.ndarray:
        return -0.4 * x + rng.normal(size=x.size)

    # the true effect: E[per-seed ρ], from many single seeds
    truth = np.mean(
        [
            stats.spearmanr(np.arange(6.0), -0.4 * np.arange(6.0) + rng.normal(size=6))[0]
            for _ in range(40_000)
        ]
    )
    trials, level = 1500, 0.95
    hits = 0
    for _ in range(trials):
        low, high = st.seed_blocked_trend(x, draw(), seeds, -1).interval
        hits += low <= truth <= high
    # ρ is bounded and skewed: the nominal 95 % t interval covers 91–94 % on such designs
    # (measured over 20,000 designs each, 3–10 seeds); a wrong interval (the old T ± the
    # critical value, or a z quantile) misses by far more
    se = math.sqrt(level * (1 - level) / trials)
    assert level - 0.045 - 4 * se <= hits / trials <= level + 4 * se


def test_fixed_sequence_controls_the_familywise_error_under_the_null() -> None:
    # a rescaling family: 4 β per side, each TOST with the true difference on the margin
    # (the least favourable null): claiming equivalence at any β is a family-wise error
    rng = np.random.default_rng(31)
    trials, margin, seeds = 3000, 0.1, 5
    errors = naive = 0
    for _ in range(trials):
        p = [
            st.tost(margin + rng.normal(0, 0.05, seeds), np.zeros(seeds), margin).p_claim
            for _ in range(4)
        ]
        errors += st.fixed_sequence(p) > 0
        naive += min(p) < 0.05  # declaring each β on its own
    se = math.sqrt(0.05 * 0.95 / trials)
    assert errors / trials <= 0.05 + 4 * se
    assert naive / trials > errors / trials  # the unadjusted reading errs more often


def test_fixed_sequence_stops_at_the_first_unrejected_hypothesis() -> None:
    assert st.fixed_sequence([0.01, 0.02, 0.2, 0.001]) == 2
    assert st.fixed_sequence([0.01, 0.049]) == 2
    assert st.fixed_sequence([0.5, 0.001]) == 0
    with pytest.raises(InputError):
        st.fixed_sequence([1.5])


def test_two_factor_slopes_are_each_seeds_least_squares_fit() -> None:
    """Per seed, (b_η, b_S) equal numpy's least squares on [1, log η, log S]; a seed with too
    few cells or collinear log η, log S is left out."""
    from threefactors.statistics import two_factor_slopes

    rng = np.random.default_rng(5)
    eta = np.tile([0.05, 0.1, 0.2, 0.4, 0.05, 0.1, 0.2, 0.4], 2)
    batch = np.tile([16, 16, 32, 32, 64, 64, 128, 128], 2)
    seeds = [0] * 8 + [1] * 8
    y = -0.8 * np.log(eta) + 0.6 * np.log(batch) + rng.normal(0, 0.1, 16)
    slopes = two_factor_slopes(eta, batch, y, seeds)
    for seed in (0, 1):
        rows = np.array(seeds) == seed
        design = np.column_stack([np.ones(8), np.log(eta[rows]), np.log(batch[rows])])
        expected = np.linalg.lstsq(design, y[rows], rcond=None)[0][1:]
        assert np.allclose(slopes[seed], expected, rtol=1e-12)
    diagonal = two_factor_slopes([0.1, 0.2, 0.4, 0.8], [16, 32, 64, 128], [1, 2, 3, 4], [0] * 4)
    assert diagonal == {}  # log η and log S collinear: b_η, b_S not identified
