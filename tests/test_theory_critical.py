"""Critical points: polynomial roots and multi-start Newton, checked against independent routes."""

from __future__ import annotations

import numpy as np
import pytest

from threefactors.deadline import time_limit
from threefactors.errors import InputError
from threefactors.theory import critical
from threefactors.theory.builtin_landscapes import two_minima_2d
from threefactors.theory.critical import critical_points, flow_to_minima, saddle_connections
from threefactors.theory.landscape import Landscape


def test_numeric_route_matches_reduced_polynomial_roots() -> None:
    # L = (x²−1)² + a x + k y²/2 + c x y: ∂_y L = 0 gives y = −c x / k, and then
    # ∂_x L = 4x(x²−1) + a − c² x / k = 0 is a cubic whose roots are every critical x.
    a, k, c = 0.3, 4.0, 0.5
    land = Landscape.from_string(f"(x**2-1)**2 + {a}*x + {k / 2}*y**2 + {c}*x*y")
    cp = critical_points(land)
    assert cp.method == "multi-start Newton"
    found = sorted(p.x[0] for p in (*cp.minima, *cp.saddles, *cp.others))
    cubic = np.sort(np.roots([4.0, 0.0, -4.0 - c**2 / k, a]).real)
    np.testing.assert_allclose(found, cubic, atol=1e-10)
    for p in (*cp.minima, *cp.saddles):
        assert p.x[1] == pytest.approx(-c * p.x[0] / k, abs=1e-10)
        np.testing.assert_allclose(np.linalg.eigvalsh(land.hessian_at(p.x)), p.hessian_eigenvalues)
    assert [len(cp.minima), len(cp.saddles)] == [2, 1]


def test_polynomial_route_matches_numeric_route_on_the_same_loss() -> None:
    text = "(x**2-1)**2 + 0.3*x"
    exact = critical_points(Landscape.from_string(text))
    assert exact.method == "polynomial roots"
    # exp(0*x)=1 hides nothing but makes the loss non-polynomial for sympy: numeric route
    numeric = critical_points(Landscape.from_string(text + " + 1e-300*exp(x)", box=[(-2, 2)]))
    assert numeric.method == "multi-start Newton"
    for a, b in zip(exact.minima + exact.saddles, numeric.minima + numeric.saddles, strict=True):
        assert a.x[0] == pytest.approx(b.x[0], abs=1e-10)
        assert a.hessian_eigenvalues[0] == pytest.approx(b.hessian_eigenvalues[0], rel=1e-9)


def test_minima_sorted_by_first_then_second_coordinate() -> None:
    cp = critical_points(Landscape.from_string("(x**2-1)**2 + (y**2-1)**2", box=[(-2, 2)] * 2))
    xs = [tuple(np.round(m.x, 9)) for m in cp.minima]
    assert xs == sorted(xs) and len(xs) == 4
    assert len(cp.saddles) == 4 and len(cp.others) == 1  # the maximum at the origin


@pytest.mark.parametrize("text", ["x**3", "-x**2", "-(x**2) - y**2"])
def test_no_minimum_is_an_input_error(text: str) -> None:
    with pytest.raises(InputError, match="no minimum") as info:
        critical_points(Landscape.from_string(text))
    assert info.value.parameter == "loss"


def test_basins_and_saddle_connections() -> None:
    land = two_minima_2d(coupling=0.5)
    cp = critical_points(land)
    assert saddle_connections(land, cp) == [(0, 1)]
    # gradient flow from near each minimum stays in its basin
    near = np.array([m.x + 0.05 for m in cp.minima])
    assert list(flow_to_minima(land, near, cp)) == [0, 1]


