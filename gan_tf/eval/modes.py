"""Mode coverage on mixtures of Gaussians (the 2-D toys)."""

from __future__ import annotations

import numpy as np

__all__ = ["toy_mode_metrics"]


def toy_mode_metrics(
    samples, centers, std: float, *, threshold: float = 3.0, min_count: int = 20
) -> dict[str, float]:
    """Modes covered and high-quality share of samples from a Gaussian mixture.

    A sample is *high quality* when it lies within ``threshold`` standard
    deviations of its nearest mode centre; a mode is *covered* when at least
    ``min_count`` high-quality samples fall on it (the protocol of Metz et al.,
    2016 and Srivastava et al., 2017, VEEGAN). Use 2,500 samples for the
    8- and 25-mode toys.

    Args:
      samples: ``[N, D]`` generated points.
      centers: ``[K, D]`` mode centres.
      std: the per-mode standard deviation.
      threshold: distance, in standard deviations, of a high-quality sample.
      min_count: high-quality samples a mode needs to count as covered.

    Returns:
      ``{"modes_covered": int in [0, K], "high_quality": share in [0, 1]}``.

    Raises:
      ValueError: for empty or mismatched arrays.
    """
    samples = np.asarray(samples, dtype=np.float64)
    centers = np.asarray(centers, dtype=np.float64)
    if samples.ndim != 2 or centers.ndim != 2 or samples.shape[1] != centers.shape[1]:
        raise ValueError(
            f"need [N, D] samples and [K, D] centres, got {samples.shape}, {centers.shape}"
        )
    if len(samples) == 0:
        raise ValueError("no samples")
    distances = np.linalg.norm(samples[:, None, :] - centers[None, :, :], axis=-1)
    nearest = distances.argmin(axis=1)
    good = distances[np.arange(len(samples)), nearest] <= threshold * std
    counts = np.bincount(nearest[good], minlength=len(centers))
    return {"modes_covered": int((counts >= min_count).sum()), "high_quality": float(good.mean())}
