"""Kernel Inception Distance math: unbiased MMD^2 with a cubic polynomial kernel.

Bińkowski et al., 2018, "Demystifying MMD GANs". The kernel is
``k(x, y) = (x . y / D + 1) ** 3``; the unbiased estimator is averaged over
random subsets and its standard deviation over those subsets is reported.
"""

from __future__ import annotations

import numpy as np

__all__ = ["polynomial_kernel", "mmd2_unbiased", "kernel_distance"]


def polynomial_kernel(x, y, *, degree: int = 3, coef0: float = 1.0) -> np.ndarray:
    """``(x y^T / D + coef0) ** degree`` for ``[N, D]`` and ``[M, D]`` arrays."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    return (x @ y.T / x.shape[1] + coef0) ** degree


def mmd2_unbiased(x, y, *, degree: int = 3, coef0: float = 1.0) -> float:
    """Unbiased estimate of MMD^2 between the samples ``x`` ``[N, D]`` and ``y`` ``[M, D]``.

    Diagonal (self-similarity) terms are left out of the within-set means, so
    two samples of one distribution give values scattered around 0 (possibly
    slightly negative).
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n, m = len(x), len(y)
    if n < 2 or m < 2:
        raise ValueError(f"need at least 2 samples per set, got {n} and {m}")
    k_xx = polynomial_kernel(x, x, degree=degree, coef0=coef0)
    k_yy = polynomial_kernel(y, y, degree=degree, coef0=coef0)
    k_xy = polynomial_kernel(x, y, degree=degree, coef0=coef0)
    within_x = (k_xx.sum() - np.trace(k_xx)) / (n * (n - 1))
    within_y = (k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
    return float(within_x + within_y - 2.0 * k_xy.mean())


def kernel_distance(
    real_features,
    fake_features,
    *,
    num_subsets: int = 100,
    subset_size: int = 1000,
    seed: int = 0,
) -> dict[str, float]:
    """KID: mean and standard deviation of :func:`mmd2_unbiased` over random subsets.

    Each subset draws ``subset_size`` real and ``subset_size`` generated rows
    without replacement (capped at the smaller set's size).

    Args:
      real_features: ``[N, D]``.
      fake_features: ``[M, D]``.
      num_subsets: number of subsets (100 in the paper's reference code).
      subset_size: rows per subset (1000 there).
      seed: seed of the subset draws.

    Returns:
      ``{"kid": mean, "kid_std": standard deviation over subsets}``.

    Raises:
      ValueError: for mismatched feature sizes or fewer than 2 rows.
    """
    real = np.asarray(real_features, dtype=np.float64)
    fake = np.asarray(fake_features, dtype=np.float64)
    if real.ndim != 2 or fake.ndim != 2 or real.shape[1] != fake.shape[1]:
        raise ValueError(f"need [N, D] and [M, D] features, got {real.shape} and {fake.shape}")
    if num_subsets < 1:
        raise ValueError(f"num_subsets must be >= 1, got {num_subsets}")
    size = min(subset_size, len(real), len(fake))
    rng = np.random.default_rng(seed)
    values = [
        mmd2_unbiased(
            real[rng.choice(len(real), size, replace=False)],
            fake[rng.choice(len(fake), size, replace=False)],
        )
        for _ in range(num_subsets)
    ]
    return {"kid": float(np.mean(values)), "kid_std": float(np.std(values))}
