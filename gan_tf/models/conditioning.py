"""Label conditioning for any variant (Mirza & Osindero, 2014): wraps an unconditional
generator/discriminator builder into networks that take ``[inputs, int labels]``.

The generator gets ``concat(z, one_hot(label))``. The discriminator gets the
image with ``num_classes`` one-hot **label planes** concatenated as extra
channels (for 2-D toy points: the one-hot vector concatenated to the point).

Why label planes rather than a projection discriminator (Miyato & Koyama,
2018): the label reaches the very first layer, so every discriminator body,
loss and regularizer works unchanged, and on the small datasets here (10
classes) it trains as reliably; projection pays off with many classes.
"""

from __future__ import annotations

import keras
from keras import layers, ops

__all__ = ["LabelPlanes", "conditional_discriminator", "conditional_generator"]


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


def conditional_generator(body: keras.Model, latent_dim: int, num_classes: int) -> keras.Model:
    """``[noise [B, latent_dim], labels [B]]`` -> samples of the labels' classes.

    ``body`` maps ``[B, latent_dim + num_classes]`` to samples. Built from stock
    Keras layers only (the one-hot is ``CategoryEncoding``), so an exported
    generator loads without gan_tf. The body after the ``Concatenate`` takes
    ``[noise, class weights]``: soft weights mix classes (see
    :func:`gan_tf.animation.class_morph`)."""
    noise = keras.Input((latent_dim,), name="noise")
    labels = keras.Input((), dtype="int32", name="labels")
    one_hot = layers.CategoryEncoding(num_classes, output_mode="one_hot", name="one_hot")(labels)
    inputs = layers.Concatenate(name="noise_and_class")([noise, one_hot])
    return keras.Model([noise, labels], body(inputs), name="generator")


def conditional_discriminator(
    body: keras.Model, shape: tuple[int, ...], num_classes: int
) -> keras.Model:
    """``[samples, labels [B]]`` -> ``[B, 1]`` float32 logits; ``body`` takes samples
    of ``shape`` with ``num_classes`` extra channels (label planes)."""
    samples = keras.Input(shape, name="samples")
    labels = keras.Input((), dtype="int32", name="labels")
    joined = LabelPlanes(num_classes)([samples, labels])
    return keras.Model([samples, labels], body(joined), name="discriminator")


def body_shape(shape: tuple[int, ...], num_classes: int) -> tuple[int, ...]:
    """The input shape of a conditional discriminator's body: ``num_classes`` more channels."""
    return (*shape[:-1], shape[-1] + num_classes)
