"""The package reads top-down: base → theory → simulate; base → empirical; CLI/claims on top.

Every module's imports are read with ``ast`` — module level and inside functions — plus the
modules named by string in ``importlib.import_module("…")`` and in a lazy ``_EXPORTS`` /
``_SUBMODULES`` table (PEP 562 ``__getattr__``), so an import moved into a function or behind
a string still counts. The rules (docs/theory.md is science; the layering is in the design):

- base (errors, jsonio, provenance, progress, output, lazy, options, resources, saved,
  executors, jobs_config, deadline)
  imports no other layer;
- theory imports neither simulate nor empirical, nor numba or torch;
- empirical imports neither simulate nor numba;
- no view imports the top layer (CLI, claims, report, reproduce, checks, plotting, bench,
  the package root);
- no import cycle among the package's modules.

The checker is tested on synthetic trees too: planting a forbidden arrow or a cycle fails.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: import name → folder (pyproject's package-dir)
PACKAGES = {
    "threefactors": "threefactors",
    "threefactors.theory": "theory",
    "threefactors.simulate": "simulate",
    "threefactors.empirical": "empirical",
}
BASE = {
    f"threefactors.{m}"
    for m in (
        "errors",
        "jsonio",
        "provenance",
        "progress",
        "output",
        "lazy",
        "options",
        "resources",
        "saved",
        "executors",
        "jobs_config",
        "deadline",
    )
}
VIEWS = ("theory", "simulate", "empirical")
#: (source layer, forbidden import prefix)
FORBIDDEN = [
    ("theory", "threefactors.simulate"),
    ("theory", "threefactors.empirical"),
    ("theory", "numba"),
    ("theory", "torch"),
    ("empirical", "threefactors.simulate"),
    ("empirical", "numba"),
    ("simulate", "threefactors.empirical"),  # (torch only as bench.py's torchsde baseline)
]
#: Known violations, each with the change that removes it (delete the entry then).
ALLOWED: set[tuple[str, str]] = set()


def modules(root: Path) -> dict[str, Path]:
    """Import name → file for every module of the package under ``root`` (subpackages such
    as ``threefactors.claims`` included)."""
    found = {}
    for package, folder in PACKAGES.items():
        for path in sorted((root / folder).rglob("*.py")):
            parts = path.relative_to(root / folder).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join((package, *parts))] = path
    return found


def layer(module: str) -> str:
    """ "base", a view's name, "external", or "top"."""
    if module in BASE:
        return "base"
    for view in VIEWS:
        if module == f"threefactors.{view}" or module.startswith(f"threefactors.{view}."):
            return view
    if module == "threefactors" or module.startswith("threefactors."):
        return "top"
    return "external"


def _strings(node: ast.AST) -> list[str]:
    """String constants of an expression (a literal, or the branches of ``a if c else b``)."""
    return [
        n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    ]


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Modules ``name`` imports anywhere in its file, resolved to the package's modules
    (``from pkg import sub`` → ``pkg.sub`` when that is a module); external ones by name."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = name if path.stem == "__init__" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                anchor = ".".join(parts[: len(parts) - node.level + 1])
                base = f"{anchor}.{base}" if base else anchor
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in known else base)
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "import_module":
            found.update(s for s in _strings(node) if s.startswith("threefactors"))
        elif isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id in ("_EXPORTS", "_SUBMODULES") for t in node.targets
        ):
            table = ast.literal_eval(node.value)
            if isinstance(table, dict):
                found.update(table.values())
            else:
                found.update(f"{name}.{sub}" for sub in table)
    found.discard(name)
    return found


def graph(root: Path) -> dict[str, set[str]]:
    """Module → the modules it imports (package-internal and external)."""
    found = modules(root)
    known = set(found)
    return {name: imports(name, path, known) for name, path in found.items()}


