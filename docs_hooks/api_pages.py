"""MkDocs hook: the API reference pages, generated from the public API's own export lists.

``threefactors``, ``threefactors.theory``, ``.simulate`` and ``.empirical`` list their public
names in ``_EXPORTS`` (name → defining module; see :mod:`threefactors.lazy`). Each name is
rendered by mkdocstrings from the module that defines it, so a new export appears here
without editing the docs. ``tf``'s own names are defined in ``tf.theory`` and documented
there once (one anchor per object); the ``tf`` page links to them. ``MORE`` lists the
functions the README documents by module path (not re-exported).

The views live in top-level folders mapped to ``threefactors.theory`` etc. by setuptools'
package-dir, which griffe (mkdocstrings' reader) does not follow; :func:`import_tree` gives
it a temporary copy of the sources laid out as the import system sees them.
"""

from __future__ import annotations

import atexit
import importlib
import shutil
import tempfile
from pathlib import Path

from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files

VIEWS = {
    "theory": "Symbolic theory (sympy): SDE, Fokker–Planck, stationary laws, minima, escape.",
    "simulate": "Particle ensembles (numba) of the SGD SDE and of true minibatch SGD.",
    "empirical": "Real networks (torch): training, grids, Hessian spectra, gradient noise.",
}
# Documented by module path in the README (Python users call them there).
MORE = {
    "theory": [
        "threefactors.theory.relaxation.relax",
        "threefactors.theory.relaxation.Relaxation",
        "threefactors.theory.fokker_planck.fokker_planck",
        "threefactors.theory.fokker_planck.FokkerPlanck",
        "threefactors.theory.sde.Derivation",
        "threefactors.theory.sde.modified_landscape",
        "threefactors.theory.critical.CriticalPoints",
        "threefactors.theory.stationary.QuadraticStationary",
    ],
    "simulate": ["threefactors.simulate.weak_error.weak_error"],
    "empirical": [],
}


SUMMARY_ONLY = "    options:\n      show_root_heading: false\n      members: false\n"


def import_tree() -> Path:
    """A temporary folder holding a copy of ``threefactors/`` as the import system sees it,
    each mapped view copied in as a subpackage (griffe does not follow symbolic links to
    folders); removed at exit."""
    import threefactors

    root = Path(tempfile.mkdtemp(prefix="threefactors-api-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    package = root / "threefactors"
    skip = shutil.ignore_patterns("__pycache__")
    shutil.copytree(Path(threefactors.__file__).parent, package, ignore=skip)
    for view in VIEWS:
        source = Path(importlib.import_module(f"threefactors.{view}").__file__).parent
        shutil.copytree(source, package / view, ignore=skip)
    return root


@event_priority(100)  # before mkdocstrings reads its handlers' configuration
def on_config(config):
    python = config.plugins["mkdocstrings"].config.handlers.setdefault("python", {})
    python["paths"] = [str(import_tree())]
    return config


def exports(package: str) -> dict[str, str]:
    """``name → defining module`` of a lazy package (its ``_EXPORTS``)."""
    return dict(importlib.import_module(package).__dict__["_EXPORTS"])


FULL_PATH = "    options:\n      show_root_full_path: true\n"


def view_page(view: str) -> str:
    package = f"threefactors.{view}"
    lines = [f"# tf.{view}\n", f"::: {package}\n{SUMMARY_ONLY}"]
    for name, module in exports(package).items():
        lines.append(f"::: {module}.{name}\n")
    existing = [p for p in MORE[view] if _defined(p)]
    if existing:
        lines.append("## More, by module path\n")
        lines.append("Documented in the README and imported from their modules.\n")
        for path in existing:
            lines.append(f"::: {path}\n{FULL_PATH}")
    return "\n".join(lines)


def _defined(path: str) -> bool:
    module, name = path.rsplit(".", 1)
    return hasattr(importlib.import_module(module), name)


def tf_page() -> str:
    theory = exports("threefactors.theory")
    rows = ["| name | documented at |", "|---|---|"]
    for name, module in exports("threefactors").items():
        home = "theory" if name in theory else "tf"
        rows.append(f"| `tf.{name}` | [`tf.{home}.{name}`][{module}.{name}] |")
    for view in VIEWS:
        rows.append(f"| `tf.{view}` | [tf.{view}]({view}.md) |")
    return "\n".join(
        [
            "# tf (`import threefactors as tf`)\n",
            f"::: threefactors\n{SUMMARY_ONLY}",
            "## Names\n",
            "Names load on first use, so `import threefactors` stays fast and torch is imported "
            "only when `tf.empirical` is used.\n",
            *rows,
            "",
        ]
    )


def statistics_page() -> str:
    return (
        "# threefactors.statistics\n\n"
        "The tests the claims' verdicts rest on; [which test judges which claim, and why]"
        "(../statistics.md).\n\n"
        "::: threefactors.statistics\n    options:\n      show_root_heading: false\n"
    )


def index_page() -> str:
    links = "\n".join(f"- [tf.{v}]({v}.md) — {text}" for v, text in VIEWS.items())
    return (
        "# API reference\n\n"
        "Generated from the docstrings of the public API (`import threefactors as tf`). Each "
        "entry gives the signature with its types and the formula it implements, with its "
        "source (a paper, or a section of [the theory page](../theory.md)).\n\n"
        f"- [tf](tf.md) — the top-level names\n{links}\n"
        "- [threefactors.statistics](statistics.md) — the tests behind the claims' verdicts\n"
    )


def on_files(files: Files, config) -> Files:
    pages = {
        "api/index.md": index_page(),
        "api/tf.md": tf_page(),
        "api/statistics.md": statistics_page(),
    }
    pages.update({f"api/{view}.md": view_page(view) for view in VIEWS})
    for uri, text in pages.items():
        files.append(File.generated(config, uri, content=text))
    return files
