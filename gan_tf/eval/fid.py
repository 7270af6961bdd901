"""Fréchet distance between Gaussians fitted to two feature sets (FID math).

Heusel et al., 2017, "GANs Trained by a Two Time-Scale Update Rule Converge to
a Local Nash Equilibrium". With InceptionV3 pool3 features this is FID; with
any other network's features it is a Fréchet distance *in that network's
feature space* and must be reported under a different name (the README uses
``FD-<dataset>-classifier``).
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.linalg

__all__ = ["feature_statistics", "frechet_distance", "frechet_distance_from_features"]


def _features(features, name: str) -> np.ndarray:
    array = np.asarray(features, dtype=np.float64)
    if array.ndim != 2 or len(array) < 2:
        raise ValueError(f"{name} must be [N, D] with N >= 2, got shape {array.shape}")
    return array


def feature_statistics(features) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``[D]`` and covariance ``[D, D]`` (unbiased, N-1) of ``[N, D]`` features."""
    array = _features(features, "features")
    return array.mean(axis=0), np.cov(array, rowvar=False)


def frechet_distance(mu1, sigma1, mu2, sigma2, *, eps: float = 1e-6) -> float:
    """Squared Fréchet (2-Wasserstein) distance between two Gaussians.

    ``d^2 = |mu1 - mu2|^2 + Tr(sigma1 + sigma2 - 2 (sigma1 sigma2)^(1/2))``, with
    the matrix square root from :func:`scipy.linalg.sqrtm`. When the product is
    near-singular (fewer samples than dimensions) ``eps`` is added to both
    diagonals; a numerically complex square root with a negligible imaginary
    part is replaced by its real part.

    Args:
      mu1, mu2: means, ``[D]``.
      sigma1, sigma2: covariances, ``[D, D]``.
      eps: diagonal offset used only when the product is singular (SciPy warns)
        or its square root is not finite.

    Returns:
      The distance, a float >= 0 (up to round-off).

    Raises:
      ValueError: mismatched shapes, or a square root with a large imaginary part.
    """
    mu1, mu2 = np.atleast_1d(mu1).astype(np.float64), np.atleast_1d(mu2).astype(np.float64)
    sigma1 = np.atleast_2d(sigma1).astype(np.float64)
    sigma2 = np.atleast_2d(sigma2).astype(np.float64)
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != mu1.shape * 2:
        raise ValueError(
            f"mismatched statistics: means {mu1.shape}, {mu2.shape}; "
            f"covariances {sigma1.shape}, {sigma2.shape}"
        )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", scipy.linalg.LinAlgWarning)
        covmean = scipy.linalg.sqrtm(sigma1 @ sigma2)
    if caught or not np.isfinite(covmean).all():  # singular product: offset the diagonals
        offset = np.eye(len(mu1)) * eps
        covmean = scipy.linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            largest = np.max(np.abs(covmean.imag))
            raise ValueError(f"matrix square root has a large imaginary part ({largest:.3g})")
        covmean = covmean.real
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean))


def frechet_distance_from_features(real_features, fake_features) -> float:
    """:func:`frechet_distance` between Gaussians fitted to two ``[N, D]`` feature sets."""
    real = _features(real_features, "real_features")
    fake = _features(fake_features, "fake_features")
    if real.shape[1] != fake.shape[1]:
        raise ValueError(f"feature sizes differ: {real.shape[1]} vs {fake.shape[1]}")
    return frechet_distance(*feature_statistics(real), *feature_statistics(fake))
