"""``import threefactors as tf``: a curated, lazy public API. Names resolve on first use, so
importing the package (and ``threefactors --help``) loads neither numba nor torch."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import threefactors as tf


def _modules_after(code: str) -> set[str]:
    """Top-level modules loaded by ``code`` in a fresh interpreter."""
    listing = "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    probe = f"{code}\nimport json, sys\n{listing}"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout.splitlines()[-1]))


@pytest.mark.parametrize("package", [tf, tf.theory, tf.simulate])
def test_every_public_name_resolves(package) -> None:
    for name in package.__all__:
        assert getattr(package, name) is not None, name
    assert set(package.__all__) <= set(dir(package)) | {"__version__"}


def test_the_empirical_entry_points_resolve() -> None:
    for name in tf.empirical._EXPORTS:
        assert callable(getattr(tf.empirical, name)), name


def test_every_empirical_name_the_readme_uses_resolves() -> None:
    """The README named ``tf.empirical.curvature`` / ``.probes``; both raised AttributeError."""
    import re
    from pathlib import Path

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    named = set(re.findall(r"empirical\.([a-z_]+(?:\.[A-Za-z_]+)*)", readme))
    assert {"curvature.measure", "probes.interpolate"} <= named
    for dotted in named:
        value = tf.empirical
        for part in dotted.split("."):
            value = getattr(value, part)


def test_unknown_names_are_attribute_errors() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        tf.nope  # noqa: B018
    with pytest.raises(AttributeError):
        tf.simulate.nope  # noqa: B018


def test_the_root_names_are_the_theory_objects() -> None:
    assert tf.Landscape is tf.theory.Landscape and tf.SGDSetting is tf.theory.SGDSetting
    assert tf.double_well is tf.theory.double_well


def test_an_exported_function_wins_over_its_module_of_the_same_name() -> None:
    """Importing the module threefactors.simulate.sgd sets the package attribute ``sgd`` to
    the module; the public name must still be the function, on every access."""
    import importlib

    importlib.import_module("threefactors.simulate.sgd")
    importlib.import_module("threefactors.simulate.sweep")
    for _ in range(2):
        assert callable(tf.simulate.sgd) and tf.simulate.sgd.__name__ == "sgd"
        assert callable(tf.simulate.sweep)
    assert callable(tf.theory.derive)


def test_import_and_theory_objects_load_neither_numba_nor_torch() -> None:
    loaded = _modules_after(
        "import threefactors as tf\ntf.SGDSetting(0.1, 2).temperature\ntf.double_well"
    )
    assert "numba" not in loaded and "torch" not in loaded


def test_the_cli_parser_loads_neither_numba_nor_torch() -> None:
    """What ``threefactors --help`` does: build the parser of every view's commands."""
    loaded = _modules_after("from threefactors.cli import build_parser\nbuild_parser()")
    assert "numba" not in loaded and "torch" not in loaded


def test_the_simulate_view_loads_numba_but_not_torch() -> None:
    loaded = _modules_after("import threefactors as tf\ntf.simulate.langevin")
    assert "numba" in loaded and "torch" not in loaded


def test_the_empirical_view_loads_torch_on_first_use_but_never_numba() -> None:
    assert "torch" not in _modules_after("import threefactors as tf\ntf.empirical")
    loaded = _modules_after("import threefactors as tf\ntf.empirical.lanczos")
    assert "torch" in loaded and "numba" not in loaded


def test_the_empirical_names_are_the_functions_not_their_modules() -> None:
    """``lanczos`` and ``train`` share their module's name; the export must win."""
    import importlib

    from threefactors.empirical.lanczos import lanczos
    from threefactors.empirical.trace import hutchinson

    importlib.import_module("threefactors.empirical.lanczos")
    importlib.import_module("threefactors.empirical.train")
    assert tf.empirical.lanczos is lanczos and tf.empirical.hutchinson is hutchinson
    assert tf.empirical.train.__name__ == "train" and callable(tf.empirical.train)
    expected = {"train", "TrainConfig", "run_experiment", "train_ensemble", "HessianOperator",
                "lanczos", "hutchinson", "hutchpp", "gradient_noise", "spectral_density",
                "Monitor"}  # fmt: skip
    assert set(tf.empirical.__all__) == expected | {"curvature", "probes", "linear_operator"}
