"""The MLP GAN of Goodfellow et al., 2014, "Generative Adversarial Nets".

Fully connected networks as in the common reference implementations: the
generator is Dense 256 -> 512 -> 1024 with LeakyReLU(0.2) (batch norm after the
2nd and 3rd) and a tanh output reshaped to the image; the discriminator is
Flatten -> 1024 -> 512 -> 256 with LeakyReLU(0.2) -> Dense(1) logits.

Training defaults: Adam(2e-4, beta_1=0.5) at batch 64, the DCGAN paper's optimizer
(Radford et al., 2015) at gan_tf's batch size, not this paper's: Goodfellow et al.
trained with mini-batch SGD with momentum; ``--optimizer=sgd --momentum=M`` trains
that way (a constant momentum; no SGD setting is measured here).

Architecture knob (``--arch=key=value``, :data:`ARCHITECTURE`): ``hidden_noise``,
the std of Gaussian noise added after every discriminator activation in training
mode (0 = none).
"""

from __future__ import annotations

import math

import keras
from keras import layers

from gan_tf.models.spec import ModelSpec, hidden_noise, spectral

__all__ = ["ARCHITECTURE", "SPEC", "build_discriminator", "build_generator"]

ARCHITECTURE = {"hidden_noise": 0.0}


def build_generator(
    latent_dim: int, image_shape: tuple[int, ...], arch: dict | None = None
) -> keras.Sequential:
    """Builds the MLP generator: ``[B, latent_dim]`` -> images in ``[-1, 1]``."""
    del arch  # no knobs
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


def build_discriminator(image_shape: tuple[int, ...], arch: dict | None = None) -> keras.Sequential:
    """Builds the MLP discriminator: images -> ``[B, 1]`` float32 logits.

    Args:
      image_shape: ``(H, W, C)``.
      arch: ``spectral_norm`` (every Dense layer), ``hidden_noise`` (the std of
        Gaussian noise after every hidden activation, training mode only) and
        ``dropout`` (after the noise; 0 = none).

    Raises:
      ConfigError: a negative ``hidden_noise``.
    """
    arch = arch or {}
    spectral_norm, dropout = arch.get("spectral_norm", False), arch.get("dropout", 0.0)
    noise = hidden_noise(arch)
    model = keras.Sequential([keras.Input(image_shape), layers.Flatten()], name="discriminator")
    for units in (1024, 512, 256):
        model.add(spectral(layers.Dense(units), spectral_norm))
        model.add(layers.LeakyReLU(0.2))
        if noise:
            model.add(layers.GaussianNoise(noise))
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
    architecture=ARCHITECTURE,
)
