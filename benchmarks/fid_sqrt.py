"""Time of the FID's matrix-square-root term: scipy's sqrtm (pytorch-fid, TTUR) vs gan_tf.

    python benchmarks/fid_sqrt.py [--dims=2048] [--samples=10000,500] [--repeats=3]

For each sample count, draws two sets of correlated features of ``--dims`` dimensions
(fewer samples than dimensions makes the covariances singular, as with small sets),
and times, ``--repeats`` times each: the FID as pytorch-fid computes it
(``scipy.linalg.sqrtm(sigma1 @ sigma2)``, with its eps offset when the result is not
finite) and gan_tf's :func:`gan_tf.eval.fid.frechet_distance` (two symmetric
eigendecompositions). Prints the medians, their ratio and the relative difference of the
two FIDs.
"""

from __future__ import annotations

import statistics
import time

import _setup  # noqa: F401 - quiet TF logs; gan_tf importable from the checkout
import numpy as np
import scipy.linalg
from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_integer("dims", 2048, "Feature dimensions (Inception pool_3: 2048).")
flags.DEFINE_list("samples", ["10000", "500"], "Samples per set (one row each).")
flags.DEFINE_integer("repeats", 3, "Timed repeats (medians are printed).")


def pytorch_fid_style(mu1, sigma1, mu2, sigma2, eps=1e-6):
    """FID the way pytorch-fid's calculate_frechet_distance computes it (baseline)."""
    covmean = scipy.linalg.sqrtm(sigma1 @ sigma2)
    if not np.isfinite(covmean).all():
        offset = np.eye(len(sigma1)) * eps
        covmean = scipy.linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    covmean = covmean.real
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))


def features(rng, count, dims, shift):
    mixing = rng.standard_normal((dims, dims)) / np.sqrt(dims)
    return np.maximum(rng.standard_normal((count, dims)) @ mixing + shift, 0.0)


def timed(function, arguments, repeats):
    times, value = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        value = function(*arguments)
        times.append(time.perf_counter() - started)
    return statistics.median(times), value


def main(argv):
    del argv
    from gan_tf.eval.fid import feature_statistics, frechet_distance

    rng = np.random.default_rng(0)
    print(
        f"{'samples':>8} {'scipy sqrtm s':>14} {'gan_tf s':>9} {'speed-up':>9} {'FID rel diff':>13}"
    )
    for count in map(int, FLAGS.samples):
        stats1 = feature_statistics(features(rng, count, FLAGS.dims, 0.0))
        stats2 = feature_statistics(features(rng, count, FLAGS.dims, 0.1))
        arguments = (*stats1, *stats2)
        base, reference = timed(pytorch_fid_style, arguments, FLAGS.repeats)
        ours, value = timed(frechet_distance, arguments, FLAGS.repeats)
        difference = abs(value - reference) / abs(reference)
        print(f"{count:>8} {base:>14.2f} {ours:>9.2f} {base / ours:>8.1f}x {difference:>13.1e}")


if __name__ == "__main__":
    app.run(main)
