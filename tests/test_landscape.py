"""Landscape: parsing, symbolic derivatives against finite differences, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from threefactors.errors import InputError
from threefactors.simulate.ensemble import langevin
from threefactors.theory.critical import critical_points
from threefactors.theory.landscape import Landscape


def test_gradient_and_hessian_match_finite_differences() -> None:
    land = Landscape.from_string("(x**2-1)**2 + 2*y^2 + 0.5*x*y + a*exp(-x*y)", params={"a": 0.7})
    rng = np.random.default_rng(0)
    theta = rng.normal(size=(5, 2))
    h = 1e-6
    eye = np.eye(2)
    fd_grad = np.stack(
        [(land.loss_at(theta + h * e) - land.loss_at(theta - h * e)) / (2 * h) for e in eye], -1
    )
    # central differences: error O(h^2 L''') + O(eps L / h) ~ 1e-9 here
    np.testing.assert_allclose(land.gradient_at(theta), fd_grad, rtol=1e-6, atol=1e-7)
    fd_hess = np.stack(
        [
            (land.gradient_at(theta + h * e) - land.gradient_at(theta - h * e)) / (2 * h)
            for e in eye
        ],
        -2,
    )
    np.testing.assert_allclose(land.hessian_at(theta), fd_hess, rtol=1e-5, atol=1e-6)


def test_coordinates_are_ordered_naturally_and_parameters_substituted() -> None:
    assert Landscape.from_string("x10 + x2**2 + x1").coord_names == ("x1", "x2", "x10")
    land = Landscape.from_string("(x**2-1)**2 + a*x", params={"a": 0.3})
    assert land.coord_names == ("x",)
    assert land.gradient_at(np.zeros(1))[0] == pytest.approx(0.3)
    assert land.with_params(a=0.0).gradient_at(np.zeros(1))[0] == 0.0
    assert land.key != land.with_params(a=0.0).key


@pytest.mark.parametrize(
    ("text", "coords", "fragment"),
    [
        ("(x**2", None, "cannot parse"),
        ("x + eta", None, "reserved"),
        ("3", None, "no coordinate"),
        ("x + a", ["x"], "unknown symbol a"),
        ("", None, "empty"),
    ],
)
def test_bad_loss_names_the_parameter(text: str, coords: list[str] | None, fragment: str) -> None:
    with pytest.raises(InputError, match=fragment) as info:
        Landscape.from_string(text, coords=coords)
    assert info.value.parameter == "loss"


def test_symbols_not_named_like_coordinates_need_a_value() -> None:
    assert Landscape.from_string("x1**2 + x2**2 + theta**2").dim == 3
    with pytest.raises(InputError, match="unknown symbol a"):
        Landscape.from_string("x**2 + a")
    assert Landscape.from_string("u**2 + v", coords=["u", "v"]).coord_names == ("u", "v")


def test_a_pickled_landscape_evaluates_the_same() -> None:
    """Sweeps send landscapes to worker processes: after a pickle round trip (numeric views
    already built before it) loss, gradient and Hessian are bit-identical."""
    import pickle

    well = Landscape.from_string("(x^2 - 1)^2 + a*x*y + y^2", params={"a": 0.3})
    theta = np.array([[0.3, -0.2], [1.1, 0.4]])
    before = (well.loss_at(theta), well.gradient_at(theta), well.hessian_at(theta))
    copy = pickle.loads(pickle.dumps(well))
    after = (copy.loss_at(theta), copy.gradient_at(theta), copy.hessian_at(theta))
    for a, b in zip(before, after, strict=True):
        np.testing.assert_array_equal(a, b)
    assert copy.key == well.key and copy.box == well.box


@pytest.mark.parametrize(
    "box", [[(-np.inf, np.inf)], [(-1e308, 1e308)], [(0.0, np.nan)], [(-np.inf, 0.0)]]
)
def test_box_must_be_finite(box) -> None:
    """A box of ±inf or ±1e308 reported one minimum of a double well, Gibbs [1.0]."""
    with pytest.raises(InputError, match="box="):
        Landscape.from_string("(x**2-1)**2", box=box)


def test_a_box_is_where_the_search_runs_and_particles_start() -> None:
    """What a box means (issue 22, W3): in 2-D the critical-point search runs inside it
    (a box holding one well of two finds one minimum); a 1-D polynomial's critical points
    are exact on all of ℝ whatever the box; the simulator starts its particles in it."""
    two = "(x**2-1)**2 + y**2 + 0.1*x"
    assert len(critical_points(Landscape.from_string(two, box=[(-3, 3), (-3, 3)])).minima) == 2
    assert len(critical_points(Landscape.from_string(two, box=[(-2, 0), (-1, 1)])).minima) == 1
    one = Landscape.from_string("(x**2-1)**2 + 0.1*x", box=[(2, 3)])
    assert len(critical_points(one).minima) == 2
    run = langevin(one, eta=1e-9, sigma=0.0, particles=200, steps=1, seed=0)
    assert np.all((run.final >= 2) & (run.final <= 3))


@pytest.mark.parametrize(
    ("name", "fragment"),
    [("x y", "a name is"), ("_x0", "a name is"), ("ϑ", "variant of 'θ'"), ("x)", "a name is")],
)
def test_coordinate_and_parameter_names_are_formula_names(name: str, fragment: str) -> None:
    coordinate = sp.Symbol(name, real=True)
    with pytest.raises(InputError, match=f"coords=.*{fragment}"):
        Landscape(coordinate**2, (coordinate,))
    with pytest.raises(InputError, match=f"params=.*{fragment}"):
        Landscape.from_string("x**2", params={name: 1.0})
