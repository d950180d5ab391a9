"""Which minimum wins: minima probabilities and the Laplace crossover.

A double well with a deep, sharp minimum at x = −1 and a shallower, wide one at x = +1.
At low temperature T = ησ²/(2S) SGD's stationary law (Gibbs, p ∝ exp(−L/T)) sits in the
deep minimum; as T grows the wide one takes over. The Laplace (harmonic) approximation
predicts the crossover at n* = (L_A − L_B) / log sqrt(det H_B / det H_A); the exact Gibbs
masses, by quadrature, cross elsewhere where the wells are anharmonic
(see [which minimum wins][which-minimum-wins-laplace-masses-and-the-widthdepth-trade-off]).
"""

import os

import matplotlib.pyplot as plt
import numpy as np

import threefactors as tf

SIZE = os.environ.get("THREEFACTORS_GALLERY_SIZE", "small")
TEMPERATURES = np.geomspace(0.03, 3.0, 16 if SIZE == "small" else 60)

land = tf.double_well(depth_left=1.0, depth_right=0.8, width_left=0.2, width_right=0.5)
cp = tf.theory.critical_points(land)
for i, m in enumerate(cp.minima):
    print(f"minimum {i}: x = {m.x[0]:+.3f}, L = {m.loss:.3f}, L'' = {m.hessian_eigenvalues[0]:.2f}")

setting = tf.SGDSetting(eta=0.3, batch_size=1, sigma=1.0)
print("T =", setting.temperature)
print("Gibbs:  ", np.round(tf.theory.gibbs_probabilities(land, setting, cp), 4))
print("Laplace:", np.round(tf.theory.laplace_probabilities(land, setting, cp), 4))

laplace_star = tf.theory.laplace_crossover(cp, wide=1, sharp=0)
exact_star = tf.theory.gibbs_crossover(land, wide=1, sharp=0)
print(f"crossover: Laplace n* = {laplace_star:.3f}, exact (quadrature) {exact_star:.3f}")

gibbs = np.array([tf.theory.gibbs_probabilities(land, t, cp)[1] for t in TEMPERATURES])
laplace = np.array([tf.theory.laplace_probabilities(land, t, cp)[1] for t in TEMPERATURES])

fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6), layout="constrained")
x = np.linspace(-1.5, 1.6, 400)
left.plot(x, land.loss_at(x[:, None]), color="k")
left.set_ylim(-0.1, 1.6)
left.set_xlabel("x")
left.set_ylabel("L(x)")
left.set_title("deep & sharp (left) vs shallow & wide (right)")
right.semilogx(TEMPERATURES, gibbs, "o-", label="exact Gibbs (quadrature)")
right.semilogx(TEMPERATURES, laplace, "--", label="Laplace")
right.axvline(exact_star, color="C0", lw=0.8)
right.axvline(laplace_star, color="C1", lw=0.8, ls="--")
right.axhline(0.5, color="grey", lw=0.5)
right.set_xlabel("temperature T = ησ²/(2S)")
right.set_ylabel("P(wide minimum)")
right.legend()
plt.show()