def arrow_violations(edges: dict[str, set[str]]) -> list[str]:
    """Imports that point up or across the layering."""
    bad = []
    for source, targets in sorted(edges.items()):
        src = layer(source)
        for target in sorted(targets):
            if (source, target) in ALLOWED or src in ("top", "external"):
                continue
            dst = layer(target)
            if src == "base" and dst not in ("base", "external"):
                bad.append(f"{source} → {target}: base imports {dst}")
            elif src in VIEWS and dst == "top":
                bad.append(f"{source} → {target}: a view imports the top layer")
            elif any(
                src == s and (target == p or target.startswith(p + ".")) for s, p in FORBIDDEN
            ):
                bad.append(f"{source} → {target}: {src} may not import it")
    return bad


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Import cycles among the package's modules (strongly connected components, Tarjan)."""
    internal = {
        m: {t for t in ts if t in edges and (m, t) not in ALLOWED} for m, ts in edges.items()
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(internal[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(internal):
        if v not in index:
            visit(v)
    return found


def test_the_package_reads_top_down() -> None:
    edges = graph(ROOT)
    assert len(edges) > 40  # the scan found the package
    assert arrow_violations(edges) == []
    assert cycles(edges) == []


def test_allowed_violations_still_exist() -> None:
    """An allow-list entry whose import is gone must be deleted (it would hide a regression)."""
    edges = graph(ROOT)
    for source, target in ALLOWED:
        assert target in edges.get(source, set()), f"delete the allow-list entry {source}"


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for folder in PACKAGES.values():
        (tmp_path / folder).mkdir(exist_ok=True)
        (tmp_path / folder / "__init__.py").write_text('"""package"""\n')
    for rel, text in files.items():
        (tmp_path / rel).write_text(text)
    return tmp_path


CLEAN = {
    "threefactors/errors.py": "import math\n",
    "threefactors/cli.py": "from threefactors.theory import a\nfrom threefactors import errors\n",
    "theory/a.py": "import sympy\nfrom threefactors.errors import InputError\n",
    "simulate/k.py": "import numba\nfrom threefactors.theory.a import f\n",
    "empirical/t.py": "import torch\nfrom threefactors.theory import a\n",
}


@pytest.mark.parametrize(
    ("planted", "message"),
    [
        ({"theory/b.py": "def f():\n    from threefactors.simulate.k import g\n"}, "theory may"),
        ({"theory/b.py": "import numba\n"}, "theory may"),
        ({"empirical/u.py": "from threefactors.simulate import k\n"}, "empirical may"),
        ({"empirical/u.py": "def f():\n    import numba.core\n"}, "empirical may"),
        ({"simulate/m.py": "def f():\n    from threefactors.cli import main\n"}, "top layer"),
        ({"empirical/u.py": "from threefactors import plotting\n"}, "top layer"),
        ({"theory/b.py": "import importlib\nimportlib.import_module('threefactors.checks')\n"},
         "top layer"),
        ({"threefactors/jsonio.py": "from threefactors.theory.a import f\n"}, "base imports"),
    ],
)  # fmt: skip
def test_a_planted_arrow_is_caught(tmp_path: Path, planted: dict[str, str], message: str) -> None:
    clean = graph(_tree(tmp_path, CLEAN))
    assert arrow_violations(clean) == [] and cycles(clean) == []
    (tmp_path / "threefactors" / "plotting.py").write_text("")
    (tmp_path / "threefactors" / "checks.py").write_text("")
    planted_edges = graph(_tree(tmp_path, planted))
    found = arrow_violations(planted_edges)
    assert len(found) == 1 and message in found[0], found


def test_a_planted_cycle_is_caught_even_inside_a_function(tmp_path: Path) -> None:
    files = {
        **CLEAN,
        "theory/b.py": "from threefactors.theory.a import f\n",
        "theory/a.py": "def f():\n    from threefactors.theory import b\n",
    }
    assert cycles(graph(_tree(tmp_path, files))) == [
        ["threefactors.theory.a", "threefactors.theory.b"]
    ]


def test_lazy_exports_count_as_imports(tmp_path: Path) -> None:
    files = {**CLEAN, "theory/__init__.py": '_EXPORTS = {"g": "threefactors.simulate.k"}\n'}
    found = arrow_violations(graph(_tree(tmp_path, files)))
    assert found == ["threefactors.theory → threefactors.simulate.k: theory may not import it"]