def test_quadratic_is_solved_exactly_in_100_dimensions() -> None:
    """L = ½ Σ h_i (θ_i − m_i)² + ε θ_1θ_2: one linear solve. The minimum solves Hθ = H m
    (H = diag(h) plus the coupling), the eigenvalues are eigvalsh(H): agreement to rounding."""
    d = 100
    h = np.logspace(-1, 1, d)
    m = np.linspace(-1, 1, d)
    text = " + ".join(
        f"{float(hi) / 2!r}*(x{i + 1} - ({float(mi)!r}))**2"
        for i, (hi, mi) in enumerate(zip(h, m, strict=True))
    )
    land = Landscape.from_string(text + " + 0.01*x1*x2")
    cp = critical_points(land)
    hessian = np.diag(h)
    hessian[0, 1] = hessian[1, 0] = 0.01
    expected = np.linalg.solve(hessian, h * m)
    assert cp.method == "quadratic" and len(cp.minima) == 1 and not cp.saddles
    np.testing.assert_allclose(cp.minima[0].x, expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(cp.minima[0].hessian_eigenvalues, np.linalg.eigvalsh(hessian))
    assert cp.minima[0].loss == pytest.approx(float(land.loss_at(expected)), abs=1e-10)


def test_many_dimensional_nonquadratic_search_is_capped() -> None:
    """d = 12 quartic (2^18 starts before the cap): the minima ±1 per axis sit at the box's
    Sobol points' reach; the search returns the two minima of the separable double well."""
    text = "(x1**2 - 1)**2 + " + " + ".join(f"x{i}**2" for i in range(2, 13))
    cp = critical_points(Landscape.from_string(text, box=[(-2, 2)] * 12))
    assert [round(p.x[0], 9) for p in cp.minima] == [-1.0, 1.0]
    for p in cp.minima:
        np.testing.assert_allclose(p.x[1:], 0, atol=1e-12)


@pytest.mark.parametrize(
    ("loss", "says"),
    [
        ("Abs(x)", "not twice differentiable"),  # the Hessian holds DiracDelta
        ("(x^2-1)^2 + Abs(y)", "not twice differentiable"),
        ("sin(x)", "not confining"),  # bounded: exp(-L/T) not normalisable
        ("x^3 - x", "not confining"),  # a local minimum, but L → −∞
        ("(x^2-1)^2 + y^2 - 0.1*y^4", "not confining"),  # falls off beyond y = ±3.2
    ],
)
def test_landscapes_no_view_can_use_are_refused(loss: str, says: str) -> None:
    """The one check minima and simulate share (both go through critical_points)."""
    with pytest.raises(InputError, match=says) as info:
        critical_points(Landscape.from_string(loss))
    assert info.value.parameter == "loss"


def test_dense_search_is_complete_and_a_sparse_one_says_it_is_not(monkeypatch) -> None:
    """Four minima and four saddles: the 30×30 grid reaches each many times (complete);
    three starts, one in each of three basins, reach each point once: the Good–Turing
    estimate of what is missed is 1, so the search says it is incomplete."""
    land = Landscape.from_string("(x^2-1)^2 + (y^2-1)^2")
    dense = critical_points(land)
    assert (len(dense.minima), len(dense.saddles), dense.complete, dense.starts) == (
        4,
        4,
        True,
        900,
    )
    three = np.array([[-1.1, -0.9], [1.1, -0.9], [0.9, 1.2]])
    monkeypatch.setattr(critical, "_starts", lambda box: three)
    sparse = critical_points(land)
    assert (len(sparse.minima), sparse.complete, sparse.starts) == (3, False, 3)


def test_a_deep_tanh_nest_is_not_expanded_as_a_polynomial() -> None:
    """tanh nested 28 deep: the polynomial test expanded its gradient (a product of 28
    factors) for minutes before saying no (issue 22); it now looks at the tree only. The
    limit here is a hang guard, far above the ~1 s this takes."""
    nest = Landscape.from_string("tanh(" * 28 + "x" + ")" * 28 + " + x**2")
    with time_limit(60.0, "loss", "tanh nest", "critical_points"):
        found = critical_points(nest)
    assert len(found.minima) == 1  # x² outgrows the nest, which is bounded by 1
    assert abs(float(nest.gradient_at(found.minima[0].x)[0])) < 1e-10
