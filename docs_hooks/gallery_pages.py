"""MkDocs hook: the gallery — every ``examples/gallery/*.py`` is run when the site is built
and becomes a page with its text, code, printed output and figures.

A script is a plain Python file (run it yourself with ``python examples/gallery/X.py``): its
module docstring is the page's text (Markdown; the first line is the title); it reads its
size from ``THREEFACTORS_GALLERY_SIZE`` (``small``, the default and what CI runs, or
``full`` for a release build). Printed lines of the form ``$$ … $$`` (LaTeX ready to paste)
are also typeset below the output. A script that fails, or runs past ``TIMEOUT`` seconds,
fails the build with its error.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[1]
GALLERY = ROOT / "examples" / "gallery"
RUNNER = Path(__file__).with_name("run_example.py")
SIZE_VARIABLE = "THREEFACTORS_GALLERY_SIZE"
SIZES = ("small", "full")
TIMEOUT = 900
DISPLAY_MATH = re.compile(r"^\$\$(.+)\$\$\s*$", re.M)


@dataclass
class Example:
    script: Path
    title: str
    text: str
    code: str
    output: str
    figures: dict[str, bytes]  # file name → PNG, in the order they were drawn
    seconds: float


def gallery_size() -> str:
    size = os.environ.get(SIZE_VARIABLE, "small")
    if size not in SIZES:
        raise PluginError(f"{SIZE_VARIABLE}={size!r}: choose one of {', '.join(SIZES)}")
    return size


def split_docstring(source: str) -> tuple[str, str]:
    """(module docstring, the code after it)."""
    tree = ast.parse(source)
    docstring = ast.get_docstring(tree) or ""
    first = tree.body[0] if tree.body else None
    if docstring and isinstance(first, ast.Expr):
        code = "\n".join(source.splitlines()[first.end_lineno :])
        return docstring, code.strip("\n")
    return docstring, source.strip("\n")


def title_of(script: Path) -> str:
    docstring, _ = split_docstring(script.read_text(encoding="utf-8"))
    return docstring.partition("\n")[0].strip().rstrip(".") or script.stem


def run(script: Path, outdir: Path, size: str) -> Example:
    env = {**os.environ, SIZE_VARIABLE: size, "MPLBACKEND": "Agg", "PYTHONUNBUFFERED": "1"}
    began = time.perf_counter()
    try:
        done = subprocess.run(
            [sys.executable, str(RUNNER), str(script), str(outdir)],
            cwd=outdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        raise PluginError(f"gallery: {script.name} ran past {TIMEOUT} s") from None
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-15:])
        raise PluginError(f"gallery: {script.name} failed (exit {done.returncode}):\n{tail}")
    docstring, code = split_docstring(script.read_text(encoding="utf-8"))
    return Example(
        script=script,
        title=title_of(script),
        text=docstring.partition("\n")[2].strip(),
        code=code,
        output=done.stdout.rstrip(),
        figures={
            p.name: p.read_bytes()
            for p in sorted(
                outdir.glob(f"{script.stem}_*.png"), key=lambda p: int(p.stem.rsplit("_", 1)[1])
            )
        },
        seconds=time.perf_counter() - began,
    )


def page(example: Example, size: str) -> str:
    parts = (
        [f"# {example.title}\n", f"{example.text}\n"] if example.text else [f"# {example.title}\n"]
    )
    script = example.script
    source = script.relative_to(ROOT) if script.is_relative_to(ROOT) else script
    parts.append(
        f"*Source:* `{source}` — run it with `python {source}` "
        f"(`{SIZE_VARIABLE}=full` for the full size). This page: size **{size}**, "
        f"{example.seconds:.1f} s when the site was built.\n"
    )
    parts.append(f"```python\n{example.code}\n```\n")
    if example.output:
        parts.append(f"## Output\n\n```text\n{example.output}\n```\n")
    formulas = DISPLAY_MATH.findall(example.output)
    if formulas:
        parts.append("## Typeset\n")
        parts.extend(f"$$\n{f.strip()}\n$$\n" for f in formulas)
    if example.figures:
        parts.append("## Figures\n")
        parts.extend(
            f"![{example.title}, figure {i}]({name})\n" for i, name in enumerate(example.figures, 1)
        )
    return "\n".join(parts)


def index(examples: list[Example], size: str) -> str:
    lines = [
        "# Gallery\n",
        "Worked examples through the public API (`import threefactors as tf`). Each is a plain "
        "script under `examples/gallery/`, **run when this site was built**: the output and "
        f"figures on its page are what it printed and drew (size **{size}**; set "
        f"`{SIZE_VARIABLE}=full` for the full size).\n",
    ]
    for ex in examples:
        summary = ex.text.split("\n\n", 1)[0].replace("\n", " ") if ex.text else ""
        lines.append(f"## [{ex.title}]({ex.script.stem}.md)\n\n{summary}\n")
    return "\n".join(lines)


def scripts() -> list[Path]:
    found = sorted(GALLERY.glob("*.py"))
    if not found:
        raise PluginError(f"gallery: no scripts in {GALLERY}")
    return found


def on_config(config):
    """The nav's ``gallery/index.md`` entry becomes a section: the index, then each example."""
    section = ["gallery/index.md", *({title_of(s): f"gallery/{s.stem}.md"} for s in scripts())]
    for i, item in enumerate(config.nav or []):
        if isinstance(item, dict) and list(item.values()) == ["gallery/index.md"]:
            config.nav[i] = {next(iter(item)): section}
    return config


# (script, its mtime and size, gallery size) → its run: `mkdocs serve` reruns only what changed
_RUNS: dict[tuple[Path, int, int, str], Example] = {}


def run_cached(script: Path, size: str) -> Example:
    stat = script.stat()
    key = (script, stat.st_mtime_ns, stat.st_size, size)
    if key not in _RUNS:
        with tempfile.TemporaryDirectory(prefix="threefactors-gallery-") as outdir:
            _RUNS[key] = run(script, Path(outdir), size)
    return _RUNS[key]


def on_files(files: Files, config) -> Files:
    size = gallery_size()
    examples = [run_cached(script, size) for script in scripts()]
    for ex in examples:
        files.append(File.generated(config, f"gallery/{ex.script.stem}.md", content=page(ex, size)))
        for name, png in ex.figures.items():
            files.append(File.generated(config, f"gallery/{name}", content=png))
    files.append(File.generated(config, "gallery/index.md", content=index(examples, size)))
    return files
