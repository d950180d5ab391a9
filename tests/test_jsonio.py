"""JSON output and the one atomic-write helper (text, bytes, or a writer callback)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from threefactors.jsonio import dumps, to_jsonable, write_atomic


def test_numpy_values_become_plain_json_and_non_finite_becomes_null() -> None:
    doc = {"a": np.arange(3), "b": np.float64(0.5), "c": math.inf, "d": (np.int64(2), None)}
    assert to_jsonable(doc) == {"a": [0, 1, 2], "b": 0.5, "c": None, "d": [2, None]}
    assert json.loads(dumps(doc)) == to_jsonable(doc)


def test_text_bytes_and_writers_are_written_whole(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "record.json"
    write_atomic(path, "λ_max ≤ 2/η\n")
    assert path.read_text(encoding="utf-8") == "λ_max ≤ 2/η\n"
    write_atomic(path, b"\x00\x01")
    assert path.read_bytes() == b"\x00\x01"
    arrays = tmp_path / "data.npz"
    write_atomic(arrays, lambda f: np.savez(f, x=np.arange(4)))
    with np.load(arrays) as loaded:
        np.testing.assert_array_equal(loaded["x"], np.arange(4))


def test_a_failing_writer_keeps_the_old_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "record.json"
    write_atomic(path, "old")

    def broken(handle) -> None:
        handle.write(b"half a rec")
        raise RuntimeError("killed mid-write")

    with pytest.raises(RuntimeError):
        write_atomic(path, broken)
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["record.json"]


def test_written_files_get_the_mode_of_a_plain_open(tmp_path: Path) -> None:
    """Reports and records are readable by others as with ``open(path, "w")`` (not mkstemp's
    0600), for both atomic writers."""
    from threefactors import jsonio

    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    expected = plain.stat().st_mode & 0o777
    write_atomic(tmp_path / "a.json", "{}")
    jsonio.write_once(tmp_path / "b.json", b"{}")
    assert (tmp_path / "a.json").stat().st_mode & 0o777 == expected
    assert (tmp_path / "b.json").stat().st_mode & 0o777 == expected
