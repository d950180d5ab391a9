"""Griffe extension: the site's copy of each docstring gets links and plain code markup.

The docstrings stay as they are (they read well in ``help()``); only what the site shows
is rewritten:

- Sphinx roles (``:func:`langevin```, ``:class:`~threefactors.theory.setting.SGDSetting```)
  become inline code; a leading ``~`` keeps the last dotted part, as Sphinx does;
- citations of the theory page (*docs/theory.md, "The SDE of SGD"*) become links to that
  section (an autorefs link to the heading's anchor: a section that does not exist fails
  the strict build).
"""

from __future__ import annotations

import re
from typing import Any

import griffe
from markdown.extensions.toc import slugify

ROLE = re.compile(r":(?:py:)?(?:func|class|mod|meth|attr|data|obj|exc|const):`(~?)([^`]+)`")
THEORY_CITATION = re.compile(r'docs/theory\.md,(\s+)"([^"]+)"')


def _code(match: re.Match[str]) -> str:
    tilde, target = match.groups()
    return f"`{target.rsplit('.', 1)[-1] if tilde else target}`"


def _link(match: re.Match[str]) -> str:
    space, section = match.groups()
    title = " ".join(section.split())
    return f'[docs/theory.md,{space}"{section}"][{slugify(title, "-")}]'


def site_markup(text: str) -> str:
    """``:role:`target``` → `` `target` `` (``~a.b.c`` → ``c``); theory citations → links."""
    return THEORY_CITATION.sub(_link, ROLE.sub(_code, text))


class SiteMarkup(griffe.Extension):
    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = site_markup(obj.docstring.value)
