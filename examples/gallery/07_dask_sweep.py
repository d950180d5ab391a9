"""A sweep over (η, S) on a local Dask cluster.

`tf.simulate.sweep` runs one ensemble per setting of the grid η × S and returns one tidy
row per setting (the setting, its temperature T = ησ²/(2S) and η/S, the occupancy of every
minimum with its standard error, ...). Each setting is one task on the executor you give:
this process, local processes, or — here — a Dask cluster, the same code that scales out to
a SLURM cluster (`--executor slurm` on the command line). The cluster below runs on this
machine only (127.0.0.1) and is closed at the end. Seeds are `seed + i` for setting i, so
the rows are the same whichever executor ran them. The occupancies fall on one curve of
T: the stationary law depends on η and S only through η/S
(see [Fokker–Planck and the Gibbs law](../theory.md#fokkerplanck-and-the-gibbs-law)).
Dask starts its workers as new processes, so the script keeps its work under
`if __name__ == "__main__":`.
"""

import logging
import os

import matplotlib.pyplot as plt
import numpy as np
from distributed import LocalCluster

import threefactors as tf
from threefactors.executors import ExecutorSpec

SIZE = os.environ.get("THREEFACTORS_GALLERY_SIZE", "small")
if SIZE == "small":
    ETAS, BATCHES, PARTICLES, WORKERS = [0.4, 0.8, 1.6], [2, 4], 2_000, 2
else:
    ETAS, BATCHES, PARTICLES, WORKERS = [0.8, 1.2, 1.6, 2.4, 3.2], [2, 4, 8], 50_000, 4
SIGMA = 2.5  # T = ησ²/(2S) ≥ 0.31: every setting relaxes well within the run


def main() -> None:
    well = tf.Landscape.from_string("(x^2 - 1)^2 + 0.3*x")
    with LocalCluster(
        n_workers=WORKERS,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        silence_logs=logging.ERROR,
    ) as cluster:
        print(f"Dask cluster: {WORKERS} workers")
        dask = ExecutorSpec(kind="dask", scheduler=cluster.scheduler_address)
        rows = tf.simulate.sweep(
            well,
            etas=ETAS,
            batch_sizes=BATCHES,
            sigmas=[SIGMA],
            time=250.0,
            dt=0.01,
            scheme="lm",
            particles=PARTICLES,
            seed=11,
            executor=dask,
        )
    print("cluster closed")

    print("  lr  batch  eta/S  T      P(deep) ± se      Gibbs")
    temperatures = np.geomspace(0.25, 6.0, 40)
    gibbs_curve = [tf.theory.gibbs_probabilities(well, t)[0] for t in temperatures]
    for row in rows:
        gibbs = tf.theory.gibbs_probabilities(well, row["temperature"])[0]
        print(
            f"{row['lr']:4.2f} {row['batch']:4d}  {row['lr_over_batch']:.2f}   "
            f"{row['temperature']:.3f}  "
            f"{row['occupancy_0']:.4f} ± {row['occupancy_stderr_0']:.4f}  {gibbs:.4f}"
        )

    _, ax = plt.subplots(figsize=(6.4, 3.8))
    ax.semilogx(temperatures, gibbs_curve, "k", lw=0.8, label="exact Gibbs mass")
    for batch in BATCHES:
        mine = [r for r in rows if r["batch"] == batch]
        ax.errorbar(
            [r["temperature"] for r in mine],
            [r["occupancy_0"] for r in mine],
            yerr=[4 * r["occupancy_stderr_0"] for r in mine],
            fmt="o",
            label=f"S = {batch}",
        )
    ax.set_xticks([0.3, 1, 3], labels=["0.3", "1", "3"])
    ax.set_xticks([], minor=True)
    ax.set_xlabel("temperature T = ησ²/(2S)")
    ax.set_ylabel("P(deep minimum)")
    ax.legend()
    plt.show()


if __name__ == "__main__":
    main()
