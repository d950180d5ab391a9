"""The train/grid CLI: contract keys, one JSON document, one-line errors with exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter

import pytest

from threefactors.cli import main
from threefactors.empirical.records import RECORD_KEYS

TINY = ["--n-train", "300", "--width", "16", "--measure-size", "100", "--epochs", "3"]


def test_startup_does_not_import_torch():
    code = "import sys, threefactors.empirical.cli; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_train_json_contract(capsys):
    argv = ["train", "--lr", "0.3", "--batch", "16", "--stop-at-accuracy", "0.3", *TINY, "--json"]
    assert main(argv) == 0
    record = json.loads(capsys.readouterr().out)
    assert set(RECORD_KEYS) <= set(record)
    assert record["config"]["lr"] == 0.3 and record["config"]["batch"] == 16
    at = next(h for h in record["history"] if h["train_accuracy"] >= 0.3)
    assert record["reached_threshold"] and record["final"]["epoch"] == at["epoch"]
    assert record["test_accuracy"] == at["test_accuracy"]
    assert record["lambda_max"] == at["lambda_max"] is not None


def test_train_text_output(capsys):
    assert main(["train", "--no-measure", *TINY, "--stop-at-accuracy", "1.0"]) == 0
    text = capsys.readouterr().out
    assert "threshold 1.0 not reached; last epoch 3" in text


def test_diverged_run_prints_null_not_nan(capsys):
    assert main(["train", "--lr", "500", "--no-measure", *TINY, "--json"]) == 0
    out = capsys.readouterr().out
    record = json.loads(out)
    assert record["diverged"] and record["test_accuracy"] is None
    assert "NaN" not in out


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["train", "--lr", "0"], "argument --lr: must be a finite number > 0"),
        (["train", "--batch", "100000"], "batch=100000"),
        (["train", "--dataset", "imagenet"], "dataset='imagenet'"),
        (["train", "--model", "gpt"], "model='gpt'"),
        (["train", "--random-labels", "1.5"], "argument --random-labels: must be in [0, 1)"),
        (["train", "--dataset", "cifar10"], "data-dir=None"),
        (["train", "--dataset", "mnist", "--data-dir", "/no/such"], "data-dir='/no/such'"),
        (["train", "--schedule", "weekly"], "schedule='weekly'"),
        (["train", "--optimizer", "adam"], "optimizer='adam'"),
        (["grid", "--experiment", "alchemy", "--out", "x"], "experiment='alchemy'"),
        (["grid", "--experiment", "ratio", "--out", "x", "--set", "colour=red"], "set='colour'"),
        (["grid", "--experiment", "ratio", "--out", "x", "--set", "n_train=50"], "batch=64"),
        (["grid", "--experiment", "ratio", "--out", "x", "--family", "rnn"], "family='rnn'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, argv, needle):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert needle in err and len(err.strip().splitlines()) == 1


def test_grid_json_prints_the_records_once_complete(tmp_path, capsys):
    argv = [
        "grid",
        "--experiment",
        "interpolation",
        "--quick",
        "--out",
        str(tmp_path),
        "--json",
        "--set",
        "n_train=300",
        "--set",
        "width=8",
        "--set",
        "epochs=2",
        "--set",
        "measure=false",
    ]
    assert main(argv) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert len(result["records"]) == 9
    assert all(set(RECORD_KEYS) <= set(r) for r in result["records"])
    assert len(list((tmp_path / "runs").glob("*.json"))) == 9
    assert "grid interpolation: 9/9" in captured.err
    assert main(argv) == 0  # re-run: everything skipped, same records
    assert json.loads(capsys.readouterr().out)["records"] == result["records"]
    # By default the runs of each batch size (S = 32: 2 η × 3 seeds; S = 256: 3 seeds) shared
    # an ensemble; --no-ensemble runs them one by one, to the same epochs and steps.
    per_batch = Counter(r["config"]["batch"] for r in result["records"])
    assert sorted(per_batch.values()) == [3, 6]
    assert [r["ensemble_size"] for r in result["records"]] == [
        per_batch[r["config"]["batch"]] for r in result["records"]
    ]
    argv[argv.index(str(tmp_path))] = str(tmp_path / "alone")
    assert main([*argv, "--no-ensemble"]) == 0
    alone = json.loads(capsys.readouterr().out)["records"]
    assert [r["ensemble_size"] for r in alone] == [1] * 9
    assert [r["steps"] for r in alone] == [r["steps"] for r in result["records"]]


def test_grid_passes_the_data_dir(tmp_path, capsys):
    argv = [
        "grid",
        "--experiment",
        "ratio",
        "--quick",
        "--out",
        str(tmp_path),
        "--set",
        "dataset=fashionmnist",
        "--data-dir",
        str(tmp_path / "absent"),
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "data-dir=" in err and "absent" in err and len(err.strip().splitlines()) == 1
