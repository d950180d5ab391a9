"""Saved state is validated, never trusted: a bad record, checkpoint or claim file is moved
aside with one warning line and recomputed; never fatal, never reused."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pytest

from threefactors.claims.base import ClaimSpec, Part
from threefactors.empirical.grid import paths, run_one
from threefactors.empirical.records import config_hash, strip_volatile
from threefactors.empirical.train import TrainConfig
from threefactors.reproduce import _load
from threefactors.saved import Invalid, check, load_validated, quarantine

TINY = TrainConfig(
    n_train=200, n_test=200, width=16, lr=0.1, batch=20, epochs=3, stop_at_accuracy=1.0,
    measure=False, noise=False,
)  # fmt: skip


def _aside(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.corrupt-*"))


def _one_warning(err: str, path: Path) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "warning" in lines[0] and str(path) in lines[0], err


def test_missing_file_is_none_and_nothing_is_created(tmp_path: Path) -> None:
    assert load_validated(tmp_path / "absent.json", lambda x: x) is None
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("text", ["", "{", "[1, NaN]", "\x00\x01"])
def test_unreadable_json_is_moved_aside(
    text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "x.json"
    path.write_text(text)
    assert load_validated(path, lambda x: x) is None
    _one_warning(capsys.readouterr().err, path)
    assert not path.exists() and [p.read_text() for p in _aside(tmp_path)] == [text]


def test_parse_decides_validity_and_none_keeps_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "x.json"
    path.write_text('{"a": 1}')
    assert load_validated(path, lambda d: d["a"]) == 1
    assert load_validated(path, lambda d: None) is None  # valid, not applicable: kept
    assert path.exists() and capsys.readouterr().err == ""

    def strict(d: dict) -> int:
        check(d["a"] == 2, "a is not 2")
        return d["a"]

    assert load_validated(path, strict) is None
    assert "Invalid: a is not 2" in capsys.readouterr().err and not path.exists()


def test_quarantine_of_a_file_already_moved_is_quiet(tmp_path: Path) -> None:
    assert quarantine(tmp_path / "gone.json", "reason") is None
    with pytest.raises(Invalid):
        check(False, "x")


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> tuple[Path, dict]:
    """A grid folder with one finished run of TINY, and its record."""
    out = tmp_path_factory.mktemp("grid")
    return out, run_one(TINY, out)


def _rerun(out: Path, finished_record: dict) -> dict:
    record = run_one(TINY, out)
    assert strip_volatile(record) == strip_volatile(finished_record)  # recomputed, same numbers
    return record


def _copy(src: Path, dst: Path) -> Path:
    dst.mkdir(parents=True, exist_ok=True)
    for path in ("runs", "params"):
        for item in (src / path).glob("*"):
            (dst / path).mkdir(exist_ok=True)
            (dst / path / item.name).write_bytes(item.read_bytes())
    return dst


def test_valid_record_is_reused(finished, tmp_path: Path, capsys) -> None:
    out = _copy(finished[0], tmp_path / "g")
    assert run_one(TINY, out) == finished[1]  # same wall time: read back, not rerun
    assert capsys.readouterr().err == ""


def _record_cases(record: dict) -> dict[str, object]:
    other = dict(record, config={**record["config"], "lr": 0.2})
    old = json.loads(json.dumps(record))
    old["provenance"]["versions"]["threefactors"] = "0.0.0-other"
    return {
        "empty object": {},  # was KeyError on every rerun
        "a list": [],
        "missing field": {k: v for k, v in record.items() if k != "history"},
        "another config's record": other,  # was trusted: a run appeared twice
        "hash field not its name": dict(record, config_hash="0" * 16),
        "other version": old,
        "metric not a number": dict(record, test_accuracy="0.9"),
        # these passed validation and then crashed every rerun (the grid's table)
        "epoch not a number": dict(record, epoch="x"),
        "epoch not whole": dict(record, epoch=1.5),
        "history entry": dict(record, history=[*record.get("history", []), {"epoch": "x"}]),
        "history not a list": dict(record, history={"epoch": 1}),
        "final not an object": dict(record, final=[1]),
        "threshold entry": dict(record, thresholds={"0.95": {"test_accuracy": "high"}}),
        "eigenvalues": dict(record, top_eigenvalues=["1"]),
        "steps negative": dict(record, steps=-1),
        "reached_threshold": dict(record, reached_threshold="no"),
    }


@pytest.mark.parametrize(
    "case", list(_record_cases({"config": {}, "provenance": {"versions": {}}}))
)
def test_bad_record_is_moved_aside_and_recomputed(
    case: str, finished, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _copy(finished[0], tmp_path / "g")
    where = paths(out, config_hash(TINY))["record"]
    where.write_text(json.dumps(_record_cases(finished[1])[case]))
    _rerun(out, finished[1])
    _one_warning(capsys.readouterr().err, where)
    assert len(_aside(where.parent)) == 1 and json.loads(where.read_text())["config_hash"]


def test_truncated_checkpoint_is_moved_aside_and_the_run_recomputed(
    finished, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A checkpoint cut short made every rerun fail (PytorchStreamReader) and was never
    removed; now it is moved aside and the run starts from scratch, to the same record."""
    out = tmp_path / "g"
    ckpt = paths(out, config_hash(TINY))["checkpoint"]
    ckpt.parent.mkdir(parents=True)
    ckpt.write_bytes(b"PK\x03\x04 truncated zip")
    _rerun(out, finished[1])
    _one_warning(capsys.readouterr().err, ckpt)
    assert len(_aside(ckpt.parent)) == 1 and not ckpt.exists()


