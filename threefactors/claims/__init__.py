"""The claims of the papers, one module per claim, in the order of the report.

Each module defines ``SPEC`` (a :class:`~threefactors.claims.base.ClaimSpec`): the claim's
statement and source, its declared primary test and secondary tests, its settings at each
scale (``quick``, ``default``, ``paper``), the functions that gather the theory, simulation
and network evidence, and its figure. The registry below names the modules only, so listing
the claims (``threefactors reproduce --help``, ``--only`` validation) imports nothing heavy;
:func:`spec` imports one claim's module when it is needed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from threefactors.claims.base import ClaimSpec

SCALES = ("quick", "default", "paper")

# claim id → module under threefactors.claims, in report order.
MODULES: dict[str, str] = {
    "width-depth": "width_depth",
    "eta-over-s": "eta_over_s",
    "excess-loss": "excess_loss",
    "finite-eta": "finite_eta",
    "escape": "escape",
    "relaxation": "relaxation",
    "sde-accuracy": "sde_accuracy",
    "sharpest": "sharpest",
    "step-too-long": "step_too_long",
    "conditioning": "conditioning",
    "interpolation": "interpolation",
    "schedules": "schedules",
    "memorization": "memorization",
    "nsgd": "nsgd",
}


def ids() -> tuple[str, ...]:
    """The claim ids, in report order."""
    return tuple(MODULES)


def spec(claim_id: str) -> ClaimSpec:
    """The :class:`ClaimSpec` of ``claim_id`` (imports its module)."""
    return importlib.import_module(f"threefactors.claims.{MODULES[claim_id]}").SPEC


def all_specs() -> list[ClaimSpec]:
    """Every claim's spec, in report order."""
    return [spec(claim_id) for claim_id in MODULES]
