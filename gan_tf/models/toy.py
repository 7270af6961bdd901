"""Small MLPs for 2-D toy data (ring8, grid25): every variant uses them for vector data.

Generator: 3 x Dense(128) + ReLU, then a linear Dense to the point (no tanh: the
toy mixtures live in [-4, 4]). Discriminator: 3 x Dense(128) + LeakyReLU(0.2)
(layer-normalised when the variant's ``norm`` knob is ``layer``, spectrally
normalised or with dropout when asked), then, with the variant's
``minibatch_discrimination`` knob (DCGAN's), a minibatch discrimination layer
(Salimans et al., 2016) -> Dense(1). These follow the 2-D
experiments of Metz et al., 2016 (Unrolled GANs) and Gulrajani et al., 2017 (WGAN-GP).
"""

from __future__ import annotations

import keras
from keras import layers

from gan_tf.models.layers import add_minibatch_discrimination
from gan_tf.models.spec import spectral

__all__ = ["build_discriminator", "build_generator"]

_WIDTH = 128


def build_generator(latent_dim: int, shape: tuple[int], arch: dict) -> keras.Sequential:
    """``[B, latent_dim]`` -> ``[B, *shape]`` points (linear output)."""
    del arch  # the toy MLP has no knobs
    model = keras.Sequential([keras.Input((latent_dim,))], name="generator")
    for _ in range(3):
        model.add(layers.Dense(_WIDTH))
        model.add(layers.ReLU())
    model.add(layers.Dense(shape[0], dtype="float32"))
    return model


def build_discriminator(shape: tuple[int], arch: dict) -> keras.Sequential:
    """``[B, *shape]`` points -> ``[B, 1]`` float32 logits.

    ``arch``: ``spectral_norm``, ``dropout``, the variant's ``norm`` (``layer``
    keeps layer norm, as WGAN-GP critics need; anything else means none) and
    ``minibatch_discrimination`` (kernels; 0 = none).
    """
    spectral_norm, dropout = arch.get("spectral_norm", False), arch.get("dropout", 0.0)
    model = keras.Sequential([keras.Input(shape)], name="discriminator")
    for _ in range(3):
        model.add(spectral(layers.Dense(_WIDTH), spectral_norm))
        if arch.get("norm") == "layer":
            model.add(layers.LayerNormalization())
        model.add(layers.LeakyReLU(0.2))
        if dropout:
            model.add(layers.Dropout(dropout))
    add_minibatch_discrimination(model, arch)
    model.add(spectral(layers.Dense(1, dtype="float32"), spectral_norm))
    return model
