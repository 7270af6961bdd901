"""Inception Score math on classifier logits.

Salimans et al., 2016, "Improved Techniques for Training GANs":
``IS = exp(E_x KL(p(y|x) || p(y)))``, computed on each of ``num_splits`` equal
splits of the samples; the mean and standard deviation over splits are reported.
With a classifier other than InceptionV3 the number is an "Inception-style"
score in that classifier's label space (at most its number of classes).
"""

from __future__ import annotations

import numpy as np
import scipy.special

__all__ = ["inception_score"]


def inception_score(logits, *, num_splits: int = 10) -> dict[str, float]:
    """Inception Score of ``[N, K]`` class logits.

    Args:
      logits: unnormalised log-probabilities, ``[N, K]``.
      num_splits: number of equal splits (10 in the paper); the last
        ``N mod num_splits`` rows are dropped.

    Returns:
      ``{"is": mean over splits, "is_std": standard deviation}``; the score lies
      in ``[1, K]``: 1 for identical predictions, K for confident predictions
      spread equally over K classes.

    Raises:
      ValueError: for a non-2-D array or fewer rows than splits.
    """
    logits = np.asarray(logits, dtype=np.float64)
    if logits.ndim != 2:
        raise ValueError(f"logits must be [N, K], got shape {logits.shape}")
    if num_splits < 1 or len(logits) < num_splits:
        raise ValueError(f"need at least num_splits={num_splits} rows, got {len(logits)}")
    log_probs = scipy.special.log_softmax(logits, axis=1)
    size = len(logits) // num_splits
    scores = []
    for index in range(num_splits):
        part = log_probs[index * size : (index + 1) * size]
        log_marginal = scipy.special.logsumexp(part, axis=0) - np.log(len(part))
        kl = np.sum(np.exp(part) * (part - log_marginal), axis=1)
        scores.append(np.exp(kl.mean()))
    return {"is": float(np.mean(scores)), "is_std": float(np.std(scores))}
