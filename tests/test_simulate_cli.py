"""``threefactors simulate langevin|sgd``: the JSON contract and one-line bad-input errors."""

from __future__ import annotations

import json
import re

import pytest

from threefactors.cli import main

KEYS = {"occupancy", "occupancy_stderr", "mean_loss", "mean", "covariance", "diverged",
        "ns_per_particle_step"}  # fmt: skip


def test_langevin_json(capsys: pytest.CaptureFixture[str]) -> None:
    # the loss and scheme of test_simulate_ensemble's Gibbs test: one compiled kernel for both
    code = main(["simulate", "langevin", "--loss", "(x^2-1)^2+0.3*x", "--lr", "0.6",
                 "--particles", "2000", "--steps", "300", "--dt", "0.01", "--seed", "1",
                 "--scheme", "lm", "--json"])  # fmt: skip
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and KEYS <= set(out)
    assert len(out["occupancy"]) == 2 and abs(sum(out["occupancy"]) - 1) < 1e-12
    assert out["provenance"]["seed"] == 1


def test_sgd_json(capsys: pytest.CaptureFixture[str]) -> None:
    # the bowl of test_simulate_sgd: the same compiled kernel
    code = main(["simulate", "sgd", "--loss", "(x^2 + 4*y^2)/2", "--examples", "100",
                 "--lr", "0.05", "--batch", "2", "--sigma", "2", "--no-replacement",
                 "--particles", "500", "--steps", "400", "--json"])  # fmt: skip
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and KEYS <= set(out)
    assert out["occupancy"] == [1.0] and out["diverged"] == 0


def test_escape_json(capsys: pytest.CaptureFixture[str]) -> None:
    # symmetric_double_well(1, 0.5) of test_simulate_ensemble's escape test: the same kernel
    code = main(["simulate", "langevin", "--loss", "0.25*x^4 - 1.0*x^2 + 1.0", "--lr", "0.4",
                 "--sigma", "3", "--dt", "0.005", "--particles", "500", "--steps", "2000",
                 "--escape-from", "0",
                 "--json"])  # fmt: skip
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and KEYS <= set(out)
    escape = out["escape_times"]
    assert escape["count"] + escape["censored"] == 500 and escape["count"] > 0


@pytest.mark.parametrize(
    ("argv", "name"),
    [
        (["langevin", "--loss", "x^2", "--lr", "0", "--steps", "5"], "lr"),
        (["langevin", "--loss", "x^2", "--lr", "0.1", "--steps", "5", "--dt", "0"], "dt"),
        (["langevin", "--loss", "x^2", "--lr", "0.1", "--steps", "5", "--particles", "0"],
         "particles"),
        (["sgd", "--loss", "x^2", "--lr", "0.1", "--batch", "9", "--examples", "5", "--steps",
          "5"], "batch"),
        (["langevin", "--loss", "x^2", "--lr", "0.1", "--steps", "5", "--start", "a"], "start"),
        # dt > time: one step of 100 for --time 10 (issue 22, W5); --time 1e-9 ran 0.1
        (["langevin", "--loss", "x^2", "--lr", "0.1", "--time", "10", "--dt", "100"], "dt"),
        (["langevin", "--loss", "x^2", "--lr", "0.1", "--time", "1e-9"], "dt"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_exit_2(
    argv: list[str], name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """One line on stderr that names the parameter and its value, exit code 2."""
    assert main(["simulate", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "error" in err
    assert f"{name}=" in err or re.search(rf"argument --{name}(/--[\w-]+)*:", err)


def test_sweep_rows_are_the_single_runs_with_seeds_seed_plus_i(capsys) -> None:
    """Row i of ``simulate sweep`` is ``simulate langevin`` at that setting with seed SEED + i."""
    common = ["--loss", "(x^2-1)^2+0.3*x", "--particles", "300", "--steps", "100", "--json"]
    assert main(["simulate", "sweep", *common, "--lr", "0.05,0.1", "--batch", "2",
                 "--seed", "5"]) == 0  # fmt: skip
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert [(r["lr"], r["batch"], r["seed"]) for r in rows] == [(0.05, 2, 5), (0.1, 2, 6)]
    assert main(["simulate", "langevin", *common, "--lr", "0.1", "--batch", "2",
                 "--seed", "6"]) == 0  # fmt: skip
    single = json.loads(capsys.readouterr().out)
    assert [rows[1]["occupancy_0"], rows[1]["occupancy_1"]] == single["occupancy"]
    assert rows[1]["mean_loss"] == single["mean_loss"]


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--lr", "0.1,abc", "--batch", "1"], "lr='0.1,abc'"),
        (["--lr", "0.1", "--batch", "1", "--executor", "dask", "--scheduler", "8786"],
         "scheduler='8786'"),
        (["--lr", "0.1", "--batch", "1", "--workers", "0"], "argument --workers:"),
        (["--lr", "0.1,0.2", "--batch", "1", "--seed", str(2**64 - 1)],
         "seed=18446744073709551615: need 0 ≤ seed + settings − 1 < 2**64"),
    ],
)  # fmt: skip
def test_sweep_bad_input_is_one_line_exit_2(capsys, extra, fragment) -> None:
    argv = ["simulate", "sweep", "--loss", "x^2", "--steps", "10", *extra]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and fragment in err[0]


def test_time_rounded_to_whole_steps_is_said(capsys) -> None:
    argv = ["simulate", "langevin", "--loss", "x^2", "--lr", "0.1", "--particles", "64"]
    assert main([*argv, "--time", "1.05", "--json"]) == 0
    err = capsys.readouterr().err
    assert "note: time=1.05 is not a multiple of dt=0.1; simulated 11 steps, t = 1.1" in err
    assert main([*argv, "--time", "1.0", "--json"]) == 0
    assert "note" not in capsys.readouterr().err


def test_sweep_over_the_memory_budget_is_refused_first(capsys, monkeypatch) -> None:
    """3000 × 3000 settings (issue 22): refused before the grid is built, not GBs later."""
    monkeypatch.setenv("THREEFACTORS_MEMORY_BUDGET", str(4 * 2**30))
    values = ",".join(str(k + 1) for k in range(3000))
    argv = ["simulate", "sweep", "--loss", "x^2", "--steps", "10", "--lr", values,
            "--batch", values]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "lr='3000 × 3000 × 1 settings': needs 68.7 GiB" in err[0]


@pytest.mark.parametrize(("option", "shown"), [("--particles", "particles="), ("--lr", "--lr")])
def test_a_117_digit_value_is_cut_short(capsys, option: str, shown: str) -> None:
    huge = "1" + "0" * 116
    argv = ["simulate", "langevin", "--loss", "x^2", "--lr", "0.1", "--steps", "2"]
    assert main([*argv, option, huge + ("x" if option == "--lr" else "")]) == 2
    err = capsys.readouterr().err.strip()
    assert shown in err and ("..." in err or "digits" in err) and huge not in err
    assert len(err) < 250
