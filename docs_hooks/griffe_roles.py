"""Griffe extension: docstrings written with Sphinx roles (``:func:`langevin```,
``:class:`~threefactors.theory.setting.SGDSetting```) render as inline code on the site.

The docstrings stay as they are (they read well in ``help()``); only the site's copy of
each docstring is rewritten. A leading ``~`` keeps the last dotted part, as Sphinx does.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:py:)?(?:func|class|mod|meth|attr|data|obj|exc|const):`(~?)([^`]+)`")


def _code(match: re.Match[str]) -> str:
    tilde, target = match.groups()
    return f"`{target.rsplit('.', 1)[-1] if tilde else target}`"


def plain_roles(text: str) -> str:
    """``:role:`target``` → `` `target` `` (``~a.b.c`` → ``c``)."""
    return ROLE.sub(_code, text)


class SphinxRoles(griffe.Extension):
    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = plain_roles(obj.docstring.value)
