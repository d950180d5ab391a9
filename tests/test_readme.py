"""The README's Python examples run as written, through the public API (``import threefactors
as tf``), and print what their comments say."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


def _run(block: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        # the README is the project's own code, not user input
        exec(compile(block, str(README), "exec"), {"__name__": "readme"})
    return out.getvalue()


def test_the_readme_has_one_example_per_view_through_the_public_api() -> None:
    assert len(BLOCKS) == 4
    for block in BLOCKS:
        assert "import threefactors as tf" in block
        assert not re.search(r"from threefactors\.|import threefactors\.", block), block


def test_theory_example() -> None:
    lines = _run(BLOCKS[0]).splitlines()
    assert lines[0] == "0.15"  # T = ησ²/(2S)
    assert lines[1].startswith("[0.643") and "[0.602" in lines[1]  # Gibbs vs Laplace
    assert lines[-1] == "True"  # the Fokker–Planck residual simplifies to 0


def test_simulate_example() -> None:
    lines = _run(BLOCKS[1]).splitlines()
    assert lines[0].startswith("[0.8633 0.1367]")  # the README's seeded numbers
    assert lines[1].startswith("0.0623")


@pytest.mark.slow
def test_empirical_example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # the grid writes grids/ratio here
    assert _run(BLOCKS[2]).strip()


def test_monitor_example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # the monitor writes run.jsonl here
    step, lambda_max, eta_lambda_max = (float(v) for v in _run(BLOCKS[3]).split())
    assert step == 300 and lambda_max == pytest.approx(2.31, abs=0.005)  # the README's numbers
    assert eta_lambda_max == pytest.approx(0.5 * lambda_max)
    assert len((tmp_path / "run.jsonl").read_text().splitlines()) == 1 + 4  # header, 4 lines
