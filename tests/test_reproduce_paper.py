"""The paper-scale path on real files: ``reproduce --scale paper --only sharpest`` reads
CIFAR-10 from a folder in torchvision's layout (files in the real formats:
:mod:`torchvision_layout`), trains the sharpest grid shrunk by ``--set`` and writes a report
and one record per run; a missing file is one line naming it, exit 2, before any work.

Only the command's outcome is asserted (a report, the claim's verdict, the records), not the
sharpest claim's internals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from torchvision_layout import write_vision_data

from threefactors.claims.base import Context
from threefactors.cli import main
from threefactors.empirical.experiments import configs_for, parse_override
from threefactors.reproduce import _settings

# One epoch of the small two-convolution network on 512 images, λ_max by 5 Lanczos steps on
# 32 of them: the grid's shape (η × S, seeds) is the paper scale's, its budget a smoke
# test's (8 CPU seconds; VGG-11, the paper scale's model, trains on these files in
# test_empirical_vision_files). S = 512 is in the grid, so the training set holds 512 images.
SMOKE = ("epochs=1", "model=cnn", "n_test=64", "measure_size=32", "lanczos_steps=5",
         "early_measure=0")  # fmt: skip
LABELS = {"reproduced", "not reproduced", "inconclusive", "not run"}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("paper-data")
    write_vision_data(root, n_train=512, n_test=64)
    return root


def test_reproduce_paper_sharpest_runs_end_to_end_on_the_files(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    argv = ["reproduce", "--scale", "paper", "--only", "sharpest", "--data-dir", str(data_dir),
            "--out", str(out), "--jobs", "1"]  # fmt: skip
    for text in SMOKE:
        argv += ["--set", text]
    assert main(argv) == 0
    capsys.readouterr()
    report = (out / "REPORT.md").read_text()
    assert "Scale: **paper" in report and "## sharpest" in report
    assert "**SMOKE TEST**" in report and "`--set epochs=1`" in report
    (claim,) = json.loads((out / "claims.json").read_text())["claims"]
    assert claim["id"] == "sharpest" and claim["verdict"] in LABELS
    overrides = dict(parse_override(text) for text in SMOKE)
    expected = {c.lr: c for c in configs_for("sharpest", "paper", overrides, seed=2000)}
    records = [json.loads(p.read_text()) for p in (out / "runs" / "sharpest" / "runs").iterdir()]
    assert len(records) == len(set(configs_for("sharpest", "paper", overrides, seed=2000)))
    for record in records:
        config = record["config"]
        assert (config["dataset"], config["model"], config["epochs"]) == ("cifar10", "cnn", 1)
        assert record["n_train"] == 512 and config["lr"] in expected
        measured = [h["lambda_max"] for h in record["history"] if h.get("lambda_max") is not None]
        assert record["diverged"] or (measured and all(v == v for v in measured))  # not NaN
    saved = json.loads((out / "claims" / "sharpest.json").read_text())
    assert saved["settings"]["overrides"]["model"] == "cnn"


def test_claims_saved_with_overrides_are_not_reused_without_them(tmp_path: Path) -> None:
    plain = _settings(Context(out=tmp_path, scale="paper", seed=2000))
    shrunk = _settings(Context(out=tmp_path, scale="paper", seed=2000, overrides={"epochs": 1}))
    assert "overrides" not in plain and shrunk["overrides"] == {"epochs": 1}
    assert plain != shrunk


@pytest.mark.parametrize(
    ("missing", "argv", "named"),
    [
        ("cifar-10-batches-py/data_batch_3", [], "cifar-10-batches-py/data_batch_3"),
        ("cifar-10-batches-py/test_batch", [], "cifar-10-batches-py/test_batch"),
        (None, ["--set", "epochs=one"], "set='epochs=one'"),
        (None, ["--set", "wings=2"], "set='wings'"),
    ],
)
def test_paper_scale_refuses_a_missing_file_or_a_bad_set_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], missing, argv, named
) -> None:
    root = tmp_path / "data"
    write_vision_data(root, n_train=10, n_test=5)
    if missing:
        (root / missing).unlink()
    code = main(["reproduce", "--scale", "paper", "--data-dir", str(root),
                 "--out", str(tmp_path / "unused"), *argv])  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and named in err
    assert not (tmp_path / "unused").exists()  # refused before any work
