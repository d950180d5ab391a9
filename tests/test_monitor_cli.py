"""``monitor plot`` and ``spectrum``: figures and JSON written, one-line errors (exit 2)."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F

from threefactors.cli import main
from threefactors.empirical import models
from threefactors.empirical.functional import flat_params
from threefactors.empirical.monitor import Monitor

pytestmark = pytest.mark.usefixtures("torch_one_thread")
TINY_SPECTRUM = ["--dataset", "digits", "--width", "8", "--measure-size", "100",
                 "--probes", "2", "--steps", "6", "--grid", "50"]  # fmt: skip


@pytest.fixture
def log(tmp_path, make_classifier):
    model, x, y = make_classifier(n=40)
    path = tmp_path / "run.jsonl"
    small = {"k": 2, "lanczos_steps": 8, "trace_probes": 3, "density_every": 2, "density_grid": 40}
    monitor = Monitor(
        model, F.cross_entropy, (x, y), eta=0.5, batch_size=8, every=1, log=path, **small
    )
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    for step in range(4):
        optimizer.zero_grad()
        F.cross_entropy(model(x[:8]), y[:8]).backward()
        optimizer.step()
        monitor.step(step)
    return path


def test_monitor_plot_writes_the_figure(log, capsys):
    assert main(["monitor", "plot", str(log), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    (run,) = result["runs"]
    assert run["measurements"] == 4 and run["eta"] == 0.5 and run["last"]["step"] == 3
    assert log.with_suffix(".png").stat().st_size > 10_000
    out = log.parent / "fig.png"
    assert main(["monitor", "plot", str(log), str(log), "--out", str(out)]) == 0
    assert capsys.readouterr().out.count("4 measurements") == 2 and out.is_file()


def test_monitor_plot_refuses_a_missing_or_foreign_file(tmp_path, capsys):
    assert main(["monitor", "plot", str(tmp_path / "none.jsonl")]) == 2
    foreign = tmp_path / "foreign.jsonl"
    foreign.write_text('{"a": 1}\n')
    assert main(["monitor", "plot", str(foreign)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(
        line.startswith("threefactors monitor: error: log=") for line in err
    )


def test_spectrum_writes_figure_and_json_and_reads_a_checkpoint(tmp_path, capsys):
    assert main(["spectrum", *TINY_SPECTRUM, "--out", str(tmp_path / "a"), "--json"]) == 0
    plain = json.loads(capsys.readouterr().out)
    saved = json.loads((tmp_path / "a" / "spectrum.json").read_text())
    assert saved["nodes"] == plain["nodes"] and saved["provenance"]["seed"] == 0
    assert (tmp_path / "a" / "spectrum.png").stat().st_size > 10_000
    assert plain["n_matvecs"] == 12 and plain["mode"] == "eval"
    model = models.build("mlp", (1, 8, 8), 10, width=8, seed=0)
    for scale, name in ((1.0, "same"), (2.0, "double")):
        torch.save(scale * flat_params(model), tmp_path / f"{name}.pt")
        argv = ["spectrum", *TINY_SPECTRUM, "--checkpoint", str(tmp_path / f"{name}.pt"),
                "--out", str(tmp_path / name), "--json"]  # fmt: skip
        assert main(argv) == 0
        loaded = json.loads(capsys.readouterr().out)
        assert (loaded["nodes"] == plain["nodes"]) is (scale == 1.0)


def test_spectrum_refuses_a_bad_checkpoint_in_one_line(tmp_path, capsys):
    (tmp_path / "text.pt").write_text("not a tensor")
    torch.save(torch.zeros(7), tmp_path / "short.pt")
    for name in ("text.pt", "short.pt", "missing.pt"):
        argv = ["spectrum", *TINY_SPECTRUM, "--checkpoint", str(tmp_path / name),
                "--out", str(tmp_path / "o")]  # fmt: skip
        assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all("error: checkpoint=" in line for line in err)
