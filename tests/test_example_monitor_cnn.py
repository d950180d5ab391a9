"""examples/monitor_cnn.py runs at its tiny scale: two well-formed monitor logs and the figure
(the science needs the default scale; this keeps the example from rotting)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from threefactors.empirical.monitor import read_log

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "monitor_cnn.py"


@pytest.mark.usefixtures("torch_one_thread")
def test_the_cnn_example_writes_two_logs_and_a_figure(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("monitor_cnn", EXAMPLE)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    assert example.main(["--scale", "tiny", "--out", str(tmp_path)]) == 0
    tiny = example.SCALES["tiny"]
    expected = list(range(0, tiny["steps"], tiny["every"]))
    for lr in example.LEARNING_RATES:
        header, lines = read_log(tmp_path / f"lr{lr:g}.jsonl")
        assert header["monitor"]["eta"] == lr and header["monitor"]["batch_size"] == 32
        assert [line["step"] for line in lines] == expected
        assert all(line["lambda_max"] > 0 and line["temperature"] > 0 for line in lines)
        assert ["density" in line for line in lines] == [i % 2 == 0 for i in range(len(lines))]
    assert (tmp_path / "monitor_cnn.png").stat().st_size > 20_000
