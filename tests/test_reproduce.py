"""reproduce: finished claims are saved at once and reused; the report lists every verdict;
bad input is one line and exit 2 before any work."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from threefactors.claims.base import ClaimSpec, Context, Evidence, Part, compare
from threefactors.cli import main
from threefactors.report import render_markdown, write_report
from threefactors.reproduce import run_claims, saved_alongside


def _spec(name: str, statement: str, view) -> ClaimSpec:
    part = Part("the mean is 0", "mean", "simulate", "|obs − pred| ≤ 4 se", "end", "two-sided")
    return ClaimSpec(
        id=name,
        statement=statement,
        source="test",
        command="cmd",
        kind="verification",
        parts=(part,),
        secondary=(),
        scales={"default": {}, "quick": {}},
        views=(view,),
        registered="",
    )


def _specs(calls: list[str]) -> list[ClaimSpec]:
    def good(ctx: Context, s) -> list[Evidence]:
        calls.append("good")
        rng = np.random.default_rng(ctx.seed)
        x = rng.normal(size=4000)
        secondary = compare("simulate", "other", 1.0, 0.0, 0.01)  # never overrides
        return [compare("simulate", "mean", 0.0, x.mean(), x.std() / np.sqrt(x.size)), secondary]

    def planted(ctx: Context, s) -> list[Evidence]:
        calls.append("planted")
        return [compare("simulate", "mean", 1.0, 0.0, 0.01)]  # off by 100 se

    def broken(ctx: Context, s) -> list[Evidence]:
        calls.append("broken")
        raise RuntimeError("a bug in a check")

    return [
        _spec("good", "a true statement", good),
        _spec("broken", "a check that raises", broken),
        _spec("planted", "a planted fault", planted),
    ]


def test_claims_are_saved_reused_and_reported(tmp_path: Path) -> None:
    calls: list[str] = []
    ctx = Context(out=tmp_path, scale="quick", seed=3, progress=False)
    first = run_claims(_specs(calls), ctx)
    assert [c.verdict for c in first] == ["verified", "not run", "failed"]
    assert "RuntimeError: a bug in a check" in first[1].evidence[0].detail
    # the broken claim is not saved, so a rerun retries it and reuses the others
    assert sorted(p.name for p in (tmp_path / "claims").iterdir()) == ["good.json", "planted.json"]

    again = run_claims(_specs(calls), ctx)
    assert calls == ["good", "broken", "planted", "broken"]
    assert [c.evidence for c in again] == [c.evidence for c in first]

    other_seed = Context(out=tmp_path, scale="quick", seed=4, progress=False)
    run_claims(_specs(calls), other_seed)  # different settings: recomputed
    assert calls.count("good") == 2

    # rerunning one claim keeps the others' saved results in the report, in registry order
    only_planted = run_claims(_specs(calls)[2:], other_seed, force=True)
    merged = saved_alongside(only_planted, _specs(calls), other_seed)
    assert [c.id for c in merged] == ["good", "planted"]

    report = write_report(first, tmp_path, {"config": {}}, "quick", _specs(calls))
    text = report.read_text()
    assert "| a planted fault (planted) | the mean is 0 → **failed** | **failed** |" in text
    assert "## What the machinery verifies" in text and "Design `" in text
    payload = json.loads((tmp_path / "claims.json").read_text())
    assert payload["scale"] == "quick"
    assert [c["verdict"] for c in payload["claims"]] == ["verified", "not run", "failed"]
    claim = payload["claims"][2]
    assert claim["kind"] == "verification" and claim["design_hash"] == _specs([])[2].design_hash()
    assert claim["amendments"] == [] and claim["parts"][0]["verdict"] == "failed"
    primary = claim["parts"][0]["primary"]
    assert set(primary) >= {
        "view", "test", "quantity", "effect", "interval", "level", "p", "margin",
        "detectable_effect", "n", "unit", "verdict",
    }  # fmt: skip
    # the effect's 95 % confidence interval, not the decision band (± 4 se)
    assert primary["effect"] == -1.0 and primary["level"] == 0.95
    assert primary["interval"] == pytest.approx([-1 - 1.96 * 0.01, -1 + 1.96 * 0.01], rel=1e-3)
    assert claim["primary"] == primary  # the claim-level primary is the first part's test
    assert payload["claims"][1]["parts"][0]["primary"] is None


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--only", "no-such-claim"], "only='no-such-claim'"),
        (["--scale", "huge"], "scale='huge'"),
        (["--quick", "--scale", "paper"], "scale='paper'"),
        (["--scale", "paper"], "data-dir=None"),
        (["--scale", "paper", "--data-dir", "/nonexistent"], "data-dir='/nonexistent'"),
    ],
)
def test_bad_input_is_one_line_exit_2(
    argv: list[str], named: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["reproduce", *argv, "--out", str(tmp_path / "unused")]) == 2
    err = capsys.readouterr().err.strip()
    assert named in err
    assert len(err.splitlines()) == 1
    assert not (tmp_path / "unused").exists()  # nothing started


def test_registry_lists_claims_without_heavy_imports() -> None:
    code = (
        "import sys; from threefactors import cli, claims; cli.build_parser(); "
        "assert len(claims.ids()) >= 19 and 'eta-over-s-only' in claims.ids(); "
        "heavy = {'scipy', 'torch', 'numba'} & set(sys.modules); assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_every_claim_has_a_registered_design_with_parts_and_scales() -> None:
    from threefactors import claims
    from threefactors.claims.base import KINDS

    for spec in claims.all_specs():
        assert spec.kind in KINDS and spec.parts and spec.views
        for part in spec.parts:
            assert part.statement and part.quantity and part.test and part.readout
            assert part.view in ("theory", "simulate", "empirical") and part.unit
        assert {"default"} <= set(spec.scales)
        if spec.kind == "reproduction":  # networks: the seed is the unit, pilots recorded
            assert spec.pilot_seeds and spec.replicates is not None


def test_every_design_matches_its_registration_or_last_amendment() -> None:
    """A design changed without an amendment (date, change, old result, reason and the new
    hash) fails here: the hash of each claim's registered design is recomputed."""
    from threefactors import claims

    for spec in claims.all_specs():
        assert spec.design_hash() == spec.expected_hash, (
            f"{spec.id}: design {spec.design_hash()} is not the registered "
            f"{spec.expected_hash!r}: record the change as an Amendment"
        )
        for amendment in spec.amendments:
            assert amendment.date and amendment.change and amendment.old_result
            assert amendment.reason


