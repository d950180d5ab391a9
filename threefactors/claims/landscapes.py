"""The landscapes and SDE helpers the simulation claims share.

The width/depth double well: a deep sharp minimum (left, D = 1, w = 0.2: L'' = 25) and a
higher, wide one (right, D = 0.8, w = 0.5: L'' = 4). Barriers stay within a few T over the
temperatures used, so an ensemble started uniformly equilibrates in CPU-seconds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from threefactors.theory.landscape import Landscape

WIDTH_DEPTH_WELL = {"depth_left": 1.0, "depth_right": 0.8, "width_left": 0.2, "width_right": 0.5}


def relaxation_time(landscape: Landscape, temperature: float) -> float:
    """1/(k_A + k_B) with Kramers rates k = 1/τ: the two-well relaxation time (SDE time)."""
    from threefactors.theory.escape import kramers_time

    rates = [1 / kramers_time(landscape, temperature, i) for i in range(2)]
    return 1 / sum(rates)
