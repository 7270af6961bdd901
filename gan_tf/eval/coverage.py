"""Class coverage: how a classifier's predictions spread over the classes.

A generator that drops classes (mode dropping) or favours a few shows a
skewed histogram of predicted classes over its samples.
"""

from __future__ import annotations

import numpy as np

__all__ = ["class_coverage"]


def class_coverage(logits, *, min_share: float = 0.1) -> dict:
    """Histogram of predicted classes over samples, classes covered, KL to uniform.

    Args:
      logits: ``[N, K]`` classifier logits (or probabilities) for N samples.
      min_share: a class is *covered* when it receives at least ``min_share``
        of its uniform share ``N / K`` of the predictions (0.1: one tenth).

    Returns:
      ``{"classes_covered": int in [0, K], "class_kl": KL(histogram || uniform)
      in nats, 0 for a uniform spread and log K for a single class,
      "class_histogram": list of K shares summing to 1}``.

    Raises:
      ValueError: for a non-2-D array or no rows.
    """
    logits = np.asarray(logits)
    if logits.ndim != 2 or len(logits) == 0:
        raise ValueError(f"logits must be [N, K] with N >= 1, got shape {logits.shape}")
    num_classes = logits.shape[1]
    counts = np.bincount(logits.argmax(axis=1), minlength=num_classes)
    shares = counts / counts.sum()
    nonzero = shares > 0
    kl = float(np.sum(shares[nonzero] * np.log(shares[nonzero] * num_classes)))
    return {
        "classes_covered": int((shares >= min_share / num_classes).sum()),
        "class_kl": kl,
        "class_histogram": [float(share) for share in shares],
    }
