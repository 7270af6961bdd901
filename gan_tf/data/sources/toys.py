"""The 2-D Gaussian mixtures ``ring8`` and ``grid25`` (points, not images)."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from gan_tf.data.base import ImageDataset, Request, Source, pack
from gan_tf.errors import ConfigError

TOY_EXAMPLES = {"train": 100_000, "test": 10_000}  # PacGAN's fixed 100,000 training points
# Toy runs override the variants' image defaults: 2-D noise for 2-D data (as in the
# WGAN-GP authors' toy script) and larger batches of cheap points.
TOY_DEFAULTS = {"latent_dim": 2, "batch_size": 256}


def toy_modes(name: str) -> tuple[np.ndarray, float]:
    """The mode centres ``[K, 2]`` and the per-mode std of a toy mixture.

    As the PacGAN authors' code places them (Lin et al., 2018,
    ``synthetic_data_experiments/*/config.py``), equally likely: ``ring8``, 8
    Gaussians of std 0.01 at ``(cos 2 pi i / 8, sin 2 pi i / 8)`` (radius 1, as
    the Unrolled GAN authors' demo); ``grid25``, 25 Gaussians of std 0.05 on the
    grid {-4, -2, 0, 2, 4}^2 (also VEEGAN's).
    """
    if name == "ring8":
        angles = np.arange(8) * 2 * np.pi / 8
        return np.stack([np.cos(angles), np.sin(angles)], 1).astype(np.float32), 0.01
    if name == "grid25":
        axis = np.arange(-4, 5, 2, dtype=np.float32)
        return np.stack(np.meshgrid(axis, axis, indexing="ij"), -1).reshape(-1, 2), 0.05
    raise ConfigError(f"dataset '{name}' is not a toy; choose ring8 or grid25", "dataset")


class ToySource(Source):
    toy = True
    defaults = TOY_DEFAULTS

    def __init__(self, name: str):
        self.name = self.usage = name

    def image_shape(self, argument, image_size, data_dir=None):
        return (2,)

    def memory_bytes(self, argument, image_size, max_examples, split, data_dir=None):
        count = min(TOY_EXAMPLES[split], max_examples or TOY_EXAMPLES[split])
        return count * 2 * 4, count

    def load(self, argument, request: Request) -> ImageDataset:
        centers, std = toy_modes(self.name)
        split = request.split
        count = request.max_examples or TOY_EXAMPLES.get(split, TOY_EXAMPLES["test"])
        rng = np.random.default_rng(0 if split == "train" else 1)  # a fixed data set per split
        labels = rng.integers(len(centers), size=count).astype(np.int32)
        points = (centers[labels] + std * rng.standard_normal((count, 2))).astype(np.float32)
        examples = pack(tf.data.Dataset.from_tensor_slices((points, labels)), request.with_labels)
        source = f"generated: {len(centers)} Gaussians, std {std}"
        return ImageDataset(
            self.name, examples, (2,), count, len(centers), request.with_labels, source
        )


RING8, GRID25 = ToySource("ring8"), ToySource("grid25")
