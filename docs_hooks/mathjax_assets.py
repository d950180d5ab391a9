"""MkDocs hook: serve MathJax from the built site itself (assets/mathjax/), so the formulas
render offline. The script comes from the ``django-static-mathjax`` wheel (MathJax 3.2.2,
no dependencies; the ``docs`` extra installs it) — the SVG build, one self-contained file."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

SCRIPT = "tex-svg-full.js"
TARGET = f"assets/mathjax/{SCRIPT}"


def mathjax_script() -> Path:
    """The installed MathJax SVG component, or a one-line error saying how to install it."""
    spec = importlib.util.find_spec("mathjax")
    roots = list(spec.submodule_search_locations or []) if spec else []
    for root in roots:
        path = Path(root) / "static" / "mathjax" / "es5" / SCRIPT
        if path.is_file():
            return path
    raise PluginError(f"MathJax ({SCRIPT}) not found: pip install -e '.[docs]'")


def on_files(files: Files, config) -> Files:
    files.append(File.generated(config, TARGET, abs_src_path=str(mathjax_script())))
    return files
