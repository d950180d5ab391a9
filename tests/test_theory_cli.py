"""The theory CLI: contract keys, bad input → one line and exit code 2."""

from __future__ import annotations

import json
import re
import warnings

import pytest

from threefactors.cli import main


def _json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> dict:
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_minima_contract(capsys: pytest.CaptureFixture[str]) -> None:
    out = _json(
        capsys,
        [
            "minima",
            "--loss",
            "(x**2-1)**2 + 2*y**2 + 0.5*x*y",
            "--lr",
            "0.5",
            "--batch",
            "2",
            "--sigma",
            "1",
            "--json",
        ],
    )
    assert out["temperature"] == pytest.approx(0.5 / 4)
    assert len(out["minima"]) == 2 and len(out["saddles"]) == 1
    for key in ("x", "loss", "hessian_eigenvalues", "laplace_probability", "gibbs_probability"):
        assert key in out["minima"][0]
    assert out["minima"][0]["x"][0] < out["minima"][1]["x"][0]
    esc = out["escape"][0]
    assert esc["from"] == 0 and len(esc["via"]) == 2
    assert esc["kramers_steps"] == pytest.approx(esc["kramers_time"] / 0.5)


def test_derive_and_stationary_contract(capsys: pytest.CaptureFixture[str]) -> None:
    import sympy as sp

    out = _json(capsys, ["derive", "--loss", "(x**2-1)**2", "--format", "json"])
    assert out["verified"] is True and out["fp_residual"] == "0"
    assert set(out["sde"]) == {"drift", "diffusion"}
    names = {n: sp.Symbol(n) for n in ("x", "eta", "S", "sigma")}
    density = sp.parse_expr(out["stationary_density"], local_dict=names)
    assert {s.name for s in density.free_symbols} == {"x", "eta", "S", "sigma"}
    out = _json(
        capsys,
        ["stationary", "--hessian", "1,4", "--lr", "0.1", "--batch", "8", "--sigma", "1", "--json"],
    )
    assert out["stable"] is True
    assert out["ratio"] == pytest.approx([1 / (1 - 0.05), 1 / (1 - 0.2)])


def test_derive_latex_is_a_pasteable_derivation(capsys: pytest.CaptureFixture[str]) -> None:
    """`derive --format latex` (issue 2, Done when): one align block holding the SDE, the
    Fokker–Planck equation and the Gibbs density exp(−2SL/(ησ²)) built here with sympy, and
    the statement that the FP residual simplifies to 0."""
    import sympy as sp

    assert main(["derive", "--loss", "(x**2-1)**2", "--format", "latex"]) == 0
    out = capsys.readouterr().out
    x, eta, batch, sigma = sp.symbols("x eta S sigma")
    density = sp.exp(-2 * batch * (x**2 - 1) ** 2 / (eta * sigma**2))
    assert out.count(r"\begin{align}") == 1 and out.count(r"\end{align}") == 1
    assert sp.latex(density) in out
    assert sp.latex(eta * sigma**2 / (2 * batch)) in out  # the temperature / diffusion
    assert r"\frac{\partial}{\partial t} p" in out and r"\mathrm{d}W_t" in out
    assert "verified" in out and "Traceback" not in out


@pytest.mark.parametrize(
    ("argv", "name"),
    [
        (["minima", "--loss", "(x**2", "--lr", "0.1", "--batch", "8", "--sigma", "1"], "loss"),
        (["minima", "--loss", "x**2 + q", "--lr", "0.1", "--batch", "8", "--sigma", "1"], None),
        (["minima", "--loss", "x**3", "--lr", "0.1", "--batch", "8", "--sigma", "1"], "loss"),
        (["minima", "--loss", "x**2", "--lr", "0", "--batch", "8", "--sigma", "1"], "lr"),
        (["minima", "--loss", "x**2", "--lr", "0.1", "--batch", "0.5", "--sigma", "1"], "batch"),
        (["minima", "--loss", "x**2", "--lr", "0.1", "--batch", "8", "--sigma", "-1"], "sigma"),
        (["stationary", "--hessian", "1,4", "--lr", "0.6", "--batch", "8", "--sigma", "1"], "lr"),
        (
            ["stationary", "--hessian", "1,a", "--lr", "0.1", "--batch", "8", "--sigma", "1"],
            "hessian",
        ),
    ],
)
def test_bad_input_is_one_line_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], name: str | None
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    if name:
        assert f"{name}=" in err or re.search(rf"argument --{name}(/--[\w-]+)*:", err)


