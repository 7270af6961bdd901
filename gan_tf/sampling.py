"""Noise and samples: the fixed noise of the epoch grids, class layouts, seeded sampling."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from gan_tf import visualize
from gan_tf.errors import ConfigError
from gan_tf.gan import latent_noise

__all__ = [
    "class_cycle",
    "class_rows",
    "class_shares",
    "epoch_grid_inputs",
    "fixed_noise",
    "generate_images",
]

GRID_NOISE_SEED = 0x5EED  # stateless seed (with the run's seed) of the epoch grids


def fixed_noise(seed: int, latent_dim: int, count: int, distribution: str = "normal") -> tf.Tensor:
    """The noise behind every epoch picture of a run with ``seed``: the same for the
    whole run and after resume (``distribution``: the run's ``latent_distribution``)."""
    normal = tf.random.stateless_normal([count, latent_dim], seed=[seed, GRID_NOISE_SEED])
    return latent_noise(normal, distribution)


def class_rows(noise, num_classes: int) -> tuple[tf.Tensor, tf.Tensor]:
    """Inputs of a class-row grid: ``noise`` ``[columns, latent_dim]`` repeated once per
    class, and labels ``[num_classes * columns]`` (row ``k`` is class ``k``)."""
    return tf.tile(noise, [num_classes, 1]), tf.repeat(tf.range(num_classes), noise.shape[0])


def epoch_grid_inputs(
    seed: int,
    latent_dim: int,
    grid_size: int,
    num_classes: int | None = None,
    distribution: str = "normal",
) -> tuple[tf.Tensor, tf.Tensor | None]:
    """The noise (and labels) of a run's epoch grids: ``grid_size**2`` fixed noise
    vectors, or for conditional runs one row per class with the same ``grid_size``
    noise vectors down each column."""
    if num_classes:
        return class_rows(fixed_noise(seed, latent_dim, grid_size, distribution), num_classes)
    return fixed_noise(seed, latent_dim, grid_size**2, distribution), None


def class_cycle(num: int, num_classes: int) -> np.ndarray:
    """Labels ``0, 1, ..., K-1, 0, 1, ...`` for ``num`` conditional samples (equal shares)."""
    return (np.arange(num) % num_classes).astype(np.int32)


def class_shares(num: int, counts) -> np.ndarray:
    """Labels for ``num`` conditional samples in proportion to ``counts`` (e.g. the real
    reference's class histogram), so a conditional run is compared with real data of
    the same class mix. Largest-remainder rounding; classes interleaved round-robin, so
    equal counts give exactly :func:`class_cycle`."""
    counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim != 1 or counts.sum() <= 0 or (counts < 0).any():
        raise ConfigError(f"class counts must be non-negative with a positive sum, got {counts}")
    exact = num * counts / counts.sum()
    quota = np.floor(exact).astype(np.int64)
    remainder_order = np.argsort(-(exact - quota), kind="stable")
    quota[remainder_order[: num - int(quota.sum())]] += 1
    labels, left = [], quota.copy()
    while len(labels) < num:
        for label in np.flatnonzero(left):
            labels.append(label)
        left = np.maximum(left - 1, 0)
    return np.asarray(labels[:num], dtype=np.int32)


def generate_images(
    generator: keras.Model,
    num: int,
    latent_dim: int,
    *,
    seed: int = 0,
    batch_size: int = 500,
    labels=None,
    distribution: str = "normal",
) -> np.ndarray:
    """Generates ``num`` samples from seeded noise (standard normal, or uniform in
    [-1, 1] with ``distribution="uniform"``, the run's ``latent_distribution``).

    Args:
      generator: a run's generator (see :func:`gan_tf.rundir.restore_generator`).
      num: how many samples.
      latent_dim: the noise size.
      seed: seed of the noise; the same seed gives the same samples.
      batch_size: samples per forward pass.
      labels: int ``[num]`` class ids, required by conditional generators.
      distribution: ``"normal"`` or ``"uniform"`` (:func:`gan_tf.gan.latent_noise`).

    Returns:
      uint8 NHWC images for image generators; float32 points for 2-D toys.

    Raises:
      ConfigError: ``num`` or ``batch_size`` below 1.
    """
    if num < 1:
        raise ConfigError(f"num must be a positive integer, got {num}", "num")
    if batch_size < 1:
        raise ConfigError(f"batch_size must be a positive integer, got {batch_size}", "batch_size")
    all_noise = latent_noise(  # one draw:
        tf.random.Generator.from_seed(seed).normal([num, latent_dim]), distribution
    )
    parts = []  # the samples do not depend on batch_size
    for start in range(0, num, batch_size):
        noise = all_noise[start : start + batch_size]
        if labels is None:
            inputs = noise
        else:
            inputs = [noise, tf.constant(labels[start : start + len(noise)], tf.int32)]
        samples = generator(inputs, training=False).numpy()
        parts.append(visualize.to_uint8(samples) if samples.ndim == 4 else samples)
    return np.concatenate(parts)
