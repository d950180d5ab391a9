"""Bad input on every subcommand: exit 2, one line on stderr, no traceback, and the line names
the option the user typed (``argument --dt:`` from argparse, ``dt=…`` from InputError).
``threefactors --help`` imports no numerical library."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from threefactors.cli import main

LOSS = ["--loss", "(x^2-1)^2"]
MINIMA = ["minima", *LOSS, "--lr", "0.1", "--batch", "1", "--sigma", "1"]
STATIONARY = ["stationary", "--hessian", "1,4", "--lr", "0.1", "--batch", "1", "--sigma", "1"]
LANGEVIN = ["simulate", "langevin", *LOSS, "--lr", "0.1", "--steps", "5", "--particles", "10"]
SGD = ["simulate", "sgd", *LOSS, "--lr", "0.1", "--batch", "1", "--examples", "20"]
SGD += ["--steps", "5", "--particles", "10"]
TRAIN = ["train", "--n-train", "100", "--epochs", "1", "--no-measure"]
GRID = ["grid", "--experiment", "ratio", "--quick"]


def _with(argv: list[str], option: str, value: str) -> list[str]:
    """``argv`` with ``option`` set to ``value`` (replaced if present, else appended)."""
    if option in argv:
        i = argv.index(option)
        return [*argv[: i + 1], value, *argv[i + 2 :]]
    return [*argv, option, value]


# (argv, the parameter the one-line error must name)
CASES = [
    (_with(MINIMA, "--loss", "Abs(x)"), "loss"),  # was NameError: DiracDelta
    (_with(MINIMA, "--loss", "sin(x)"), "loss"),
    (_with(MINIMA, "--loss", "x^3 - x"), "loss"),
    (_with(MINIMA, "--batch", "nan"), "batch"),  # was ValueError in check_batch
    (_with(MINIMA, "--batch", "inf"), "batch"),  # was OverflowError
    (_with(MINIMA, "--lr", "inf"), "lr"),  # was RuntimeWarnings, then the wrong culprit
    (_with(MINIMA, "--sigma", "0"), "sigma"),
    (_with(STATIONARY, "--sigma", "inf"), "sigma"),  # printed infinite covariances
    (_with(STATIONARY, "--hessian", "1,inf"), "hessian"),
    (_with(STATIONARY, "--lr", "-1"), "lr"),
    (["derive", "--loss", "x^2 + a*x", "--param", "a=nan"], "param"),  # printed L = nan
    (_with(LANGEVIN, "--time", "inf"), "time"),  # was OverflowError
    (_with(LANGEVIN, "--dt", "inf"), "dt"),  # blamed steps
    (_with(LANGEVIN, "--lr", "inf"), "lr"),  # ran
    (_with(LANGEVIN, "--seed", str(2**64)), "seed"),  # was a numba TypingError
    (_with(LANGEVIN, "--seed", "-1"), "seed"),
    (_with(LANGEVIN, "--particles", "10^12"), "particles"),  # blamed steps
    (_with(LANGEVIN, "--particles", "1e12"), "particles"),  # over the memory budget
    (_with(LANGEVIN, "--escape-radius", "nan"), "escape-radius"),
    (_with(LANGEVIN, "--bound", "-inf"), "bound"),
    (_with(LANGEVIN, "--loss", "sin(x)"), "loss"),  # ran, although minima refuses it
    (_with(LANGEVIN, "--memory-budget", "0"), "memory-budget"),
    (_with(SGD, "--examples", "1e10"), "examples"),  # was a MemoryError after allocating
    (_with(SGD, "--batch", "nan"), "batch"),
    (_with(SGD, "--sigma", "inf"), "sigma"),
    (_with(TRAIN, "--lr", "inf"), "lr"),  # ran
    (_with(TRAIN, "--seed", str(2**64)), "seed"),
    (_with(TRAIN, "--momentum", "1"), "momentum"),
    (_with(TRAIN, "--random-labels", "nan"), "random-labels"),
    (_with(TRAIN, "--n-train", "0"), "n-train"),
    (_with(TRAIN, "--width", "1.5"), "width"),
    ([*GRID, "--out", "{tmp}/g", "--checkpoint-every", "nan"], "checkpoint-every"),
    ([*GRID, "--out", "{tmp}/g", "--checkpoint-every", "-1"], "checkpoint-every"),
    ([*GRID, "--out", "{tmp}/g", "--jobs", "0"], "jobs"),
    ([*GRID, "--out", ""], "out"),  # wrote into the current folder
    ([*GRID, "--out", "{tmp}/file"], "out"),  # FileExistsError
    ([*GRID, "--out", "{tmp}/file/sub"], "out"),  # NotADirectoryError
    ([*GRID, "--out", "{tmp}/g", "--set", "n_train=-1"], "n-train"),  # blamed batch
    ([*GRID, "--out", "{tmp}/g", "--set", "lr=inf"], "lr"),
    ([*GRID, "--out", "{tmp}/g", "--set", "momentum=nan"], "momentum"),
    (["reproduce", "--quick", "--out", "{tmp}/file/sub"], "out"),  # computed a claim first
    (["reproduce", "--quick", "--out", "{tmp}/file"], "out"),
    (["reproduce", "--quick", "--seed", "1.5"], "seed"),
]


@pytest.mark.parametrize(("argv", "name"), CASES, ids=[f"{a[0]}-{n}" for a, n in CASES])
def test_bad_input_is_one_line_naming_the_parameter(
    argv: list[str], name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "file").write_text("not a folder")
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert main(argv) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert len(err.splitlines()) == 1, err
    assert "Traceback" not in err and "error" in err
    assert f"argument --{name}:" in err or f"{name}=" in err, err
    assert "nan" not in captured.out.lower()
    assert not (tmp_path / "g").exists()  # a refused grid leaves no folder behind


def test_grid_refused_after_loading_the_data_leaves_no_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """S > N is only known once the data set is loaded, after the folder was made."""
    out = tmp_path / "grid"
    argv = [*GRID, "--out", str(out), "--set", "n_train=50", "--set", "batch=64"]
    argv += ["--set", "epochs=1"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "batch=" in err
    assert not out.exists()


def test_help_imports_no_numerical_library() -> None:
    """``threefactors --help`` builds every subparser without numpy, scipy, sympy, numba or
    torch (they cost about a second): their imports live in the handlers."""
    code = (
        "import sys; from threefactors.cli import build_parser; build_parser().format_help(); "
        "print(sorted(m for m in ('numpy', 'scipy', 'sympy', 'numba', 'torch') "
        "if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
