"""nsgd, schedules and memorization end to end: the quick grid trained (made small by
overrides), judged, its figure drawn. The science of each test is asserted on planted
records (tests/test_claims_network.py); here every registered part must come out with a
verdict computed from real runs, and the figure and its data must be written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from threefactors.claims import spec
from threefactors.claims.base import Context

SMALL = {"n_train": 300, "n_test": 200}


def _run(claim_id: str, out: Path, overrides: dict) -> tuple:
    claim_spec = spec(claim_id)
    ctx = Context(out=out, scale="quick", seed=0, progress=False)
    evidence = claim_spec.views[-1](ctx, {"overrides": {**SMALL, **overrides}})
    saved = json.loads((out / f"{claim_id}.json").read_text())
    return claim_spec.claim(evidence, 0.0, "quick"), saved


def _every_part_ran(claim) -> None:
    for part, found in zip(claim.parts, claim.part_labels(), strict=True):
        assert found != "not run", part["quantity"]


@pytest.mark.slow
def test_nsgd_end_to_end(tmp_path: Path) -> None:
    claim, data = _run(
        "nsgd", tmp_path, {"epochs": 12, "measure_size": 100, "lanczos_steps": 8, "batch": 50}
    )
    _every_part_ran(claim)
    assert sorted({r["gamma"] for r in data["rows"]} | {d["gamma"] for d in data["diverged"]}) == [
        0.01,
        0.1,
        1.0,
        5.0,
    ]
    assert all(r["checkpoint_epoch"] is not None for r in data["rows"])
    assert (tmp_path / "nsgd.png").stat().st_size > 0


@pytest.mark.slow
def test_schedules_end_to_end(tmp_path: Path) -> None:
    claim, _ = _run("schedules", tmp_path, {"cycle_epochs": 2, "epochs": 13})
    _every_part_ran(claim)
    checks = [e for e in claim.evidence if e.quantity.startswith("test accuracy has plateaued")]
    assert len(checks) == 2 and all(e.verdict in ("agrees", "disagrees") for e in checks)
    assert (tmp_path / "schedules.png").stat().st_size > 0


@pytest.mark.slow
def test_memorization_end_to_end(tmp_path: Path) -> None:
    claim, data = _run("memorization", tmp_path, {"epochs": 60})
    _every_part_ran(claim)
    assert {r["random_labels"] for r in data["rows"]} == {0.25, 0.5}
    assert (tmp_path / "memorization.png").stat().st_size > 0
