"""The evaluation metrics by name (``--metrics``, ``--eval_metrics``) and the values they make.

=================  ===========================================================
``fd_classifier``  Fréchet distance in the domain classifier's 128-d features
``kid_classifier`` KID (x 1000 is *not* applied) in the classifier's features
``pr_classifier``  improved precision/recall (k=3) in the classifier's features
``is_classifier``  Inception-style score on the classifier's 10-way logits
``coverage``       predicted-class histogram: classes covered, KL to uniform
``modes``          Stacked MNIST: the 1,000 modes (digit triples, each channel
                   read by the MNIST classifier) covered and their KL to uniform
``cas``            Classification Accuracy Score (conditional runs only)
``augmentation``   test accuracy of a classifier trained on real data alone and on
                   real + class-conditional samples, same budget (conditional runs)
``fid``            FID as papers report it: Fréchet distance in the 2015-12-05
                   Inception's pool_3 features (TTUR / pytorch-fid network)
``kid``            KID in the same features
``pr``             improved precision/recall in the same features
``is``             Inception Score on the same network's 1008-way logits
``fd_keras``       Fréchet distance in ``keras.applications.InceptionV3`` features
                   (other weights and pooling: *not* FID, not comparable with papers)
``kid_keras``,     KID, precision/recall and Inception Score in those Keras
``pr_keras``,      InceptionV3 features
``is_keras``
=================  ===========================================================
"""

from __future__ import annotations

from gan_tf.errors import ConfigError

__all__ = [
    "CLASSIFIER_METRICS",
    "DEFAULT_METRICS",
    "INCEPTION_METRICS",
    "KERAS_METRICS",
    "METRICS",
    "OUTPUT_NAMES",
    "parse_metrics",
    "primary_metric",
]

CLASSIFIER_METRICS = ("fd_classifier", "kid_classifier", "pr_classifier", "is_classifier")
INCEPTION_METRICS = ("fid", "kid", "pr", "is")  # the reference (2015-12-05) Inception
KERAS_METRICS = ("fd_keras", "kid_keras", "pr_keras", "is_keras")  # keras.applications'
METRICS = (*CLASSIFIER_METRICS, "coverage", "modes", "cas", "augmentation", *INCEPTION_METRICS)
METRICS = (*METRICS, *KERAS_METRICS)
DEFAULT_METRICS = ("fd_classifier", "kid_classifier", "pr_classifier", "coverage")
# the scalar values the metrics produce (keys of Evaluator results, metrics.csv columns)
OUTPUT_NAMES = (
    "fd_classifier",
    "kid_classifier",
    "precision_classifier",
    "recall_classifier",
    "is_classifier",
    "classes_covered",
    "class_kl",
    "modes_covered",
    "mode_kl",
    "cas",
    "augmentation_real",
    "augmentation_mixed",
    "augmentation_gain",
    "fid",
    "kid",
    "precision",
    "recall",
    "is",
    "fd_keras",
    "kid_keras",
    "precision_keras",
    "recall_keras",
    "is_keras",
)


def parse_metrics(metrics, param: str = "metrics") -> tuple[str, ...]:
    """``"a,b"`` or a sequence of names -> a tuple of known metric names (no duplicates).

    Args:
      metrics: the names.
      param: the parameter they came from, for the error message.

    Raises:
      ConfigError: for an empty list or an unknown name (the message lists the valid ones).
    """
    names = metrics.split(",") if isinstance(metrics, str) else list(metrics)
    names = tuple(dict.fromkeys(name.strip() for name in names if name.strip()))
    unknown = [name for name in names if name not in METRICS]
    if unknown or not names:
        raise ConfigError(
            f"unknown metric(s) {', '.join(unknown) or '(none given)'} in {param}; "
            f"choose from: {', '.join(METRICS)}",
            param,
        )
    return names


# the metric that ranks checkpoints ("best"), first present wins: (name, higher is better)
PRIMARY_METRICS = (
    ("fd_classifier", False),
    ("fid", False),
    ("fd_keras", False),
    ("kid_classifier", False),
    ("kid", False),
    ("kid_keras", False),
    ("is_classifier", True),
    ("is", True),
    ("is_keras", True),
    ("cas", True),
    ("classes_covered", True),
    ("mode_kl", False),
)


def primary_metric(values) -> tuple[str, bool] | None:
    """The primary metric among the names in ``values`` and whether higher is better:
    the first of :data:`PRIMARY_METRICS` present (a Fréchet distance where there is
    one), or ``None``."""
    return next(((name, higher) for name, higher in PRIMARY_METRICS if name in values), None)
