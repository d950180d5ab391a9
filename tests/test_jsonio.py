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


def _temporary(path: Path, writer: str, age: float = 0.0) -> Path:
    """A temporary file for ``path`` as ``writer`` (``<pid>@<host>``) names it, ``age`` s old."""
    import os
    import time

    random_part = f"{len(list(path.parent.iterdir())):08d}"  # as mkstemp's: unique, no dot
    tmp = path.parent / f".{path.name}.{writer}.{random_part}.tmp"
    tmp.write_bytes(b"half a checkpoi")
    os.utime(tmp, (time.time() - age, time.time() - age))
    return tmp


def test_only_the_temporaries_of_dead_writers_are_removed(tmp_path: Path) -> None:
    """Two grids on one folder: one's clean-up deleted the other's checkpoint mid-write.
    A temporary file goes only when its writer is dead (on this host: its process exited;
    on another host: untouched for STALE_SECONDS)."""
    import os
    import subprocess
    import sys

    from threefactors import jsonio

    host = jsonio.temporary_prefix(tmp_path).split("@")[1].rstrip(".")
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    path = tmp_path / "checkpoints" / "ab12.pt"
    path.parent.mkdir()
    try:
        keep = [
            _temporary(path, f"{live.pid}@{host}"),  # another grid, writing now
            _temporary(path, f"{os.getpid()}@{host}"),  # this process
            _temporary(path, f"{dead.pid}@another-node", age=60),  # another host, recent
            _temporary(tmp_path / "checkpoints" / "cd34.pt", f"{dead.pid}@{host}"),  # other file
        ]
        gone = [
            _temporary(path, f"{dead.pid}@{host}"),  # killed mid-write
            _temporary(path, f"{dead.pid}@another-node", age=2 * jsonio.STALE_SECONDS),
            _temporary(path, "k2j4", age=2 * jsonio.STALE_SECONDS),  # a name without a writer
        ]
        assert sorted(jsonio.remove_stale_temporaries(path)) == sorted(gone)
    finally:
        live.kill()
        live.wait()
    assert all(p.exists() for p in keep) and not any(p.exists() for p in gone)


def test_temporary_files_name_their_writer(tmp_path: Path) -> None:
    """The writer's pid and host are in the temporary name: a failing writer shows it."""
    import os

    seen = []

    def spy(handle) -> None:
        seen.extend(p.name for p in tmp_path.iterdir())

    write_atomic(tmp_path / "r.json", spy)
    assert seen[0].startswith(f".r.json.{os.getpid()}@") and seen[0].endswith(".tmp")
