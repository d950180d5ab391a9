"""reproduce: finished claims are saved at once and reused; the report lists every verdict;
bad input is one line and exit 2 before any work."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from threefactors.claims.base import ClaimSpec, Context, Evidence, compare
from threefactors.cli import main
from threefactors.report import write_report
from threefactors.reproduce import run_claims, saved_alongside


def _spec(name: str, statement: str, view) -> ClaimSpec:
    return ClaimSpec(
        id=name,
        statement=statement,
        source="test",
        command="cmd",
        primary_view="simulate",
        primary="mean",
        primary_test="|obs − pred| ≤ 4 se",
        secondary=(),
        scales={"default": {}, "quick": {}},
        views=(view,),
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
    assert [c.verdict for c in first] == ["agrees", "not run", "disagrees"]
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
    assert "| a planted fault (planted) | — | **disagrees** | — | simulate: mean |" in text
    payload = json.loads((tmp_path / "claims.json").read_text())
    assert payload["scale"] == "quick"
    assert [c["verdict"] for c in payload["claims"]] == ["agrees", "not run", "disagrees"]
    primary = payload["claims"][2]["primary"]
    assert set(primary) >= {
        "view",
        "test",
        "effect",
        "interval",
        "p",
        "margin",
        "detectable_effect",
        "verdict",
    }
    assert primary["effect"] == -1.0 and primary["interval"] == [-1.04, -0.96]
    assert payload["claims"][1]["primary"] is None


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
        "assert len(claims.ids()) == 14 and 'step-too-long' in claims.ids(); "
        "heavy = {'scipy', 'torch', 'numba'} & set(sys.modules); assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_every_claim_declares_its_primary_test_and_scales() -> None:
    from threefactors import claims

    for spec in claims.all_specs():
        assert (
            spec.primary
            and spec.primary_test
            and spec.primary_view in ("theory", "simulate", "empirical")
        )
        assert {"quick", "default"} <= set(spec.scales)
        assert spec.views


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
    readme.write_text("no markers")
    with pytest.raises(Exception, match="readme"):
        update_readme(readme, claims, {})


def test_a_literal_bar_in_a_quantity_does_not_split_a_table_cell() -> None:
    import re

    from threefactors.claims.base import Claim
    from threefactors.report import claims_table

    item = compare("theory", "|λ/r − 1| vs T", 0.0, 0.0, 0.1)
    table = claims_table([Claim("c", "a | b", "test", [item], primary_quantity=item.quantity)])
    head, _, row = table.splitlines()
    assert len(re.findall(r"(?<!\\)\|", row)) == len(re.findall(r"\|", head))
    assert "\\|λ/r − 1\\|" in row


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
