"""Relaxation of a three-well landscape with the Fokker–Planck solver.

Start every particle in the rightmost (highest) well of a tilted three-well landscape and
follow the density p(x, t) of the SDE by solving the Fokker–Planck equation
∂p/∂t = ∇·(∇L p) + T Δp on a grid (Scharfetter–Gummel finite volumes: positive, mass
conserving, the discrete Gibbs density its exact stationary state). The occupancy of each
basin relaxes in stages set by the generator's slowest rates λ₁, λ₂, which the Kramers and
exact mean-first-passage-time rates approximate
(see [escape from a minimum](../theory.md#escape-from-a-minimum)).
"""

import os

import matplotlib.pyplot as plt
import numpy as np

import threefactors as tf
from threefactors.theory.relaxation import relax

SIZE = os.environ.get("THREEFACTORS_GALLERY_SIZE", "small")
GRID = 800 if SIZE == "small" else 4000
TIMES = np.concatenate([[0.0], np.geomspace(0.01, 1e3, 30 if SIZE == "small" else 120)])

land = tf.tilted_multiwell(n_minima=3, barrier=1.0, tilt=0.1)
setting = tf.SGDSetting(eta=0.4, batch_size=1, sigma=1.0)  # T = 0.2
cp = tf.theory.critical_points(land)
print("minima at x =", [round(float(m.x[0]), 3) for m in cp.minima])
print("T =", setting.temperature)

r = relax(land, setting.temperature, start=[cp.minima[-1].x[0]], times=TIMES, grid=GRID)
print("slowest relaxation rates λ:", np.array2string(r.relaxation_rates[:3], precision=4))
print("Kramers rates (one per escape route):", np.array2string(r.kramers_rates, precision=4))
print("stationary occupancy (Gibbs):", np.round(r.stationary_occupancy, 4))
print("occupancy at the last time:   ", np.round(r.evolution.occupancy[-1], 4))
print(f"mass error {r.evolution.mass_error:.1e}, smallest density {r.evolution.min_density:.1e}")

fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6), layout="constrained")
x = r.model.grid.centres.reshape(-1)
for t in (0.01, 1.0, 30.0, 1e3):
    k = int(np.argmin(np.abs(TIMES - t)))
    left.plot(x, r.evolution.densities[k], label=f"t = {TIMES[k]:.3g}")
left.set_yscale("log")
left.set_ylim(1e-6, None)
left.set_xlabel("x")
left.set_ylabel("p(x, t)")
left.legend()
for j in range(len(cp.minima)):
    right.semilogx(TIMES[1:], r.evolution.occupancy[1:, j], label=f"well {j}")
    right.axhline(r.stationary_occupancy[j], color=f"C{j}", ls="--", lw=0.8)
for rate in r.relaxation_rates[:2]:
    right.axvline(1 / rate, color="grey", lw=0.5)
right.set_xlabel("time t = kη (grey: 1/λ₁, 1/λ₂)")
right.set_ylabel("occupancy")
right.legend()
plt.show()
