"""Output of a computed result: one JSON document (``--json``) or human-readable text.

Base layer: every view's command handlers print through :func:`emit`; the CLI sits above.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from threefactors.jsonio import dumps


def emit(result: dict[str, Any], as_json: bool, text: Callable[[dict[str, Any]], str]) -> None:
    """Print ``result`` as one JSON document, or as human text made by ``text``."""
    print(dumps(result) if as_json else text(result))
