"""Conditional GAN: Mirza & Osindero, 2014 (arXiv:1411.1784), on DCGAN networks.

The generator gets ``concat(z, one_hot(label))``. The discriminator gets the
image with ``num_classes`` one-hot **label planes** concatenated as extra
channels (for 2-D toy points: the one-hot vector concatenated to the point).

Why label planes rather than a projection discriminator (Miyato & Koyama,
2018): the label reaches the very first convolution, so the DCGAN discriminator
body, every loss and every regularizer work unchanged, and on the small
datasets here (10 classes) it trains as reliably; projection pays off with many
classes (ImageNet), which this family does not target.
"""

from __future__ import annotations

import keras
from keras import layers, ops

from gan_tf.models import dcgan
from gan_tf.models.spec import ModelSpec

__all__ = ["SPEC", "LabelPlanes", "build_discriminator", "build_generator"]


def _one_hot(labels, num_classes):
    return ops.one_hot(ops.cast(ops.reshape(labels, [-1]), "int32"), num_classes)


@keras.saving.register_keras_serializable(package="gan_tf")
class LabelPlanes(layers.Layer):
    """Concatenates one-hot label planes to images ``[B, H, W, C]`` -> ``[B, H, W, C + K]``
    (or the one-hot vector to points ``[B, D]`` -> ``[B, D + K]``)."""

    def __init__(self, num_classes: int, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = num_classes

    def call(self, inputs):
        samples, labels = inputs
        one_hot = ops.cast(_one_hot(labels, self.num_classes), samples.dtype)
        if len(samples.shape) == 4:
            height, width = samples.shape[1], samples.shape[2]
            one_hot = ops.tile(one_hot[:, None, None, :], [1, height, width, 1])
        return ops.concatenate([samples, one_hot], axis=-1)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes}


def build_generator(latent_dim: int, shape: tuple[int, ...], *, num_classes: int) -> keras.Model:
    """``[noise [B, latent_dim], labels [B]]`` -> samples of the labels' classes.

    Built from stock Keras layers only (the one-hot is ``CategoryEncoding``), so
    an exported generator loads without gan_tf. The body after the
    ``Concatenate`` takes ``[noise, class weights]``: soft weights mix classes
    (see :func:`gan_tf.animation.class_morph`)."""
    noise = keras.Input((latent_dim,), name="noise")
    labels = keras.Input((), dtype="int32", name="labels")
    one_hot = layers.CategoryEncoding(num_classes, output_mode="one_hot", name="one_hot")(labels)
    inputs = layers.Concatenate(name="noise_and_class")([noise, one_hot])
    body = dcgan.build_generator(latent_dim + num_classes, shape)
    return keras.Model([noise, labels], body(inputs), name="generator")


def build_discriminator(
    shape: tuple[int, ...],
    *,
    num_classes: int,
    spectral_norm: bool = False,
    dropout: float = 0.0,
) -> keras.Model:
    """``[samples, labels [B]]`` -> ``[B, 1]`` float32 logits."""
    samples = keras.Input(shape, name="samples")
    labels = keras.Input((), dtype="int32", name="labels")
    joined = LabelPlanes(num_classes)([samples, labels])
    body_shape = (*shape[:-1], shape[-1] + num_classes)
    body = dcgan.build_discriminator(body_shape, spectral_norm=spectral_norm, dropout=dropout)
    return keras.Model([samples, labels], body(joined), name="discriminator")


SPEC = ModelSpec(
    name="cgan",
    paper="Mirza & Osindero, 2014, Conditional Generative Adversarial Nets (arXiv:1411.1784); "
    "DCGAN networks and defaults (Radford et al., 2015)",
    defaults={"batch_size": 64, "learning_rate": 2e-4, "beta_1": 0.5},
    build_generator=build_generator,
    build_discriminator=build_discriminator,
    conditional=True,
)
