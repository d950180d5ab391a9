"""Bad input on every subcommand: exit 2, one line on stderr, no traceback, and the line names
the option the user typed (``argument --dt:`` from argparse, ``dt=…`` from InputError).
``threefactors --help`` imports no numerical library."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from threefactors import resources
from threefactors.cli import main

LOSS = ["--loss", "(x^2-1)^2"]
MINIMA = ["minima", *LOSS, "--lr", "0.1", "--batch", "1", "--sigma", "1"]
STATIONARY = ["stationary", "--hessian", "1,4", "--lr", "0.1", "--batch", "1", "--sigma", "1"]
LANGEVIN = ["simulate", "langevin", *LOSS, "--lr", "0.1", "--steps", "5", "--particles", "10"]
SGD = ["simulate", "sgd", *LOSS, "--lr", "0.1", "--batch", "1", "--examples", "20"]
SGD += ["--steps", "5", "--particles", "10"]
TRAIN = ["train", "--n-train", "100", "--epochs", "1", "--no-measure"]
GRID = ["grid", "--experiment", "ratio", "--quick"]
SPECTRUM = ["spectrum", "--dataset", "digits", "--out", "{tmp}/s"]


@pytest.fixture(autouse=True)
def _budget_restored(monkeypatch: pytest.MonkeyPatch) -> None:
    """``--memory-budget`` sets an environment variable: undone after each test."""
    monkeypatch.setenv(resources.ENV, "0")
    monkeypatch.delenv(resources.ENV)


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
    ([*_with(MINIMA, "--lr", "1e300"), "--sigma", "1e10"], "lr"),  # T = inf blamed temperature
    ([*_with(MINIMA, "--lr", "1e-300"), "--sigma", "1e-300"], "lr"),  # T = 0
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
    ([*_with(TRAIN, "--width", "1e6"), "--memory-budget", "1G"], "width"),  # 10¹² weights
    ([*GRID, "--out", "{tmp}/g", "--checkpoint-every", "nan"], "checkpoint-every"),
    ([*GRID, "--out", "{tmp}/g", "--checkpoint-every", "-1"], "checkpoint-every"),
    ([*GRID, "--out", "{tmp}/g", "--jobs", "0"], "jobs"),
    ([*GRID, "--out", ""], "out"),  # wrote into the current folder
    ([*GRID, "--out", "{tmp}/file"], "out"),  # FileExistsError
    ([*GRID, "--out", "{tmp}/file/sub"], "out"),  # NotADirectoryError
    ([*GRID, "--out", "{tmp}/g", "--set", "n_train=-1"], "n-train"),  # blamed batch
    ([*GRID, "--out", "{tmp}/g", "--set", "lr=inf"], "lr"),
    ([*GRID, "--out", "{tmp}/g", "--set", "momentum=nan"], "momentum"),
    ([*GRID, "--out", "{tmp}/dangling"], "out"),  # FileExistsError traceback
    ([*GRID, "--out", "{tmp}/loop"], "out"),
    ([*GRID, "--out", "{tmp}/loop/sub"], "out"),  # OSError: too many levels of links
    ([*GRID, "--out", "{tmp}/g", "--set", "divergence_ratio=-1"], "divergence_ratio"),  # ran
    ([*GRID, "--out", "{tmp}/g", "--set", "trace_probes=-1"], "trace_probes"),  # accepted
    ([*GRID, "--out", "{tmp}/g", "--set", "top_k=100000"], "top_k"),  # after training
    (
        [
            *GRID,
            "--out",
            "{tmp}/g",
            "--set",
            "top_k=100",
            "--set",
            "lanczos_steps=200",
            "--set",
            "width=1",
            "--set",
            "depth=1",
        ],
        "top_k",
    ),  # more than the 61 parameters
    (_with(TRAIN, "--lr", "1e300"), "lr"),  # RuntimeError: overflow in torch's SGD
    (["reproduce", "--quick", "--out", "{tmp}/file/sub"], "out"),  # computed a claim first
    (["reproduce", "--quick", "--out", "{tmp}/file"], "out"),
    (["reproduce", "--quick", "--seed", "1.5"], "seed"),
    (_with(SPECTRUM, "--probes", "0"), "probes"),
    (_with(SPECTRUM, "--kernel-width", "nan"), "kernel-width"),
    (_with(SPECTRUM, "--model", "nope"), "model"),
    (_with(SPECTRUM, "--out", "{tmp}/file"), "out"),
    (["monitor", "plot", "{tmp}/file"], "log"),  # not a monitor log
]


@pytest.mark.parametrize(("argv", "name"), CASES, ids=[f"{a[0]}-{n}" for a, n in CASES])
def test_bad_input_is_one_line_naming_the_parameter(
    argv: list[str], name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "file").write_text("not a folder")
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert main(argv) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert len(err.splitlines()) == 1, err
    assert "Traceback" not in err and "error" in err
    # argparse names an option with its aliases: "argument --batch/--batch-size: …"
    assert re.search(rf"argument --{name}(/--[\w-]+)*:", err) or f"{name}=" in err, err
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


def _others_folders(out: Path) -> tuple[Path, Path]:
    """An empty folder and a git repository that a user keeps in ``out``."""
    empty = out / "notes" / "empty"
    empty.mkdir(parents=True)
    repo = out / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    return empty, repo


def _intact(empty: Path, repo: Path) -> None:
    assert empty.is_dir() and (repo / ".git" / "refs" / "heads").is_dir()
    status = subprocess.run(["git", "-C", str(repo), "status"], capture_output=True, text=True)
    assert status.returncode == 0, status.stderr


@pytest.mark.parametrize("refused", [True, False], ids=["refused", "finished"])
def test_grid_removes_no_folder_it_did_not_create(
    refused: bool, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A refused grid (S > N, known once the data is loaded) removed every empty folder
    under --out, the git repository's .git/refs included; now it removes only its own."""
    empty, repo = _others_folders(tmp_path)
    argv = [*GRID, "--out", str(tmp_path), "--set", "epochs=1", "--set", "lr=0.1"]
    argv += ["--set", "measure=false", "--set", "width=8"]
    argv += ["--set", "batch=100000"] if refused else ["--set", "n_train=50", "--set", "batch=10"]
    assert main(argv) == (2 if refused else 0)
    err = capsys.readouterr().err.strip()
    _intact(empty, repo)
    if refused:
        assert len(err.splitlines()) == 1 and "batch=100000" in err
        assert sorted(p.name for p in tmp_path.iterdir()) == ["notes", "repo"]
    else:
        assert len(list((tmp_path / "runs").glob("*.json"))) == 3


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


