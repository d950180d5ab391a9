"""Kernel building blocks: square-root factors of H₊ against eigh, divergence bookkeeping."""

from __future__ import annotations

import numpy as np
import pytest

from threefactors.simulate.primitives import reached, root2, root_factor, settle


def positive_part(h: np.ndarray) -> np.ndarray:
    lam, vec = np.linalg.eigh(h)
    return vec @ np.diag(np.clip(lam, 0, None)) @ vec.T


def symmetric(rng: np.random.Generator, d: int, shift: float) -> np.ndarray:
    a = rng.normal(size=(d, d))
    return (a + a.T) / 2 + shift * np.eye(d)


@pytest.mark.parametrize("shift", [4.0, 0.0, -4.0])  # positive definite, indefinite, negative
def test_root_factor_reproduces_positive_part(shift: float) -> None:
    """F Fᵀ = H₊ (Cholesky where H is positive definite, eigen fallback elsewhere) to
    rounding: 1e-12 relative to the spectrum."""
    rng = np.random.default_rng(1)
    for d in (3, 5, 9):
        h = symmetric(rng, d, shift)
        f = np.empty((d, d))
        root_factor(h.copy(), f)
        scale = np.abs(np.linalg.eigvalsh(h)).max()
        np.testing.assert_allclose(f @ f.T, positive_part(h), atol=1e-12 * scale)
        if shift > 0:
            assert np.all(np.triu(f, 1) == 0)  # the Cholesky route was taken


def test_root_factor_non_finite_gives_zero() -> None:
    h = np.array([[1.0, np.nan, 0.0], [np.nan, 1.0, 0.0], [0.0, 0.0, 1.0]])
    f = np.ones((3, 3))
    root_factor(h, f)
    assert np.all(f == 0)


def test_root2_closed_form_matches_eigh() -> None:
    """The 2×2 closed form: F ξ over the unit vectors gives the columns of F; F Fᵀ = H₊ for
    random, diagonal (b = 0, a < c and a > c), isotropic (r = 0) and indefinite matrices."""
    rng = np.random.default_rng(2)
    cases = [symmetric(rng, 2, s) for s in (3.0, 0.0, -3.0) for _ in range(20)]
    cases += [np.diag([1.0, 3.0]), np.diag([3.0, 1.0]), 2 * np.eye(2), np.diag([-1.0, 2.0])]
    for h in cases:
        a, b, c = h[0, 0], h[0, 1], h[1, 1]
        f = np.column_stack([root2(a, b, c, 1.0, 0.0), root2(a, b, c, 0.0, 1.0)])
        scale = np.abs(np.linalg.eigvalsh(h)).max()
        np.testing.assert_allclose(f @ f.T, positive_part(h), atol=1e-13 * scale)


def test_settle_marks_first_step_and_parks() -> None:
    x = np.array([[0.5, 0.1], [2e6, 0.0], [0.0, np.nan], [0.3, 0.3]])
    frozen = np.zeros_like(x)
    diverged_at = np.array([-1, -1, -1, 3])  # particle 3 diverged earlier, now parked
    park = np.array([-1.0, 0.0])
    settle(x, frozen, 0, 4, 7, 1e6, park, diverged_at)
    assert list(diverged_at) == [-1, 7, 7, 3]
    np.testing.assert_array_equal(frozen[1], [2e6, 0.0])
    np.testing.assert_array_equal(x[1], park)
    np.testing.assert_array_equal(x[2], park)
    np.testing.assert_array_equal(x[[0, 3]], [[0.5, 0.1], [0.3, 0.3]])


def test_reached_other_minimum_only() -> None:
    minima = np.array([[-1.0, 0.0], [1.0, 0.0]])
    x = np.array([[0.95, 0.0], [-1.0, 0.0], [0.0, 0.0]])
    assert reached(x, 0, minima, 0, 0.01)
    assert not reached(x, 1, minima, 0, 0.01)  # at its own minimum
    assert not reached(x, 2, minima, 0, 0.01)
