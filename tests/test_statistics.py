"""Tests of threefactors.statistics: planted effects, null calibration, references, power.

Null-calibration tests draw 2,000 seeded null data sets (vectorised where the statistic
allows) and require the rejection rate to lie inside the exact binomial 99.9 % interval of α
(or below its upper end for tests whose size is only bounded by α).
"""

from __future__ import annotations

import numpy as np
import pytest

from threefactors import statistics as st

ALPHA = 0.05
LEVELS = np.array([1.0, 2.0, 4.0, 8.0, 16.0])


def _trend_design(seeds: int, rng: np.random.Generator, slope: float) -> tuple:
    x = np.tile(LEVELS, seeds)
    labels = np.repeat(np.arange(seeds), len(LEVELS))
    y = slope * np.log(x) + rng.normal(size=len(x)) + 3.0 * labels  # seed offsets
    return x, y, labels


@pytest.mark.parametrize("test", [st.seed_blocked_trend, st.seed_regression_trend])
@pytest.mark.parametrize("slope", [-2.0, 2.0])
def test_trend_planted_effect_agrees_and_reverse_disagrees(test, slope: float) -> None:
    x, y, labels = _trend_design(3, np.random.default_rng(11), slope)
    claimed = int(np.sign(slope))
    agree = test(x, y, labels, sign=claimed)
    assert agree.verdict == "agrees" and np.sign(agree.effect) == claimed
    assert agree.p < ALPHA and agree.n == 3
    assert test(x, y, labels, sign=-claimed).verdict == "disagrees"
