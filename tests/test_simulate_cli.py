"""``threefactors simulate langevin|sgd``: the JSON contract and one-line bad-input errors."""

from __future__ import annotations

import json

import pytest

from threefactors.cli import main

KEYS = {"occupancy", "occupancy_stderr", "mean_loss", "mean", "covariance", "diverged",
        "ns_per_particle_step"}  # fmt: skip


def test_langevin_json(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["simulate", "langevin", "--loss", "(x^2-1)^2+0.3*x", "--lr", "0.6",
                 "--particles", "2000", "--steps", "300", "--dt", "0.01", "--seed", "1",
                 "--json"])  # fmt: skip
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and KEYS <= set(out)
    assert len(out["occupancy"]) == 2 and abs(sum(out["occupancy"]) - 1) < 1e-12
    assert out["provenance"]["seed"] == 1


def test_sgd_escape_json(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["simulate", "sgd", "--loss", "(x^2-1)^2+0.3*x", "--examples", "100",
                 "--lr", "0.05", "--batch", "2", "--sigma", "2", "--no-replacement",
                 "--particles", "500", "--steps", "400", "--escape-from", "1",
                 "--json"])  # fmt: skip
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and KEYS <= set(out)
    escape = out["escape_times"]
    assert escape["count"] + escape["censored"] == 500


@pytest.mark.parametrize(
    "argv",
    [
        ["simulate", "langevin", "--loss", "x^2", "--lr", "0", "--steps", "5"],
        ["simulate", "langevin", "--loss", "x^2", "--lr", "0.1", "--steps", "5", "--dt", "0"],
        [
            "simulate",
            "langevin",
            "--loss",
            "x^2",
            "--lr",
            "0.1",
            "--steps",
            "5",
            "--particles",
            "0",
        ],
        [
            "simulate",
            "sgd",
            "--loss",
            "x^2",
            "--lr",
            "0.1",
            "--batch",
            "9",
            "--examples",
            "5",
            "--steps",
            "5",
        ],
        ["simulate", "langevin", "--loss", "x^2", "--lr", "0.1", "--steps", "5", "--start", "a"],
    ],
)
def test_bad_input_is_one_line_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "error" in err
