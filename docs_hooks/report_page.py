"""MkDocs hook: the claims report page, rendered from figures/REPORT.md (the committed run)
at build time, with every file of figures/ it links to (its PNGs) copied beside it.

Whatever the report's format, the page is the report as written; a link to a file figures/
lacks fails the strict build. The report's verdict legend (the paragraphs before its first
table that define the verdicts) is also placed where a page says ``<!-- report-legend -->``.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

FIGURES = Path(__file__).resolve().parents[1] / "figures"
REPORT = FIGURES / "REPORT.md"
PAGE = "report/index.md"
LEGEND_MARK = "<!-- report-legend -->"
LINK = re.compile(r"\]\(([^)\s#]+)(?:#[^)]*)?\)")


def linked_files(text: str) -> list[str]:
    """Relative targets of the report's links and images (not URLs, not anchors)."""
    return sorted({t for t in LINK.findall(text) if "://" not in t and not t.startswith("/")})


def legend(text: str) -> str:
    """The report's paragraphs before its first table that mention verdicts."""
    head = text.split("\n|", 1)[0]
    paragraphs = [p.strip() for p in head.split("\n\n")[1:]]
    return "\n\n".join(p for p in paragraphs if "verdict" in p.lower())


def on_files(files: Files, config) -> Files:
    if not REPORT.is_file():
        raise PluginError(f"{REPORT} missing: run `threefactors reproduce` first")
    text = REPORT.read_text(encoding="utf-8")
    files.append(File.generated(config, PAGE, content=text))
    for name in linked_files(text):
        source = FIGURES / name
        if source.is_file():  # a missing one is reported by mkdocs' link validation
            files.append(File.generated(config, f"report/{name}", abs_src_path=str(source)))
    return files


def on_page_markdown(markdown: str, page, config, files) -> str:
    if LEGEND_MARK in markdown:
        text = legend(REPORT.read_text(encoding="utf-8"))
        if text:
            quoted = "\n".join(f"> {line}" for line in text.split("\n"))
        else:  # a report whose opening defines no verdicts: send the reader to it
            link = posixpath.relpath(PAGE, posixpath.dirname(page.file.src_uri) or ".")
            quoted = f"> See the opening of the [claims report]({link})."
        markdown = markdown.replace(LEGEND_MARK, quoted)
    return markdown
