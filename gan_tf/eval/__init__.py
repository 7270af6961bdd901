"""Evaluation metric math: pure functions on feature and logit arrays (NumPy/SciPy).

The networks that make the features live in :mod:`gan_tf.eval.features`; wiring
to datasets and runs in :mod:`gan_tf.evaluation`.
"""

from gan_tf.eval.cache import reference_features
from gan_tf.eval.coverage import class_coverage
from gan_tf.eval.fid import feature_statistics, frechet_distance, frechet_distance_from_features
from gan_tf.eval.inception_score import inception_score
from gan_tf.eval.kid import kernel_distance, mmd2_unbiased
from gan_tf.eval.modes import mode_histogram_kl, stacked_mode_metrics, toy_mode_metrics
from gan_tf.eval.precision_recall import nearest_neighbours, precision_recall

__all__ = [
    "class_coverage",
    "feature_statistics",
    "frechet_distance",
    "frechet_distance_from_features",
    "inception_score",
    "kernel_distance",
    "mmd2_unbiased",
    "mode_histogram_kl",
    "nearest_neighbours",
    "precision_recall",
    "reference_features",
    "stacked_mode_metrics",
    "toy_mode_metrics",
]
