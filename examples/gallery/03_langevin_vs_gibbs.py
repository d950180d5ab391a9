"""A Langevin ensemble against the Gibbs law.

An ensemble of independent particles follows the SDE of SGD,
dθ = −∇L dt + sqrt(ησ²/S) dW, on a tilted double well typed as text (the formula is
compiled to a numba kernel). After relaxing, the fraction of particles in each minimum
should equal the exact Gibbs mass of its basin, and their histogram the density
exp(−L/T)/Z — within the ensemble's standard error sqrt(p(1 − p)/N)
(see [Fokker–Planck and the Gibbs law](../theory.md#fokkerplanck-and-the-gibbs-law)).
`scheme="lm"` is the Leimkuhler–Matthews scheme, whose stationary law is accurate to
O(dt²) (see [schemes](../theory.md#integrating-the-sde-schemes)).
"""

import os

import matplotlib.pyplot as plt
import numpy as np

import threefactors as tf

SIZE = os.environ.get("THREEFACTORS_GALLERY_SIZE", "small")
PARTICLES, TIME = (5_000, 80.0) if SIZE == "small" else (200_000, 80.0)

well = tf.Landscape.from_string("(x^2 - 1)^2 + 0.3*x")
setting = tf.SGDSetting(eta=0.6, batch_size=1, sigma=1.0)  # T = ησ²/(2S) = 0.3
observe = tf.simulate.Observe(records=61, histogram=tf.simulate.Histogram(bins=60))
run = tf.simulate.langevin(
    well, setting, particles=PARTICLES, time=TIME, dt=0.01, scheme="lm", seed=7, observe=observe
)
gibbs = tf.theory.gibbs_probabilities(well, setting)
print(f"{PARTICLES} particles, T = {setting.temperature}")
print("simulated occupancy:", np.round(run.occupancy, 4), "±", np.round(run.occupancy_stderr, 4))
print("exact Gibbs masses: ", np.round(gibbs, 4))
z = (run.occupancy - gibbs) / run.occupancy_stderr
print("difference in standard errors:", np.round(z, 2))
print(f"kernel speed: {run.ns_per_particle_step:.1f} ns per particle-step")

edges = np.asarray(run.histogram_edges).reshape(-1)
counts = np.asarray(run.histogram).reshape(-1)
centres = 0.5 * (edges[1:] + edges[:-1])
simulated = counts / (counts.sum() * np.diff(edges))
boltzmann = np.exp(-well.loss_at(centres[:, None]) / setting.temperature)
boltzmann /= np.sum(boltzmann * np.diff(edges))

fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6), layout="constrained")
left.bar(centres, simulated, width=np.diff(edges), alpha=0.5, label="particles (2nd half)")
left.plot(centres, boltzmann, "k", label="exp(−L/T)/Z")
left.set_xlabel("x")
left.set_ylabel("density")
left.legend()
for j, colour in enumerate(("C0", "C1")):
    right.plot(run.times, run.occupancy_over_time[:, j], colour, label=f"minimum {j}, simulated")
    right.axhline(gibbs[j], color=colour, ls="--", lw=0.8)
right.set_xlabel("SDE time t = kη")
right.set_ylabel("occupancy")
right.set_title("relaxation to the Gibbs masses (dashed)")
right.legend()
plt.show()
