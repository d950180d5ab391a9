"""The generator: normal moments, KS and tails on 10⁷ draws; uniform and index sampling;
identical draws on 1 and 2 threads."""

from __future__ import annotations

import math

import numba
import numpy as np
import pytest
from numba import njit
from scipy import stats

from threefactors.simulate import rng


def check_normal(z: np.ndarray) -> None:
    """Moments, KS and tails of N(0, 1) draws, each within 4 of its own standard errors."""
    n = z.size
    # Var z = 1, Var z² = 2, Var z³ = 15, Var z⁴ = E z⁸ − (E z⁴)² = 105 − 9 = 96
    assert abs(z.mean()) <= 4 / math.sqrt(n)
    assert abs(np.mean(z**2) - 1) <= 4 * math.sqrt(2 / n)
    assert abs(np.mean(z**3)) <= 4 * math.sqrt(15 / n)
    assert abs(np.mean(z**4) - 3) <= 4 * math.sqrt(96 / n)
    assert stats.kstest(z, "norm").pvalue > 1e-4
    for cut in (rng.ZIGGURAT_R, 4.0, 5.0):  # the ziggurat's tail starts at r = 3.654
        expected = 2 * stats.norm.sf(cut) * n
        count = int(np.sum(np.abs(z) > cut))
        assert abs(count - expected) <= 4 * math.sqrt(expected) + 1, cut


def test_normal_distribution() -> None:
    check_normal(rng.standard_normal(2 * 10**6, seed=12345))


@pytest.mark.slow
def test_normal_distribution_ten_million() -> None:
    check_normal(rng.standard_normal(10**7, seed=2024))


def test_same_draws_on_one_and_two_threads() -> None:
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = rng.standard_normal(300_000, seed=7)
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        two = rng.standard_normal(300_000, seed=7)
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(one, two)
    assert not np.array_equal(one, rng.standard_normal(300_000, seed=8))


def test_uniform_ks() -> None:
    u = rng.uniform_draws(10**6, seed=3)
    assert u.min() >= 0.0 and u.max() < 1.0
    assert stats.kstest(u, "uniform").pvalue > 1e-4


@njit
def _indices(n: int, batch: int, trials: int, replace: bool, seed_state: np.ndarray) -> np.ndarray:
    s0, s1, s2, s3 = seed_state[0], seed_state[1], seed_state[2], seed_state[3]
    perm = np.arange(n)
    out = np.empty((trials, batch), dtype=np.int64)
    for t in range(trials):
        for j in range(batch):
            out[t, j], s0, s1, s2, s3 = rng.batch_index(perm, j, n, replace, s0, s1, s2, s3)
    return out


@pytest.mark.parametrize("replace", [True, False])
def test_batch_indices_uniform(replace: bool) -> None:
    """Each index appears with probability S/N per batch (chi-square, 7 bins); without
    replacement the S indices of a batch are distinct."""
    n, batch, trials = 7, 3, 200_000
    idx = _indices(n, batch, trials, replace, rng.block_states(5, 1)[0])
    counts = np.bincount(idx.ravel(), minlength=n)
    assert stats.chisquare(counts).pvalue > 1e-4
    distinct = np.array([len(set(row)) for row in idx[:2000]])
    if replace:
        # P(all 3 distinct) = (6/7)(5/7) = 30/49
        assert abs(np.mean(distinct == batch) - 30 / 49) <= 4 * math.sqrt(0.24 / 2000)
    else:
        assert np.all(distinct == batch)


@njit
def _pairs(n: int, trials: int, seed_state: np.ndarray) -> np.ndarray:
    s0, s1, s2, s3 = seed_state[0], seed_state[1], seed_state[2], seed_state[3]
    out = np.empty((trials, 2), dtype=np.int64)
    for t in range(trials):
        out[t, 0], out[t, 1], s0, s1, s2, s3 = rng.randint_pair(s0, s1, s2, s3, n)
    return out


@pytest.mark.parametrize("n", [7, 1000, 3 * 2**30])  # 3·2³⁰: half of the halves rejected
def test_index_pairs_uniform_and_independent(n: int) -> None:
    """The two indices are uniform and independent: chi-square of the pair's classes
    (⌊7j/n⌋, ⌊7j'/n⌋) on 7×7 cells, class c holding ⌈(c+1)n/7⌉ − ⌈cn/7⌉ of the n values."""
    trials = 200_000
    pairs = _pairs(n, trials, rng.block_states(9, 1)[0])
    assert pairs.min() >= 0 and pairs.max() < n
    classes = pairs * 7 // n
    p = np.diff([-(-c * n // 7) for c in range(8)]) / n
    joint = np.bincount(classes[:, 0] * 7 + classes[:, 1], minlength=49)
    assert stats.chisquare(joint, trials * np.outer(p, p).ravel()).pvalue > 1e-4


@njit
def _quads(n: int, trials: int, seed_state: np.ndarray) -> np.ndarray:
    s0, s1, s2, s3 = seed_state[0], seed_state[1], seed_state[2], seed_state[3]
    out = np.empty((trials, 4), dtype=np.int64)
    for t in range(trials):
        a, b, c, d, s0, s1, s2, s3 = rng.randint_quad(s0, s1, s2, s3, n)
        out[t, 0], out[t, 1], out[t, 2], out[t, 3] = a, b, c, d
    return out


@pytest.mark.parametrize("n", [7, 1000, 40_000])  # 40 000: 39% of the quarters rejected
def test_index_quads_uniform_and_independent(n: int) -> None:
    """Every pair of the four quarters' indices is uniform and independent (chi-square of
    the classes ⌊7j/n⌋ on 7×7 cells, as for the pairs)."""
    trials = 200_000
    quads = _quads(n, trials, rng.block_states(10, 1)[0])
    assert quads.min() >= 0 and quads.max() < n
    p = np.diff([-(-c * n // 7) for c in range(8)]) / n
    classes = quads * 7 // n
    for a, b in ((0, 1), (1, 2), (2, 3), (0, 3)):
        joint = np.bincount(classes[:, a] * 7 + classes[:, b], minlength=49)
        assert stats.chisquare(joint, trials * np.outer(p, p).ravel()).pvalue > 1e-4
