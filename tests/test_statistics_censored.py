"""Tests of threefactors.statistics.censored_blocked_trend: pairs decided only where the
right-censoring leaves the order determined, exact null law against brute force, planted
trends in both directions, and censoring that cannot plant a trend."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from threefactors import statistics as st
from threefactors.errors import InputError

LEVELS = [1.0, 2.0, 4.0, 8.0, 16.0]


def test_a_pair_counts_only_when_censoring_leaves_its_order_determined() -> None:
    """Gehan's scoring: a censored value is a lower bound. Two runs of one seed, x = 1, 2."""
    tau = lambda y, c: st.censored_blocked_trend([1, 2], y, c, [0, 0], +1).effect  # noqa: E731
    assert tau([3.0, 5.0], [False, False]) == 1.0  # both measured: 5 > 3
    assert tau([3.0, 5.0], [False, True]) == 1.0  # censored 5 ≥ its true value > 3: decided
    assert tau([5.0, 3.0], [False, True]) == 0.0  # censored 3: its true value may exceed 5
    assert tau([5.0, 3.0], [True, False]) == -1.0  # censored 5 > measured 3: decided
    assert tau([3.0, 5.0], [True, False]) == 0.0  # censored 3 may exceed 5
    assert tau([3.0, 5.0], [True, True]) == 0.0  # two lower bounds: undetermined


def test_undetermined_pairs_are_not_counted_and_said() -> None:
    """Three runs; the largest-x run censored below the others: of the 3 pairs only (1, 2) is
    decided, so τ = (+1 + 0 + 0) / 3 and the detail says 2 of 3 pairs undetermined."""
    result = st.censored_blocked_trend([1, 2, 3], [2.0, 4.0, 1.0], [False, False, True], [0] * 3, 1)
    assert result.effect == pytest.approx(1 / 3)
    assert "2 of 3 pairs left undetermined" in result.detail and "1 censored" in result.detail


def _brute_force_p(x, y, c, seeds) -> float:
    """Two-sided p by enumerating every within-seed permutation of the (y, c) pairs."""
    groups = [np.flatnonzero(np.asarray(seeds) == s) for s in sorted(set(seeds))]

    def statistic(yy, cc) -> float:
        total = 0.0
        for g in groups:
            score = 0
            for i, j in itertools.combinations(g, 2):
                above = yy[i] > yy[j] and not cc[j]
                below = yy[j] > yy[i] and not cc[i]
                score += np.sign(x[i] - x[j]) * (int(above) - int(below))
            total += score / math.comb(len(g), 2)
        return total / len(groups)

    observed = abs(statistic(y, c))
    hits = count = 0
    for orders in itertools.product(*(itertools.permutations(g) for g in groups)):
        yy, cc = np.array(y, float), np.array(c, bool)
        for g, o in zip(groups, orders, strict=True):
            yy[g], cc[g] = np.asarray(y)[list(o)], np.asarray(c)[list(o)]
        hits += abs(statistic(yy, cc)) >= observed - 1e-9
        count += 1
    return hits / count


def test_exact_p_matches_brute_force_enumeration_with_censoring() -> None:
    rng = np.random.default_rng(7)
    x = [1.0, 2.0, 4.0, 8.0] * 2
    seeds = [0] * 4 + [1] * 4
    y = list(10 - np.array(x) + rng.normal(0, 1.5, 8))
    c = [True, False, False, False, True, True, False, False]
    result = st.censored_blocked_trend(x, y, c, seeds, -1)
    assert result.p == pytest.approx(_brute_force_p(np.array(x), y, c, seeds), abs=1e-12)


def _planted(sign: int, censor_top: int, seeds: int = 3, noise: float = 0.05, rng: int = 0):
    """Peaks ∝ x^sign with a little noise; the ``censor_top`` smallest-x runs of each seed
    censored at 60 % of their true peak (their budget ended while λ was still rising)."""
    generator = np.random.default_rng(rng)
    x, y, c, s = [], [], [], []
    for seed in range(seeds):
        for k, level in enumerate(LEVELS):
            true = level**sign * math.exp(generator.normal(0, noise))
            censored = k < censor_top
            x.append(level)
            y.append(0.6 * true if censored else true)
            c.append(censored)
            s.append(seed)
    return x, y, c, s


@pytest.mark.parametrize("censor_top", [0, 1, 2])
def test_planted_trend_agrees_and_the_opposite_disagrees(censor_top: int) -> None:
    """Peaks falling with x (censored at the small-x end, where they are the largest: the
    bounds still exceed the others) agree with sign −1 and disagree with sign +1."""
    x, y, c, s = _planted(-1, censor_top)
    claimed = st.censored_blocked_trend(x, y, c, s, -1)
    assert claimed.verdict == "agrees" and claimed.effect < 0 and claimed.p < 0.05
    assert st.censored_blocked_trend(x, y, c, s, +1).verdict == "disagrees"


def test_censoring_cannot_plant_a_trend() -> None:
    """Peaks rising with x (sign +1) but the three largest-x runs censored far below the
    others: the data's only decided pairs rise, so a claimed fall is never reproduced —
    without censoring-awareness the recorded values would show a fall."""
    x, y, c, s = [], [], [], []
    for seed in range(3):
        for k, level in enumerate(LEVELS):
            true = level * (1 + 0.01 * seed)
            censored = k >= 2
            x.append(level)
            y.append(0.05 * true if censored else true)  # recorded far below the truth
            c.append(censored)
            s.append(seed)
    result = st.censored_blocked_trend(x, y, c, s, -1)
    assert result.verdict != "agrees" and result.effect >= 0
    naive = st.seed_blocked_trend(x, y, s, -1)
    assert naive.effect < 0  # ignoring censoring would have read a fall


def test_all_censored_decides_nothing_and_bad_input_is_refused() -> None:
    result = st.censored_blocked_trend(LEVELS, [5, 4, 3, 2, 1], [True] * 5, [0] * 5, -1)
    assert result.effect == 0.0 and result.verdict == "inconclusive"
    with pytest.raises(InputError, match="censored"):
        st.censored_blocked_trend(LEVELS, [1, 2, 3, 4, 5], [False] * 4, [0] * 5, -1)
    with pytest.raises(InputError, match="at most 8"):
        st.censored_blocked_trend(range(9), range(9), [False] * 9, [0] * 9, -1)
