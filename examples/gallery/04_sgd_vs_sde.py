"""True SGD against its SDE: where finite η breaks the continuous picture.

In a quadratic basin L = hx²/2 the SDE of SGD has the stationary variance ησ²/(2Sh), while
SGD itself — a discrete map — settles at ησ²/(Sh(2 − ηh)): larger by 1/(1 − ηh/2), and
infinite at the stability edge η = 2/h
(see [where the SDE breaks](../theory.md#where-the-sde-breaks)).
Here `tf.simulate.sgd` runs true minibatch SGD (batches of S drawn from N examples) over
a range of η at a fixed batch size, `tf.simulate.langevin` integrates the SDE with a small
dt, and `tf.theory.quadratic_stationary` gives both laws in closed form.
"""

import os

import matplotlib.pyplot as plt
import numpy as np

import threefactors as tf

SIZE = os.environ.get("THREEFACTORS_GALLERY_SIZE", "small")
PARTICLES = 5_000 if SIZE == "small" else 100_000
ETAS = (
    [0.2, 0.8, 1.4, 1.7]
    if SIZE == "small"
    else [0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.2, 1.4, 1.6, 1.7, 1.8]
)
BATCH, EXAMPLES, CURVATURE = 4, 200, 1.0

bowl = tf.Landscape.from_string("x^2/2")
rows = []
for eta in ETAS:
    setting = tf.SGDSetting(eta=eta, batch_size=BATCH, sigma=1.0, examples=EXAMPLES)
    law = tf.theory.quadratic_stationary([CURVATURE], setting)
    steps = int(np.ceil(30.0 / eta))  # 30 units of SDE time t = kη
    sgd = tf.simulate.sgd(bowl, setting, particles=PARTICLES, steps=steps, start=[0.0], seed=1)
    sde = tf.simulate.langevin(
        bowl, setting, particles=PARTICLES, time=30.0, dt=0.01, start=[0.0], seed=2
    )
    var_sgd, var_sde = sgd.covariance[0, 0], sde.covariance[0, 0]
    se_sgd = var_sgd * np.sqrt(2 / PARTICLES)  # Gaussian: se of a variance from N samples
    rows.append(
        (eta, var_sgd, se_sgd, var_sde, law.sgd_covariance_diag[0], law.sde_covariance_diag[0])
    )
    print(
        f"eta={eta:4.2f}  SGD var {var_sgd:.4f} ± {se_sgd:.4f} (finite-η law "
        f"{law.sgd_covariance_diag[0]:.4f})   SDE var {var_sde:.4f} (SDE law "
        f"{law.sde_covariance_diag[0]:.4f})   ratio law 1/(1 − ηh/2) = {law.ratio[0]:.2f}"
    )

eta, var_sgd, se_sgd, var_sde, law_sgd, law_sde = map(np.array, zip(*rows, strict=True))
fine = np.linspace(0.05, 1.85, 40)
laws = [tf.theory.quadratic_stationary([CURVATURE], eta=e, batch_size=BATCH) for e in fine]
fig, ax = plt.subplots(figsize=(6.4, 3.8))
ax.errorbar(eta, var_sgd, yerr=4 * se_sgd, fmt="o", label="true SGD (±4 se)")
ax.plot(eta, var_sde, "s", label="SDE ensemble")
ax.plot(
    fine,
    [law.sgd_covariance_diag[0] for law in laws],
    "C0-",
    lw=0.8,
    label="SGD law ησ²/(Sh(2 − ηh))",
)
ax.plot(
    fine, [law.sde_covariance_diag[0] for law in laws], "C1--", lw=0.8, label="SDE law ησ²/(2Sh)"
)
ax.axvline(2 / CURVATURE, color="grey", lw=0.5)
ax.set_xlabel("learning rate η (S = 4, h = 1)")
ax.set_ylabel("stationary variance")
ax.set_yscale("log")
ax.legend()
plt.show()
