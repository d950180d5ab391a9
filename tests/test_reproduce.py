"""reproduce: finished claims are saved at once and reused; the report lists every verdict."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from threefactors.claims import Evidence, compare
from threefactors.cli import main
from threefactors.report import write_report
from threefactors.reproduce import ClaimSpec, Context, run_claims, saved_alongside


def _specs(calls: list[str]) -> list[ClaimSpec]:
    def good(ctx: Context) -> list[Evidence]:
        calls.append("good")
        rng = np.random.default_rng(ctx.seed)
        x = rng.normal(size=4000)
        return [compare("simulate", "mean", 0.0, x.mean(), x.std() / np.sqrt(x.size))]

    def planted(ctx: Context) -> list[Evidence]:
        calls.append("planted")
        return [compare("simulate", "mean", 1.0, 0.0, 0.01)]  # off by 100 se

    def broken(ctx: Context) -> list[Evidence]:
        calls.append("broken")
        raise RuntimeError("a bug in a check")

    return [
        ClaimSpec("good", "a true statement", "test", "cmd", good),
        ClaimSpec("broken", "a check that raises", "test", "cmd", broken),
        ClaimSpec("planted", "a planted fault", "test", "cmd", planted),
    ]


def test_claims_are_saved_reused_and_reported(tmp_path: Path) -> None:
    calls: list[str] = []
    ctx = Context(out=tmp_path, quick=True, seed=3, progress=False)
    first = run_claims(_specs(calls), ctx)
    assert [c.verdict for c in first] == ["agrees", "not run", "disagrees"]
    assert "RuntimeError: a bug in a check" in first[1].evidence[0].detail
    # the broken claim is not saved, so a rerun retries it and reuses the others
    assert sorted(p.name for p in (tmp_path / "claims").iterdir()) == ["good.json", "planted.json"]

    again = run_claims(_specs(calls), ctx)
    assert calls == ["good", "broken", "planted", "broken"]
    assert [c.evidence for c in again] == [c.evidence for c in first]

    other_seed = Context(out=tmp_path, quick=True, seed=4, progress=False)
    run_claims(_specs(calls), other_seed)  # different settings: recomputed
    assert calls.count("good") == 2

    # rerunning one claim keeps the others' saved results in the report, in registry order
    only_planted = run_claims(_specs(calls)[2:], other_seed, force=True)
    merged = saved_alongside(only_planted, _specs(calls), other_seed)
    assert [c.id for c in merged] == ["good", "planted"]

    report = write_report(first, tmp_path, {"config": {}})
    text = report.read_text()
    assert "| a planted fault (planted) | — | **disagrees** | — | **disagrees** |" in text
    payload = json.loads((tmp_path / "claims.json").read_text())
    assert [c["verdict"] for c in payload["claims"]] == ["agrees", "not run", "disagrees"]


def test_unknown_claim_is_one_line_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["reproduce", "--only", "no-such-claim", "--out", "unused"]) == 2
    err = capsys.readouterr().err.strip()
    assert "only='no-such-claim'" in err
    assert len(err.splitlines()) == 1
