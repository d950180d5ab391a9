"""The kernel cache is used only in a folder that is this user's alone (issue 22, S2):
numba unpickles its index files, so a folder others can write is never read."""

from __future__ import annotations

import errno
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numba
import numpy as np
import pytest

from threefactors.simulate import codegen, kernel_cache
from threefactors.simulate.kernel_cache import folder_problem, guard_numba_cache_dir, kernel_dir
from threefactors.simulate.noise_models import NOISE_MODELS
from threefactors.simulate.schemes import SCHEMES
from threefactors.theory.landscape import Landscape

AS_ROOT = os.geteuid() == 0


def _folder(root: Path, mode: int, owner: int | None = None) -> Path:
    path = root / f"folder-{mode:o}-{owner}"
    path.mkdir()
    path.chmod(mode)
    if owner is not None:
        os.chown(path, owner, -1)
    return path


@pytest.mark.parametrize(
    ("mode", "owner", "problem"),
    [
        (0o700, None, None),
        (0o755, None, None),
        (0o777, None, "writable by group or others (mode 777)"),
        (0o770, None, "writable by group or others (mode 770)"),
        pytest.param(
            0o700,
            4242,
            "owned by uid 4242",
            marks=pytest.mark.skipif(not AS_ROOT, reason="chown to another uid needs root"),
        ),
    ],
)
def test_folder_problem(tmp_path: Path, mode: int, owner: int | None, problem: str | None) -> None:
    tmp_path.chmod(0o700)
    found = folder_problem(_folder(tmp_path, mode, owner))
    assert found == problem if problem is None else problem in found


def test_folder_under_a_folder_others_can_change_is_refused(tmp_path: Path) -> None:
    shared = _folder(tmp_path, 0o777)
    inner = shared / "kernels"
    inner.mkdir(mode=0o700)
    assert "is writable by group or others" in folder_problem(inner)
    (shared).chmod(0o1777)  # sticky (as /tmp): others cannot rename or replace our folder
    assert folder_problem(inner) is None