def test_bad_hessian_is_reported_as_typed(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["stationary", "--hessian", "1,-1", "--lr", "0.1", "--batch", "8", "--sigma", "1"]
    assert main(argv) == 2
    assert "hessian=[1.0, -1.0]: " in capsys.readouterr().err  # not numpy's np.float64(...)


_SETTING = ["--lr", "0.1", "--batch", "1", "--sigma", "1"]
_SIMULATE = ["simulate", "langevin", "--lr", "0.1", "--particles", "64", "--steps", "10"]


@pytest.mark.parametrize(
    ("argv", "parameter", "reason"),
    [
        # complex values are refused, never cut to their real part
        (["derive", "--loss", "(-8)**(1/3)*x**2"], "loss", "complex value"),
        (["minima", "--loss", "sqrt(a)*x + x**4", "--param", "a=-1", *_SETTING], "loss",
         "complex value"),
        ([*_SIMULATE, "--loss", "sqrt(a)*x + x**4", "--param", "a=-1"], "loss", "complex value"),
        (["derive", "--loss", "log(a)*x + x**4", "--param", "a=-1"], "loss", "complex value"),
        # exact numbers and doubles out of range
        (["derive", "--loss", "*".join(["(2**63)**64"] * 4) + "*x**2"], "loss",
         "exact number too large"),
        (["derive", "--loss", "x**2 + 1e308*10"], "loss", "number 1.00E+309 out of the range"),
        ([*_SIMULATE, "--loss", "x**2 + 1e308*10"], "loss", "out of the range of a double"),
        (["minima", "--loss", "1/a + x**2", "--param", "a=0", *_SETTING], "loss",
         "division by zero"),
        (["minima", "--loss", "a*a*x**2", "--param", "a=1e308", *_SETTING], "loss",
         "out of the range of a double"),
        (["minima", "--loss", "sqrt(x+1)", *_SETTING], "loss", "not a finite real double"),
        (["minima", "--loss", "x**0.5", *_SETTING], "loss", "not a finite real double"),
        # a degree-2560 polynomial is not expanded (it took minutes): handled numerically
        (["minima", "--loss", "*".join(f"(x+{i})**64" for i in range(1, 41)), *_SETTING],
         "loss", "within a double's range"),
        # overflow of T = ησ²/(2S)
        (["minima", "--loss", "(x**2-1)**2", "--lr", "0.1", "--batch", "1", "--sigma", "1e200"],
         "sigma", "overflows a double"),
        (["stationary", "--hessian", "1,4", "--lr", "0.1", "--batch", "1", "--sigma", "1e200"],
         "sigma", "overflows a double"),
        ([*_SIMULATE, "--loss", "(x**2-1)**2", "--sigma", "1e200"], "sigma", "overflows"),
        (["relax", "--loss", "(x**2-1)**2", *_SETTING, "--start", "-1", "--times", "0,1e308"],
         "times", "too long for the solver"),
        (["stationary", "--hessian", "1e-320", *_SETTING], "hessian", "overflows a double"),
        # --param names: empty, unused, constants, repeated; names folded by NFKC
        (["minima", "--loss", "x**4", "--param", "=1", *_SETTING], "param", "expected NAME=VALUE"),
        (["minima", "--loss", "x**4", "--param", "a b=1", *_SETTING], "param", "a name is"),
        (["minima", "--loss", "x**4", "--param", "b=1", *_SETTING], "param", "not a symbol"),
        (["minima", "--loss", "x**4 + E*x", "--param", "E=1", *_SETTING], "param", "constant"),
        (["minima", "--loss", "x**4 + pi*x", "--param", "pi=1", *_SETTING], "param", "constant"),
        (["minima", "--loss", "x**4 + a*x", "--param", "a=1", "--param", "a=2", *_SETTING],
         "param", "given twice"),
        (["derive", "--loss", "ϑ**2 + θ**2"], "loss", "variant of 'θ'"),
        # memory checked against the budget (4 GiB here) before anything is allocated
        (["relax", "--loss", "(x**2-1)**2 + y**2", *_SETTING, "--start", "-1,0", "--grid",
          "2000"], "grid", "needs 20.3 GiB of memory, more than the budget of 4 GiB"),
    ],
)  # fmt: skip
def test_issue_22_refusals_are_one_line(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    parameter: str,
    reason: str,
) -> None:
    """Each case of issue 22 (theory, simulate): exit 2, one line naming the parameter and
    the reason, no warning and no traceback."""
    monkeypatch.setenv("THREEFACTORS_MEMORY_BUDGET", str(4 * 2**30))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert f" {parameter}=" in err and reason in err, err