def test_checkpoint_of_another_shape_is_moved_aside(
    finished, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import torch

    out = tmp_path / "g"
    ckpt = paths(out, config_hash(TINY))["checkpoint"]
    ckpt.parent.mkdir(parents=True)
    state = {"epoch": 1, "history": [{"epoch": 0}], "at": {}, "seconds": 0.0, "step": 10}
    torch.save(
        {"model": {"w": torch.zeros(3)}, "optimizer": {}, "generator": torch.zeros(1),
         "state": state}, ckpt)  # fmt: skip
    _rerun(out, finished[1])
    _one_warning(capsys.readouterr().err, ckpt)


SETTINGS = {"scale": "quick", "seed": 0, "version": "x"}
SPEC = ClaimSpec(
    id="c", statement="s", source="p", command="cmd", kind="verification",
    parts=(Part("s", "q", "theory", "t", "r", "exact", None),), secondary=(),
    scales={"default": {}}, views=(), registered="",
)  # fmt: skip
EVIDENCE = {"view": "theory", "quantity": "q", "predicted": 1.0, "observed": 1.0,
            "verdict": "agrees"}  # fmt: skip
CLAIM = {**asdict(SPEC.claim([], 1.0)), "evidence": [EVIDENCE]}


def _with(**fields: object) -> dict:
    return {"settings": SETTINGS, "claim": {**CLAIM, **fields}}


def _evidence(**fields: object) -> dict:
    return _with(evidence=[{**EVIDENCE, **fields}])


@pytest.mark.parametrize(
    "payload",
    [
        [],  # was a crash in reproduce
        {"settings": SETTINGS},
        {"settings": SETTINGS, "claim": {k: v for k, v in CLAIM.items() if k != "source"}},
        _with(evidence=[]),
        _with(evidence=[{"view": "theory"}]),
        _evidence(verdict="ok"),
        _with(extra=1),
        # each of these passed validation, then crashed the report writer on every rerun
        _evidence(p=[1, 2]),
        _with(statement=["a"]),
        _with(seconds="soon"),
        _evidence(detail=5),
        _evidence(effect="abc"),
        _evidence(p=1.5),
        _evidence(interval=[0, "x"]),
        _evidence(n=True),
        _evidence(figure="../../etc/passwd.png"),
        _with(id="other"),  # an id that is not the file's claim
        _with(statement="s\n| injected | row |"),  # a newline breaks the REPORT.md table
        _evidence(detail="<script>alert(1)</script>"),
        _with(kind="reproduction"),  # differs from the claim's design
    ],
)
def test_bad_claim_file_is_moved_aside(
    payload: object, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "c.json"
    path.write_text(json.dumps(payload))
    assert _load(path, SETTINGS, SPEC) is None
    _one_warning(capsys.readouterr().err, path)
    assert not path.exists()


def test_good_claim_file_is_reused_and_one_of_other_settings_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"settings": SETTINGS, "claim": CLAIM}))
    claim = _load(path, SETTINGS, SPEC)
    assert claim is not None and claim.verdict == "verified" and claim.evidence[0].quantity == "q"
    assert _load(path, {**SETTINGS, "seed": 1}, SPEC) is None and path.exists()
    # saved under an earlier design: kept for inspection, not reused
    path.write_text(json.dumps(_with(design_hash="0" * 12)))
    assert _load(path, SETTINGS, SPEC) is None and path.exists()
    assert capsys.readouterr().err == ""


def test_record_whose_parameters_are_gone_or_torn_is_recomputed(
    finished, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _copy(finished[0], tmp_path / "g")
    params = paths(out, config_hash(TINY))["params"]
    params.write_bytes(params.read_bytes()[:50])
    _rerun(out, finished[1])
    _one_warning(capsys.readouterr().err, params)
    assert len(_aside(params.parent)) == 1 and params.exists()


def test_swapped_parameter_files_are_caught(
    finished, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two runs of one architecture: their params files swapped were accepted (same size)."""
    import dataclasses

    out = _copy(finished[0], tmp_path / "g")
    other = dataclasses.replace(TINY, seed=1)
    other_record = run_one(other, out)
    mine, theirs = (paths(out, config_hash(c))["params"] for c in (TINY, other))
    swapped = theirs.read_bytes()
    theirs.write_bytes(mine.read_bytes())
    mine.write_bytes(swapped)
    capsys.readouterr()
    _rerun(out, finished[1])
    assert strip_volatile(run_one(other, out)) == strip_volatile(other_record)
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2 and all("not the record's parameters" in line for line in lines)


@pytest.mark.parametrize("where", ["params-folder", "runs-file"])
def test_a_grid_folder_of_the_wrong_shape_is_refused_before_training(
    where: str, tmp_path: Path, monkeypatch
) -> None:
    """``params/<hash>.pt`` a folder: retrained on every call, never saved (exit 0);
    ``runs`` a file: every run trained, then FAILED. Now one line, nothing trained."""
    from threefactors.empirical import grid
    from threefactors.errors import InputError

    monkeypatch.setattr(grid, "train", lambda *a, **k: pytest.fail("trained"))
    if where == "params-folder":
        paths(tmp_path, config_hash(TINY))["params"].mkdir(parents=True)
    else:
        (tmp_path / "runs").write_text("not a folder")
    with pytest.raises(InputError, match=r"out='.*(runs|\.pt)': is not a"):
        grid.run_grid([TINY], tmp_path, ensemble=False)


def test_text_fields_refuse_tags_not_comparisons() -> None:
    """A saved text field may hold a comparison ("gain < margin"), never a tag."""
    from threefactors.reproduce import _text
    from threefactors.saved import Invalid

    _text("upper bound of the mean gain < margin; p<0.05", "evidence test")
    for tagged in ("<b>bold</b>", "a <img src=x>", "</script>", "<!-- c -->"):
        with pytest.raises(Invalid):
            _text(tagged, "evidence test")