def test_changing_a_design_without_an_amendment_is_caught() -> None:
    from dataclasses import replace

    from threefactors import claims

    spec = claims.spec("nsgd")
    looser = replace(spec, parts=(replace(spec.parts[1], margin="0.05"),))
    assert looser.design_hash() != looser.expected_hash


def test_confirming_runs_never_reuse_pilot_seeds(capsys: pytest.CaptureFixture[str]) -> None:
    from threefactors import claims
    from threefactors.claims import CONFIRMING_SEEDS
    from threefactors.reproduce import check_confirming

    specs = claims.all_specs()
    for seed in CONFIRMING_SEEDS:
        check_confirming(specs, "default", seed)  # disjoint from every pilot
    assert claims.spec("step-too-long").pilot_overlap("default", 0) == list(range(12))
    assert main(["reproduce", "--seed", "10", "--out", "/tmp/unused-tf"]) == 2
    err = capsys.readouterr().err
    assert "seed=10" in err and "pilot" in err and len(err.strip().splitlines()) == 1
    check_confirming(specs, "quick", 0)  # quick runs are not confirming: allowed


def test_compare_two_reports_per_claim_and_part(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    calls: list[str] = []
    reports = []
    for seed in (3, 4):
        ctx = Context(out=tmp_path / str(seed), scale="quick", seed=seed, progress=False)
        done = run_claims(_specs(calls)[::2], ctx)
        write_report(done, ctx.out, {"seed": seed}, "quick", _specs(calls))
        reports.append(str(ctx.out))
    assert main(["reproduce", "--compare", *reports]) == 0
    out = capsys.readouterr().out
    assert "2 of 2 claims have the same verdict on every part (seeds 3 and 4)" in out
    assert "| planted (failed / failed) | the mean is 0 | failed" in out
    assert main(["reproduce", "--compare", reports[0], str(tmp_path / "absent")]) == 2


def test_compare_shows_each_model_family_of_a_part() -> None:
    """A part on two families compares per family too: a cnn-only change of label is seen
    and counted, where the combined label alone would hide which family moved."""
    from threefactors.compare import compare_reports, render

    def report(seed: int, cnn: str) -> dict:
        test = {"effect": 0.5, "interval": [0.2, 0.8]}
        families = {
            "mlp": {"verdict": "reproduced", "primary": test},
            "cnn": {"verdict": cnn, "primary": {"effect": -0.1, "interval": [-0.3, 0.1]}},
        }
        combined = "reproduced" if cnn == "reproduced" else cnn
        part = {"statement": "λ falls", "verdict": combined, "primary": test}
        claim = {"id": "c", "verdict": combined, "parts": [{**part, "families": families}]}
        return {"claims": [claim], "provenance": {"seed": seed}}

    same = compare_reports(report(1, "reproduced"), report(2, "reproduced"))
    assert [p["statement"] for p in same["claims"][0]["parts"]] == [
        "λ falls",
        "λ falls [mlp]",
        "λ falls [cnn]",
    ]
    assert same["same"] == 1
    moved = compare_reports(report(1, "reproduced"), report(2, "inconclusive"))
    assert [p["same"] for p in moved["claims"][0]["parts"]] == [False, True, False]
    assert moved["same"] == 0
    assert "| λ falls [cnn] | reproduced -0.1 [-0.3, +0.1] | inconclusive -0.1" in render(
        moved, ("a", "b")
    )


def test_quick_runs_write_their_own_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``reproduce --quick`` (the README's first command) never replaces figures/."""
    from threefactors import reproduce

    seen: list[Path] = []
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(
        reproduce, "run_claims", lambda specs, ctx, force: seen.append(ctx.out) or []
    )
    main(["reproduce", "--quick", "--only", "escape"])
    assert seen == [Path("figures/quick")]


def test_a_pilot_run_may_use_pilot_seeds_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--pilot`` lifts the confirming-seed rule, writes figures/pilot and marks the report."""
    from threefactors import reproduce

    seen: list[Path] = []
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(
        reproduce, "run_claims", lambda specs, ctx, force: seen.append(ctx.out) or []
    )
    assert main(["reproduce", "--pilot", "--seed", "1000", "--only", "step-too-long"]) == 0
    assert seen == [Path("figures/pilot")]
    report = (tmp_path / "figures/pilot/REPORT.md").read_text()
    assert "**PILOT run**" in report
    assert main(["reproduce", "--seed", "1000", "--only", "step-too-long"]) == 2
    assert "**PILOT run**" not in render_markdown([], {"config": {"pilot": False}})


def test_readme_table_is_rebuilt_between_its_markers(tmp_path: Path) -> None:
    from threefactors.report import README_BEGIN, README_END, update_readme

    calls: list[str] = []
    ctx = Context(out=tmp_path, scale="quick", seed=0, progress=False)
    claims = run_claims(_specs(calls)[2:], ctx)
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{README_BEGIN}\nold table\n{README_END}\noutro\n")
    update_readme(readme, claims, {"planted": "cmd"})
    text = readme.read_text()
    assert "old table" not in text and text.startswith("intro\n") and text.endswith("outro\n")
    assert "| a planted fault (planted) |" in text and "`cmd`" in text
    assert "What the machinery verifies" in text
    readme.write_text("no markers")
    with pytest.raises(Exception, match="readme"):
        update_readme(readme, claims, {})


def test_a_literal_bar_in_a_quantity_does_not_split_a_table_cell() -> None:
    import re

    from threefactors.claims.base import Claim
    from threefactors.report import claims_table

    item = compare("theory", "|λ/r − 1| vs T", 0.0, 0.0, 0.1)
    part = {"statement": item.quantity, "quantity": item.quantity}
    table = claims_table([Claim("c", "a | b", "test", [item], parts=[part])])
    head, _, row = table.splitlines()
    assert len(re.findall(r"(?<!\\)\|", row)) == len(re.findall(r"\|", head))
    assert "\\|λ/r − 1\\|" in row
    assert "<" not in claims_table([Claim("c", "a <b>", "t", [item], parts=[part])])


@pytest.mark.parametrize(("flag", "expected"), [("--ensemble", True), ("--no-ensemble", False)])
def test_ensemble_flag_reaches_the_network_grids(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, flag: str, expected: bool
) -> None:
    """``reproduce --no-ensemble`` trains every network grid run by run (the check that the
    verdicts do not depend on ensembles beyond round-off): the flag reaches run_experiment."""
    from threefactors.empirical import experiments

    seen: list[bool] = []

    def fake(name: str, **kwargs) -> dict:
        seen.append(kwargs["ensemble"])
        return {"records": [], "rows": [], "complete": False, "failed": ["stopped by the test"]}

    monkeypatch.setattr(experiments, "run_experiment", fake)
    main(["reproduce", "--quick", "--only", "nsgd", "--out", str(tmp_path), flag])
    assert seen == [expected]
