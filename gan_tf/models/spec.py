"""The description every GAN variant gives of itself."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import keras

__all__ = ["ModelSpec", "is_vector", "spectral", "weight_init"]


def weight_init(seed: int | None = None) -> keras.initializers.Initializer:
    """N(0, 0.02), the initialisation of the DCGAN paper (Radford et al., 2015)."""
    return keras.initializers.RandomNormal(mean=0.0, stddev=0.02, seed=seed)


def spectral(layer: keras.layers.Layer, enabled: bool) -> keras.layers.Layer:
    """Wraps ``layer`` in spectral normalisation (Miyato et al., 2018) when ``enabled``."""
    return keras.layers.SpectralNormalization(layer) if enabled else layer


def is_vector(shape) -> bool:
    """True for 1-D examples (the 2-D toy mixtures), which every variant models with MLPs."""
    return len(shape) == 1


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """A GAN variant.

    Attributes:
      name: registry name, e.g. ``"dcgan"``.
      paper: the paper whose architecture and defaults are followed.
      defaults: hyper-parameters that differ from :class:`gan_tf.config.TrainConfig`'s
        generic defaults (e.g. ``{"learning_rate": 2e-4, "beta_1": 0.5}``).
      build_generator: ``(latent_dim, shape, **kw) -> keras.Model`` mapping
        ``[B, latent_dim]`` noise to ``[B, *shape]`` samples (images in ``[-1, 1]``).
      build_discriminator: ``(shape, *, spectral_norm=False, dropout=0.0, **kw) ->
        keras.Model`` mapping samples to ``[B, 1]`` float32 logits (real = 1, fake = 0).
      conditional: the builders take ``num_classes=`` and the models take
        ``[inputs, int labels]``; the data must have labels.
    """

    name: str
    paper: str
    defaults: dict[str, Any]
    build_generator: Callable[..., keras.Model]
    build_discriminator: Callable[..., keras.Model]
    conditional: bool = False