def test_default_folder_is_private_under_xdg_cache(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("THREEFACTORS_KERNEL_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    tmp_path.chmod(0o700)
    folder = kernel_dir()
    assert folder == tmp_path / "xdg" / "threefactors" / "kernels"
    assert folder.stat().st_mode & 0o777 == 0o700


@pytest.mark.parametrize("owner", [None, 4242])
def test_unsafe_kernel_folder_is_bypassed_with_one_warning(
    tmp_path: Path, monkeypatch, capsys, owner: int | None
) -> None:
    if owner is not None and not AS_ROOT:
        pytest.skip("chown to another uid needs root")
    folder = _folder(tmp_path, 0o777 if owner is None else 0o700, owner)
    monkeypatch.setenv("THREEFACTORS_KERNEL_DIR", str(folder))
    assert kernel_dir() is None
    assert kernel_dir() is None
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and "compiling without a disk cache" in lines[0]


def test_unsafe_numba_cache_dir_is_dropped(tmp_path: Path, monkeypatch) -> None:
    folder = _folder(tmp_path, 0o777)
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(folder))
    monkeypatch.setattr(numba.core.config, "CACHE_DIR", str(folder))
    guard_numba_cache_dir()
    assert "NUMBA_CACHE_DIR" not in os.environ
    assert numba.core.config.CACHE_DIR == ""


def _grad_at_two(module, landscape: Landscape) -> float:
    g = np.empty(1)
    module.grad(np.array([[2.0]]), 0, g, codegen.gradient_data(landscape))
    return float(g[0])


@pytest.mark.parametrize("fault", ["write", "space"])
def test_full_disk_compiles_without_cache(tmp_path: Path, monkeypatch, capsys, fault) -> None:
    """ENOSPC when writing the kernel, or too little free space: one warning line, and the
    kernel still computes ∇L (here 4x(x²−1) + c at x = 2)."""
    tmp_path.chmod(0o700)
    monkeypatch.setenv("THREEFACTORS_KERNEL_DIR", str(tmp_path / "kernels"))
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    if fault == "write":

        def full(path, text):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        monkeypatch.setattr(codegen, "write_atomic", full)
    else:
        monkeypatch.setattr(
            kernel_cache.shutil, "disk_usage", lambda p: type("U", (), {"free": 1000})()
        )
    c = {"write": 0.3125, "space": 0.4375}[fault]  # a landscape not compiled before
    well = Landscape.from_string(f"(x**2-1)**2 + {c}*x")
    module = codegen.compile_kernel(well, NOISE_MODELS["isotropic"], SCHEMES["em"])
    assert module.CACHE is False
    assert _grad_at_two(module, well) == 4 * 2 * 3 + c
    err = capsys.readouterr().err.splitlines()
    reason = "No space left on device" if fault == "write" else "less than 64 MiB free"
    assert len(err) == 1 and reason in err[0]


class _Plant:
    """A pickle that runs ``touch MARK`` when loaded (what an attacker would plant)."""

    def __init__(self, mark: Path) -> None:
        self.mark = mark

    def __reduce__(self):
        return (os.system, (f"touch {self.mark}",))


_SIMULATE = """
import numpy as np
from threefactors.simulate.codegen import compile_kernel, gradient_data
from threefactors.simulate.noise_models import NOISE_MODELS
from threefactors.simulate.schemes import SCHEMES
from threefactors.theory.landscape import Landscape
well = Landscape.from_string("(x**2-1)**2 + 0.1875*x")
module = compile_kernel(well, NOISE_MODELS["isotropic"], SCHEMES["em"])
g = np.empty(1)
module.grad(np.array([[2.0]]), 0, g, gradient_data(well))
print(g[0], module.CACHE)
"""


def _simulate(folder: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env["THREEFACTORS_KERNEL_DIR"] = str(folder)
    return subprocess.run(
        [sys.executable, "-c", _SIMULATE], env=env, capture_output=True, text=True, timeout=300
    )


def test_planted_index_in_a_world_writable_folder_is_never_loaded(tmp_path: Path) -> None:
    tmp_path.chmod(0o700)
    folder = tmp_path / "kernels"
    first = _simulate(folder)  # a real cache: the index files numba will look for
    assert first.returncode == 0, first.stderr
    assert first.stdout.split() == [str(4 * 2 * 3 + 0.1875), "True"]
    index = sorted((folder / "__pycache__").glob("*.nbi"))
    assert index
    mark = tmp_path / "MARK"
    for path in index:
        path.write_bytes(pickle.dumps(_Plant(mark)))
    folder.chmod(0o777)
    planted = _simulate(folder)
    assert planted.returncode == 0, planted.stderr
    assert planted.stdout.split()[1] == "False"
    assert "writable by group or others" in planted.stderr
    assert not mark.exists()
    # control: the same folder made private again is trusted, and the planted index runs
    folder.chmod(0o700)
    _simulate(folder)
    assert mark.exists()


def test_a_home_that_cannot_be_written_falls_back_to_a_private_temporary_folder(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    """XDG_CACHE_HOME under a file (cannot be created): the per-user temporary folder is
    used instead, held to the same test, with no warning."""
    tmp_path.chmod(0o700)
    (tmp_path / "file").write_text("")
    monkeypatch.delenv("THREEFACTORS_KERNEL_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "file" / "cache"))
    monkeypatch.setattr(kernel_cache.tempfile, "gettempdir", lambda: str(tmp_path))
    assert kernel_dir() == tmp_path / f"threefactors-kernels-{os.geteuid()}"
    assert capsys.readouterr().err == ""
    kernel_dir().chmod(0o777)  # the fallback is held to the same test
    assert kernel_dir() is None
    assert "writable by group or others" in capsys.readouterr().err
