"""Mode coverage as the PacGAN and VEEGAN authors measure it: on mixtures of Gaussians
(the 2-D toys) and on Stacked MNIST."""

from __future__ import annotations

import numpy as np

__all__ = ["mode_histogram_kl", "stacked_mode_metrics", "toy_mode_metrics"]


def mode_histogram_kl(counts) -> float:
    """``KL(p || uniform)`` in nats of the histogram ``counts`` over ``K`` modes:
    ``sum_k p_k log(K p_k)`` over the non-empty modes (no smoothing), 0 for an even
    spread, ``log K`` when one mode holds everything; NaN when ``counts`` is empty.
    The "reverse KL" of PacGAN (Lin et al., 2018) and the Stacked-MNIST KL of
    VEEGAN and PacGAN (their code: ``sum p log(p / (1 / K))``).
    """
    counts = np.asarray(counts, dtype=np.float64)
    total = counts.sum()
    if total == 0:
        return float("nan")
    shares = counts[counts > 0] / total
    return float(np.sum(shares * np.log(shares * len(counts))))


def toy_mode_metrics(
    samples, centers, std: float, *, threshold: float = 3.0, min_count: int = 1
) -> dict[str, float]:
    """Modes covered, high-quality share and reverse KL of samples from a Gaussian mixture.

    The protocol of the PacGAN authors' code (Lin et al., 2018,
    ``pacgan/extensions.py`` ``MetricLogger``), which VEEGAN's (Srivastava et al.,
    2017) states the same way: a sample is *high quality* when it lies less than
    ``threshold`` standard deviations from its nearest mode centre; a mode is
    *covered* when at least ``min_count`` (1) high-quality samples fall on it; the
    reverse KL is :func:`mode_histogram_kl` of the high-quality samples' modes. Both
    papers score 2,500 samples.

    Args:
      samples: ``[N, D]`` generated points.
      centers: ``[K, D]`` mode centres.
      std: the per-mode standard deviation.
      threshold: distance, in standard deviations, of a high-quality sample.
      min_count: high-quality samples a mode needs to count as covered.

    Returns:
      ``{"modes_covered": int in [0, K], "high_quality": share in [0, 1],
      "reverse_kl": nats in [0, log K], NaN without high-quality samples}``.

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
    good = distances[np.arange(len(samples)), nearest] < threshold * std
    counts = np.bincount(nearest[good], minlength=len(centers))
    return {
        "modes_covered": int((counts >= min_count).sum()),
        "high_quality": float(good.mean()),
        "reverse_kl": mode_histogram_kl(counts),
    }


def stacked_mode_metrics(digits, *, channels: int = 3) -> dict[str, float]:
    """Stacked-MNIST modes covered and KL, from each sample's classified digits.

    The protocol of the PacGAN authors' code (Lin et al., 2018,
    ``stacked_MNIST_experiments/*/model.py``), after VEEGAN (Srivastava et al., 2017):
    each channel is classified by an MNIST classifier (argmax, no threshold), the
    ordered digits form the mode (1,000 for three channels), a mode is covered by one
    sample, and the KL is :func:`mode_histogram_kl` of the modes over all samples.
    Both papers score 26,000 samples.

    Args:
      digits: int ``[N, channels]`` digits in ``[0, 10)``, channel 0 first.
      channels: digits per sample.

    Returns:
      ``{"modes_covered": int in [0, 10**channels], "mode_kl": nats in
      [0, channels * log 10]}``.

    Raises:
      ValueError: for an empty array, another shape or a digit outside ``[0, 10)``.
    """
    digits = np.asarray(digits)
    if digits.ndim != 2 or digits.shape[1] != channels or len(digits) == 0:
        raise ValueError(f"need [N, {channels}] digits with N >= 1, got shape {digits.shape}")
    if digits.min() < 0 or digits.max() > 9:
        raise ValueError(f"digits must lie in [0, 10), got {digits.min()}..{digits.max()}")
    modes = digits.astype(np.int64) @ (10 ** np.arange(channels - 1, -1, -1))
    counts = np.bincount(modes, minlength=10**channels)
    return {"modes_covered": int((counts > 0).sum()), "mode_kl": mode_histogram_kl(counts)}
