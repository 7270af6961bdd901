"""The description every GAN variant gives of itself."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import keras

__all__ = ["ModelSpec", "weight_init"]


def weight_init(seed: int | None = None) -> keras.initializers.Initializer:
    """N(0, 0.02), the initialisation of the DCGAN paper (Radford et al., 2015)."""
    return keras.initializers.RandomNormal(mean=0.0, stddev=0.02, seed=seed)


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """A GAN variant.

    Attributes:
      name: registry name, e.g. ``"dcgan"``.
      paper: the paper whose architecture and defaults are followed.
      defaults: hyper-parameters that differ from :class:`gan_tf.config.TrainConfig`'s
        generic defaults (e.g. ``{"learning_rate": 2e-4, "beta_1": 0.5}``).
      build_generator: ``(latent_dim, image_shape) -> keras.Model`` mapping
        ``[B, latent_dim]`` noise to ``[B, H, W, C]`` images in ``[-1, 1]``.
      build_discriminator: ``(image_shape) -> keras.Model`` mapping images to
        ``[B, 1]`` float32 logits (real = 1, fake = 0).
    """

    name: str
    paper: str
    defaults: dict[str, Any]
    build_generator: Callable[[int, tuple[int, int, int]], keras.Model]
    build_discriminator: Callable[[tuple[int, int, int]], keras.Model]
