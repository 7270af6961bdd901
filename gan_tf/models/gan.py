"""The MLP GAN of Goodfellow et al., 2014, "Generative Adversarial Nets".

Fully connected networks as in the common reference implementations: the
generator is Dense 256 -> 512 -> 1024 with LeakyReLU(0.2) (batch norm after the
2nd and 3rd) and a tanh output reshaped to the image; the discriminator is
Flatten -> 1024 -> 512 -> 256 with LeakyReLU(0.2) -> Dense(1) logits.
"""

from __future__ import annotations

import math

import keras
from keras import layers

from gan_tf.models import toy
from gan_tf.models.spec import ModelSpec, is_vector, spectral

__all__ = ["SPEC", "build_discriminator", "build_generator"]


def build_generator(latent_dim: int, image_shape: tuple[int, ...]) -> keras.Sequential:
    """Builds the MLP generator: ``[B, latent_dim]`` -> images in ``[-1, 1]``."""
    if is_vector(image_shape):
        return toy.build_generator(latent_dim, image_shape)
    return keras.Sequential(
        [
            keras.Input((latent_dim,)),
            layers.Dense(256),
            layers.LeakyReLU(0.2),
            layers.Dense(512),
            layers.BatchNormalization(),
            layers.LeakyReLU(0.2),
            layers.Dense(1024),
            layers.BatchNormalization(),
            layers.LeakyReLU(0.2),
            layers.Dense(math.prod(image_shape)),
            layers.Activation("tanh", dtype="float32"),
            layers.Reshape(image_shape),
        ],
        name="generator",
    )


def build_discriminator(
    image_shape: tuple[int, ...], *, spectral_norm: bool = False, dropout: float = 0.0
) -> keras.Sequential:
    """Builds the MLP discriminator: images -> ``[B, 1]`` float32 logits.

    Args:
      image_shape: ``(H, W, C)`` (or ``(2,)`` for toy points: the toy MLP).
      spectral_norm: spectrally normalise every Dense layer.
      dropout: dropout rate after every hidden activation (0 = none).
    """
    if is_vector(image_shape):
        return toy.build_discriminator(image_shape, spectral_norm=spectral_norm, dropout=dropout)
    model = keras.Sequential([keras.Input(image_shape), layers.Flatten()], name="discriminator")
    for units in (1024, 512, 256):
        model.add(spectral(layers.Dense(units), spectral_norm))
        model.add(layers.LeakyReLU(0.2))
        if dropout:
            model.add(layers.Dropout(dropout))
    model.add(spectral(layers.Dense(1, dtype="float32"), spectral_norm))
    return model


SPEC = ModelSpec(
    name="gan",
    paper="Goodfellow et al., 2014, Generative Adversarial Nets (arXiv:1406.2661)",
    defaults={"batch_size": 64, "learning_rate": 2e-4, "beta_1": 0.5},
    build_generator=build_generator,
    build_discriminator=build_discriminator,
)
