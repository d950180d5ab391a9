"""Built-in landscapes: each one has the critical structure and the depths/widths it promises."""

from __future__ import annotations

import numpy as np
import pytest

from threefactors.errors import InputError
from threefactors.theory.builtin_landscapes import (
    double_well,
    quadratic,
    symmetric_double_well,
    tilted_multiwell,
    two_minima_2d,
)
from threefactors.theory.critical import critical_points


@pytest.mark.parametrize(
    ("depths", "widths"),
    [
        ((1.0, 0.5), (0.25, 0.5)),
        ((1.0, 0.5), (0.25, 1.0)),
        ((0.5, 1.0), (0.5, 0.25)),
        ((1.0, 1.0), (0.1, 1.0)),
        ((0.3, 0.8), (0.4, 0.4)),
    ],
)
def test_double_well_meets_all_four_targets(
    depths: tuple[float, float], widths: tuple[float, float]
) -> None:
    land = double_well(depths[0], depths[1], widths[0], widths[1])
    cp = critical_points(land)
    # exactly two minima at ∓1 and one maximum at 0: q > 0 leaves no other critical point
    assert [m.x[0] for m in cp.minima] == pytest.approx([-1.0, 1.0], abs=1e-9)
    assert len(cp.saddles) == 1 and cp.saddles[0].x[0] == pytest.approx(0.0, abs=1e-9)
    assert not cp.others
    barrier = cp.saddles[0].loss
    assert [barrier - m.loss for m in cp.minima] == pytest.approx(list(depths), rel=1e-9)
    curv = [float(m.hessian_eigenvalues[0]) for m in cp.minima]
    assert curv == pytest.approx([1 / w**2 for w in widths], rel=1e-9)
    assert min(m.loss for m in cp.minima) == pytest.approx(0.0, abs=1e-9)


def test_double_well_reduces_to_the_quartic_when_targets_are_a_quartics() -> None:
    # D((x/m)^4 - 2(x/m)^2) with m = 1 has D = 1, L''(±1) = 8: widths 1/sqrt(8)
    land = double_well(1.0, 1.0, 8**-0.5, 8**-0.5)
    xs = np.linspace(-2, 2, 41)[:, None]
    np.testing.assert_allclose(land.loss_at(xs), (xs[:, 0] ** 2 - 1) ** 2, atol=1e-12)


def test_double_well_refuses_impossible_targets() -> None:
    with pytest.raises(InputError) as info:
        double_well(1.0, 1.0, 0.01, 3.0)
    assert info.value.parameter == "width_left"
    with pytest.raises(InputError, match="must be > 0"):
        double_well(-1.0, 1.0, 0.5, 0.5)


def test_symmetric_double_well_depth_and_width() -> None:
    land = symmetric_double_well(depth=0.7, width=0.3)
    cp = critical_points(land)
    assert len(cp.minima) == 2
    assert cp.saddles[0].loss - cp.minima[0].loss == pytest.approx(0.7, rel=1e-12)
    assert cp.minima[1].hessian_eigenvalues[0] == pytest.approx(1 / 0.3**2, rel=1e-12)
    wider = land.with_params(width=0.6)
    assert critical_points(wider).minima[0].hessian_eigenvalues[0] == pytest.approx(1 / 0.36)


def test_quadratic_hessian_is_the_given_spectrum() -> None:
    land = quadratic([0.5, 2.0, 7.0])
    assert land.coord_names == ("x1", "x2", "x3")
    rng = np.random.default_rng(1)
    np.testing.assert_allclose(land.hessian_at(rng.normal(size=3)), np.diag([0.5, 2.0, 7.0]))
    assert quadratic([3.0]).coord_names == ("x",)
    with pytest.raises(InputError, match="> 0"):
        quadratic([1.0, -1.0])


def test_tilted_multiwell_has_n_minima_ordered_by_tilt() -> None:
    for n in (3, 4):
        cp = critical_points(tilted_multiwell(n_minima=n, barrier=1.0, tilt=0.1))
        assert len(cp.minima) == n and len(cp.saddles) == n - 1
        losses = [m.loss for m in cp.minima]
        assert losses == sorted(losses)  # positive tilt raises the wells to the right
    untilted = critical_points(tilted_multiwell(3, barrier=2.0, tilt=0.0))
    assert untilted.saddles[0].loss - untilted.minima[0].loss == pytest.approx(2.0, rel=1e-9)


def test_two_minima_2d_has_two_minima_and_an_index_one_saddle() -> None:
    cp = critical_points(two_minima_2d())
    assert len(cp.minima) == 2 and len(cp.saddles) == 1
    left, right = cp.minima
    assert left.x[0] < 0 < right.x[0]
    assert right.loss < left.loss  # tilt < 0: right deeper
    assert np.prod(right.hessian_eigenvalues) > np.prod(left.hessian_eigenvalues)  # and sharper
    assert cp.saddles[0].index == 1
