"""Docstrings cite what a reader can follow: papers, or sections of docs/theory.md that exist."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
THEORY = ROOT / "docs" / "theory.md"
SOURCES = [p for folder in ("threefactors", "theory", "simulate", "empirical", "tests")
           for p in sorted((ROOT / folder).glob("*.py"))]  # fmt: skip


def _headings() -> set[str]:
    return {m.group(1).strip() for m in re.finditer(r"^#+ (.+)$", THEORY.read_text(), re.M)}


def test_no_docstring_cites_a_file_the_repository_lacks() -> None:
    citing = {str(p.relative_to(ROOT)) for p in SOURCES if "THEORY.md" in p.read_text()} - {
        "tests/test_docs.py"
    }
    assert not citing, sorted(citing)


def test_cited_sections_of_docs_theory_exist() -> None:
    headings = _headings()
    cited = re.compile(r'docs/theory\.md,\s+"([^"]+)"')
    for path in SOURCES:
        text = re.sub(r"\n\s*", " ", path.read_text())  # citations may wrap lines
        for section in cited.findall(text):
            assert section in headings, f"{path.name} cites missing section {section!r}"


def test_docs_theory_has_references() -> None:
    text = THEORY.read_text()
    for paper in ("1711.04623", "1807.05031", "2012.03636", "1704.04289", "1511.06251"):
        assert paper in text
