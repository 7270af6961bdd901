"""The evaluation metrics by name (``--metrics``, ``--eval_metrics``) and the values they make.

=================  ===========================================================
``fd_classifier``  Fréchet distance in the domain classifier's 128-d features
``kid_classifier`` KID (x 1000 is *not* applied) in the classifier's features
``pr_classifier``  improved precision/recall (k=3) in the classifier's features
``is_classifier``  Inception-style score on the classifier's 10-way logits
``coverage``       predicted-class histogram: classes covered, KL to uniform
``cas``            Classification Accuracy Score (conditional runs only)
``fid``            FID: Fréchet distance in InceptionV3 pool3 features
``kid``            KID in InceptionV3 pool3 features
``pr``             improved precision/recall in InceptionV3 pool3 features
``is``             Inception Score on InceptionV3 logits
=================  ===========================================================
"""

from __future__ import annotations

from gan_tf.errors import ConfigError

__all__ = [
    "CLASSIFIER_METRICS",
    "DEFAULT_METRICS",
    "INCEPTION_METRICS",
    "METRICS",
    "OUTPUT_NAMES",
    "parse_metrics",
    "primary_metric",
]

CLASSIFIER_METRICS = ("fd_classifier", "kid_classifier", "pr_classifier", "is_classifier")
INCEPTION_METRICS = ("fid", "kid", "pr", "is")
METRICS = (*CLASSIFIER_METRICS, "coverage", "cas", *INCEPTION_METRICS)
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
    "cas",
    "fid",
    "kid",
    "precision",
    "recall",
    "is",
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
    ("kid_classifier", False),
    ("kid", False),
    ("is_classifier", True),
    ("is", True),
    ("cas", True),
    ("classes_covered", True),
)


def primary_metric(values) -> tuple[str, bool] | None:
    """The primary metric among the names in ``values`` and whether higher is better:
    the first of :data:`PRIMARY_METRICS` present (a Fréchet distance where there is
    one), or ``None``."""
    return next(((name, higher) for name, higher in PRIMARY_METRICS if name in values), None)
