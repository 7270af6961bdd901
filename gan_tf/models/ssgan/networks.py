"""The semi-supervised GAN's networks (Salimans et al., 2016, §5, the authors' MNIST
code): the generator, the K+1-way classifier discriminator whose ``[B, 1]`` real/fake
logit is the ``logsumexp`` of its ``class_logits`` (:class:`RealLogit`), and
:func:`classifier`, the K-way classifier inside it. :mod:`gan_tf.models.ssgan`
describes both networks.
"""

from __future__ import annotations

import math

import keras
import tensorflow as tf
from keras import layers

from gan_tf.errors import ConfigError
from gan_tf.models.layers import WeightNormDense

__all__ = [
    "ARCHITECTURE",
    "RealLogit",
    "build_discriminator",
    "build_generator",
    "classifier",
]

ARCHITECTURE = {"widths": "1000-500-250-250-250", "input_noise": 0.3, "hidden_noise": 0.5}


@keras.saving.register_keras_serializable(package="gan_tf")
class RealLogit(layers.Layer):
    """``[B, K]`` class logits -> ``[B, 1]`` float32 real/fake logit ``logsumexp_k l_k``
    (the K+1-th, generated, class has logit 0, so ``sigmoid`` of this is
    ``P(real) = Z / (Z + 1)``)."""

    def call(self, inputs):
        return tf.reduce_logsumexp(tf.cast(inputs, tf.float32), axis=-1, keepdims=True)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 1)


def _widths(arch: dict) -> list[int]:
    text = str(arch.get("widths", ARCHITECTURE["widths"]))
    try:
        widths = [int(part) for part in text.split("-")]
    except ValueError:
        widths = []
    if not widths or min(widths) < 1:
        raise ConfigError(
            f"arch widths must be positive integers joined by '-' (e.g. 1000-500-250), got "
            f"'{text}'",
            "arch",
        )
    return widths


def build_generator(
    latent_dim: int, image_shape: tuple[int, ...], arch: dict | None = None
) -> keras.Sequential:
    """The generator: ``[B, latent_dim]`` noise -> images in ``[-1, 1]``."""
    del arch
    return keras.Sequential(
        [
            keras.Input((latent_dim,)),
            layers.Dense(500, use_bias=False),
            layers.BatchNormalization(),
            layers.Activation("softplus"),
            layers.Dense(500, use_bias=False),
            layers.BatchNormalization(),
            layers.Activation("softplus"),
            WeightNormDense(math.prod(image_shape), train_scale=True),
            layers.Activation("tanh", dtype="float32"),
            layers.Reshape(image_shape),
        ],
        name="generator",
    )


def build_discriminator(image_shape: tuple[int, ...], arch: dict) -> keras.Sequential:
    """The K+1-way classifier discriminator: images -> ``[B, 1]`` float32 logits
    ``logsumexp`` of its layer ``class_logits`` (``[B, K]``).

    Args:
      image_shape: ``(H, W, C)``.
      arch: :data:`ARCHITECTURE` knobs plus ``num_classes`` (K, set by the registry)
        and the generic ``spectral_norm`` and ``dropout``.

    Raises:
      ConfigError: no ``num_classes`` or bad ``widths``.
    """
    num_classes = arch.get("num_classes")
    if not num_classes:
        raise ConfigError("the semi-supervised discriminator needs num_classes", "model")
    widths = _widths(arch)
    dropout = arch.get("dropout", 0.0)
    spectral_norm = arch.get("spectral_norm", False)

    def dense(units, train_scale=False, **kwargs):
        if spectral_norm:  # spectral instead of weight normalisation
            return layers.SpectralNormalization(layers.Dense(units, **kwargs))
        return WeightNormDense(units, train_scale=train_scale, **kwargs)

    model = keras.Sequential(name="discriminator")
    model.add(keras.Input(image_shape))
    model.add(layers.Flatten())
    model.add(layers.GaussianNoise(float(arch.get("input_noise", 0.3))))
    for index, units in enumerate(widths):
        last = index == len(widths) - 1
        model.add(dense(units, activation="relu", name="features" if last else None))
        model.add(layers.GaussianNoise(float(arch.get("hidden_noise", 0.5))))
        if dropout:
            model.add(layers.Dropout(dropout))
    model.add(dense(num_classes, train_scale=True, name="class_logits"))
    model.add(RealLogit(name="real_logit", dtype="float32"))
    return model


def classifier(discriminator: keras.Model) -> keras.Model:
    """The K-way classifier inside a semi-supervised discriminator: images -> ``[B, K]``
    class logits (the ``class_logits`` layer), sharing its weights.

    Raises:
      ConfigError: the discriminator has no ``class_logits`` layer.
    """
    try:
        output = discriminator.get_layer("class_logits").output
    except ValueError:
        raise ConfigError(
            "this discriminator has no class_logits layer; it is not a semi-supervised one",
            "model",
        ) from None
    return keras.Model(discriminator.inputs, output, name="classifier")
