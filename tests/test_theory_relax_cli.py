"""``threefactors relax`` and the conservative Fokker–Planck form of ``derive``: contract
keys, values held against the API's own independent parts, bad input → one line, exit 2."""

from __future__ import annotations

import json

import numpy as np
import pytest

from threefactors.cli import main

BASE = ["relax", "--loss", "(x^2-1)^2", "--lr", "0.3", "--batch", "1", "--sigma", "1"]
KEYS = (
    "times",
    "occupancy",
    "relaxation_rates",
    "kramers_rates",
    "stationary_occupancy",
    "mass_error",
    "grid",
)


def test_relax_contract_1d(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*BASE, "--start", "-1", "--times", "0,1,10,100", "--grid", "800", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    for key in KEYS:
        assert key in out
    assert out["times"] == [0.0, 1.0, 10.0, 100.0] and out["grid"] == 800
    occupancy = np.array(out["occupancy"])
    assert occupancy.shape == (4, 2) and occupancy[0] == pytest.approx([1.0, 0.0])
    assert np.all(np.diff(occupancy[:, 0]) < 0)  # mass leaks out of the start's basin
    assert out["mass_error"] <= 1e-10
    assert out["stationary_occupancy"] == pytest.approx([0.5, 0.5], abs=1e-12)
    rates = out["relaxation_rates"]
    assert rates == sorted(rates) and rates[0] > 0
    # symmetric wells: λ_1 = 2/MFPT up to e^{−O(ΔL/T)}, here ΔL/T = 6.7
    assert rates[0] == pytest.approx(out["mfpt_relaxation_rate"], rel=5e-3)
    assert "provenance" in out


def test_relax_contract_2d(capsys: pytest.CaptureFixture[str]) -> None:
    loss = "(x^2-1)^2 + 0.2*x + (2 + (x+1)^2)*y^2/2"
    argv = ["relax", "--loss", loss, "--lr", "0.6", "--batch", "1", "--sigma", "1"]
    assert main([*argv, "--start=-1,0", "--times", "0,5", "--grid", "100", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert np.array(out["occupancy"]).shape == (2, 2) and out["grid"] == 100
    assert out["mass_error"] <= 1e-10 and out["mfpt_rates"] is None


def test_relax_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*BASE, "--start", "-1", "--times", "0,10", "--grid", "400"]) == 0
    text = capsys.readouterr().out
    assert "relaxation rates" in text and "Kramers" in text


@pytest.mark.parametrize(
    ("extra", "parameter"),
    [
        (["--start", "-1", "--times", "-1,2"], "times="),
        (["--start", "-1", "--times", "2,1"], "times="),
        (["--start", "-1", "--times", "1,x"], "times="),
        (["--start", "9"], "start="),
        (["--start", "-1", "--grid", "10"], "grid="),
    ],
)
def test_relax_bad_input(capsys: pytest.CaptureFixture[str], extra, parameter) -> None:
    assert main([*BASE, *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and parameter in err
    if parameter == "grid=":
        assert "need grid ≥" in err


def test_relax_bad_sigma_and_dimension(capsys: pytest.CaptureFixture[str]) -> None:
    argv = [*BASE[:-2], "--sigma", "0", "--start", "-1"]
    assert main(argv) == 2 and "argument --sigma:" in capsys.readouterr().err
    argv = ["relax", "--loss", "x^2+y^2+z^2", "--lr", "1", "--batch", "1", "--sigma", "1"]
    assert main([*argv, "--start=0,0,0"]) == 2
    err = capsys.readouterr().err
    assert "loss=" in err and "d ≤ 2" in err


def test_derive_prints_conservative_form(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["derive", "--loss", "(x^2-1)^2 + y^2"]) == 0
    text = capsys.readouterr().out
    assert "∂p/∂t = ∇·(∇L p) + T Δp" in text
    assert main(["derive", "--loss", "(x^2-1)^2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["fokker_planck_conservative"] == "∂p/∂t = ∇·(∇L p) + T Δp"
    assert "Derivative(4*x*(x**2 - 1)*p(x, t), x)" in out["fokker_planck_conservative_components"]


@pytest.mark.parametrize(("noise", "order"), [("isotropic", 1), ("isotropic", 2), ("hessian", 1)])
def test_conservative_form_equals_the_expanded_operator(noise: str, order: int) -> None:
    import sympy as sp

    from threefactors.theory.landscape import Landscape
    from threefactors.theory.sde import derive

    result = derive(Landscape.from_string("(x^2-1)^2 + x*y + y^2"), noise, order=order)
    gap = result.fokker_planck_conservative.expr.rhs.doit() - result.fokker_planck.expr.rhs
    assert sp.simplify(gap) == 0
    assert result.order == order
