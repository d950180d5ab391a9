"""Escape routes on landscapes with three or more minima, and degenerate minima.

Every minimum escapes over an adjacent saddle into the minimum on the other side of it. In
1-D the answer is known independently: the critical points alternate, so a maximum joins
the minima next to it in order. In 2-D the landscapes below are built from a 1-D profile
f(x) plus a stiff valley k (y − g(x))², whose critical points lie on the valley floor
y = g(x) at the critical points of f, so the 1-D answer holds there too.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import quad

from threefactors.theory.builtin_landscapes import tilted_multiwell
from threefactors.theory.critical import critical_points, saddle_connections
from threefactors.theory.escape import escape_routes
from threefactors.theory.gibbs import gibbs_probabilities, laplace_probabilities
from threefactors.theory.landscape import Landscape

ISSUE_EXAMPLE = "(x**2-1)**2*(x**2-4)/4 + x**2/10"
PROFILES = {
    "issue example (3 minima)": ISSUE_EXAMPLE,
    "asymmetric 3 minima": "(x**2-1)**2*(x**2-4)/4 + x**2/10 + 0.3*x",
    "steep sextic (3 minima)": "40*((x**2-1)**2*(x**2-4)/4 + x**2/10)",
    "4 minima": "(x**2-1)**2*(x**2-4)**2/8 + 0.05*x",
    "5 minima, steep": "20*x**2*(x**2-1)**2*(x**2-4)**2/16 + 0.2*x",
}


def _expected_1d(cp) -> list[tuple[int, int]]:
    """The minima on either side of each maximum, from the sorted positions alone."""
    xs = [m.x[0] for m in cp.minima]
    out = []
    for s in cp.saddles:
        z = s.x[0]
        out.append(
            (max(k for k, x in enumerate(xs) if x < z), min(k for k, x in enumerate(xs) if x > z))
        )
    return out


def _check_routes(land: Landscape, temperature: float, expected: list[tuple[int, int]]) -> None:
    cp = critical_points(land)
    assert saddle_connections(land, cp) == expected
    routes = escape_routes(land, temperature, cp)
    for k, route in enumerate(routes):
        adjacent = [s for s, pair in enumerate(expected) if k in pair]
        lowest = min(cp.saddles[s].loss for s in adjacent)
        assert route.saddle is not None and route.saddle.loss == pytest.approx(lowest)
        s = next(s for s in adjacent if cp.saddles[s] is route.saddle)
        assert route.target == (expected[s][1] if expected[s][0] == k else expected[s][0])
        assert route.barrier == pytest.approx(lowest - cp.minima[k].loss)
        assert np.isfinite(route.time) and route.time > 0


@pytest.mark.parametrize("text", list(PROFILES.values()), ids=list(PROFILES))
def test_1d_routes_go_to_the_neighbouring_minima(text: str) -> None:
    land = Landscape.from_string(text)
    cp = critical_points(land)
    assert len(cp.minima) == len(cp.saddles) + 1 >= 3
    _check_routes(land, 0.1, _expected_1d(cp))


def test_issue_example_escapes_into_the_middle_minimum() -> None:
    land = Landscape.from_string(ISSUE_EXAMPLE)
    routes = escape_routes(land, 0.125)
    assert [r.target for r in routes][0::2] == [1, 1]
    assert routes[1].target in (0, 2) and np.isfinite(routes[1].time)


@pytest.mark.parametrize("n_minima", [3, 4, 5])
def test_tilted_multiwells(n_minima: int) -> None:
    land = tilted_multiwell(n_minima, barrier=1.0, tilt=0.15)
    cp = critical_points(land)
    assert len(cp.minima) == n_minima
    _check_routes(land, 0.1, [(k, k + 1) for k in range(n_minima - 1)])


@pytest.mark.parametrize(
    ("profile", "valley"),
    [
        ("issue example (3 minima)", "0.3*x**2"),
        ("steep sextic (3 minima)", "0.5*x"),
        ("4 minima", "0.2*x**2 - 0.1*x"),
    ],
)
def test_2d_routes_follow_the_valley(profile: str, valley: str) -> None:
    """2-D: f(x) + 25 (y − g(x))² has the critical points of f on the floor y = g(x), with
    the same losses; adaptive flow from each saddle must reach the neighbouring minima."""
    text = f"{PROFILES[profile]} + 25*(y - ({valley}))**2"
    land = Landscape.from_string(text, box=((-2.6, 2.6), (-2.0, 3.0)))
    one_d = critical_points(Landscape.from_string(PROFILES[profile]))
    cp = critical_points(land)
    assert [m.x[0] for m in cp.minima] == pytest.approx([m.x[0] for m in one_d.minima], abs=1e-7)
    assert [s.loss for s in cp.saddles] == pytest.approx([s.loss for s in one_d.saddles])
    _check_routes(land, 0.1, _expected_1d(one_d))


def test_degenerate_minimum_x4() -> None:
    land = Landscape.from_string("x**4")
    cp = critical_points(land)
    (minimum,) = cp.minima
    assert minimum.degenerate and minimum.hessian_eigenvalues[0] == 0.0
    assert np.isnan(laplace_probabilities(land, 0.1, cp)).all()
    assert gibbs_probabilities(land, 0.1, cp) == pytest.approx([1.0])


def test_degenerate_minimum_in_2d() -> None:
    land = Landscape.from_string("x**4 + y**2")
    (minimum,) = critical_points(land).minima
    assert minimum.degenerate
    small, large = sorted(minimum.hessian_eigenvalues)
    assert abs(small) < 1e-9 and large == pytest.approx(2.0)


def test_degenerate_minimum_gibbs_mass_by_quadrature() -> None:
    """x⁴(x − 2)²: a flat minimum at 0 and a sharp one at 2. Gibbs masses against an
    independent quadrature split at the maximum 4/3; Laplace invalid, Kramers only for the
    non-degenerate minimum."""
    land = Landscape.from_string("x**4*(x-2)**2")
    temperature = 0.2
    cp = critical_points(land)
    assert [m.degenerate for m in cp.minima] == [True, False]

    def weight(x: float) -> float:
        return float(np.exp(-(x**4) * (x - 2) ** 2 / temperature))

    left = quad(weight, -3, 0, epsrel=1e-12)[0] + quad(weight, 0, 4 / 3, epsrel=1e-12)[0]
    right = quad(weight, 4 / 3, 2, epsrel=1e-12)[0] + quad(weight, 2, 4, epsrel=1e-12)[0]
    expected = np.array([left, right]) / (left + right)
    assert gibbs_probabilities(land, temperature, cp) == pytest.approx(expected, rel=1e-8)
    assert np.isnan(laplace_probabilities(land, temperature, cp)).all()
    routes = escape_routes(land, temperature, cp)
    assert np.isnan(routes[0].time) and routes[0].target == 1
    assert np.isfinite(routes[1].time) and routes[1].target == 0


@pytest.mark.parametrize("text", ["x**3", "x**3 + y**2"])
def test_degenerate_inflection_is_not_a_minimum(text: str) -> None:
    from threefactors.errors import InputError

    with pytest.raises(InputError, match="no minimum"):
        critical_points(Landscape.from_string(text))


def test_minima_cli_routes_the_issue_example(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from threefactors.cli import main

    argv = ["minima", "--loss", ISSUE_EXAMPLE, "--lr", "0.5", "--batch", "2", "--sigma", "1"]
    assert main([*argv, "--json"]) == 0
    escape = json.loads(capsys.readouterr().out)["escape"]
    assert [e["to"] for e in escape][0::2] == [1, 1] and escape[1]["to"] in (0, 2)
    assert all(e["escapable"] and e["kramers_time"] > 0 for e in escape)