def test_diverged_simulation_says_so_in_text(capsys: pytest.CaptureFixture[str]) -> None:
    """η = 2.5 on (x²−1)² (curvature 8 at the minima, η > 2/8): every particle diverges.
    The text printed `occupancy nan ± nan` and `mean loss nan`."""
    argv = [*_with(SGD, "--lr", "2.5"), "--steps", "50"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "nan" not in out.lower() and "diverged at step" in out
    assert main([*argv, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["diverged"] == 10 and f"step {summary['first_divergence_step']}:" in out


def test_tiny_temperature_reports_underflow_not_nan(capsys: pytest.CaptureFixture[str]) -> None:
    """η = 1e-300: the Gibbs quadrature underflows (it printed `gibbs nan`) and Kramers
    times overflow; Laplace is still exact (½ each for the symmetric double well)."""
    argv = _with(MINIMA, "--lr", "1e-300")
    assert main(argv) == 0
    out = capsys.readouterr()
    assert "nan" not in out.out.lower() and "underflow: T = " in out.out and out.err == ""
    assert main([*argv, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    laplace = [m["laplace_probability"] for m in result["minima"]]
    assert laplace == pytest.approx([0.5, 0.5], rel=1e-12)  # round-off of the two det H
    assert all("gibbs_probability" not in m for m in result["minima"])
    assert any(note.startswith("underflow") for note in result["notes"])


def test_incomplete_search_is_flagged_in_json_and_text(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Three Newton starts on four wells find three minima once each (the 12-D landscape
    with 4,096 minima reported 280 of them as if that were all)."""
    import numpy as np

    from threefactors.theory import critical

    three = np.array([[-1.1, -0.9], [1.1, -0.9], [0.9, 1.2]])
    monkeypatch.setattr(critical, "_starts", lambda box: three)
    argv = _with(MINIMA, "--loss", "(x^2-1)^2 + (y^2-1)^2")
    assert main([*argv, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["complete"], result["starts"], len(result["minima"])) == (False, 3, 3)
    assert main(argv) == 0
    assert "warning: incomplete search: 3 Newton starts" in capsys.readouterr().out
