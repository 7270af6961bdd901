"""Keras layers that several variants share.

:class:`MinibatchStddev` is the minibatch standard deviation of ProGAN (Karras,
Aila, Laine & Lehtinen, 2018, arXiv:1710.10196): the discriminator sees how much
the samples of a small group differ, so a generator that collapses is easy to
tell from real data. :class:`SelfAttention` is the self-attention block of SAGAN (Zhang, Goodfellow,
Metaxas & Odena, 2019, arXiv:1805.08318): every position attends to every other,
and the result is added back through a learned gate ``gamma`` that starts at 0,
so an untrained block is the identity and the network learns how much non-local
context to use.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers

from gan_tf.errors import ConfigError
from gan_tf.models.spec import weight_init

__all__ = ["MinibatchStddev", "SelfAttention", "attention_side"]


@keras.saving.register_keras_serializable(package="gan_tf")
class MinibatchStddev(layers.Layer):
    """Appends one feature map: the minibatch standard deviation of ProGAN.

    The batch is split into groups of ``group_size`` (member ``j`` of group ``k`` is
    example ``j * B / group_size + k``, as in the authors' code; the whole batch is
    one group when ``group_size`` does not divide it). For each group, the standard
    deviation over its members of every feature at every position
    (``sqrt(var + 1e-8)``), averaged over features and positions, is one number;
    it is broadcast to a ``[H, W, 1]`` map and concatenated to each member's
    features: ``[B, H, W, C]`` -> ``[B, H, W, C + 1]``.

    Args:
      group_size: members per group (ProGAN: 4).
    """

    def __init__(self, group_size: int = 4, **kwargs):
        super().__init__(**kwargs)
        self.group_size = int(group_size)

    def call(self, inputs):
        shape = tf.shape(inputs)
        batch = shape[0]
        group = tf.minimum(self.group_size, batch)
        group = tf.where(batch % group == 0, group, batch)
        x = tf.cast(inputs, tf.float32)
        grouped = tf.reshape(x, [group, batch // group, shape[1], shape[2], shape[3]])
        variance = tf.reduce_mean(tf.square(grouped - tf.reduce_mean(grouped, 0)), 0)
        spread = tf.reduce_mean(tf.sqrt(variance + 1e-8), axis=[1, 2, 3])  # [B / group]
        spread = tf.tile(spread[:, None, None, None], [group, shape[1], shape[2], 1])
        return tf.concat([inputs, tf.cast(spread, inputs.dtype)], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] + 1)

    def get_config(self):
        return {**super().get_config(), "group_size": self.group_size}


@keras.saving.register_keras_serializable(package="gan_tf")
class SelfAttention(layers.Layer):
    """SAGAN self-attention on ``[B, H, W, C]`` feature maps (same shape out).

    ``f = x Wf``, ``g = x Wg`` (C/8 channels each), ``h = x Wh`` (C/2), attention
    ``softmax(f g^T)`` over the ``H*W`` positions, ``o = (attention h) Wo`` (back to
    C), output ``x + gamma * o`` with ``gamma`` initialised to 0. The ``C/2`` value
    and the output projection follow BigGAN's version of the block; the logits and
    the softmax are computed in float32 under mixed precision.

    Args:
      spectral_norm: spectrally normalise the four 1x1 projections (discriminators
        that use spectral norm, as SAGAN does in both networks).
    """

    def __init__(self, spectral_norm: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.spectral_norm = spectral_norm

    def build(self, input_shape):
        channels = int(input_shape[-1])
        if channels < 8:
            raise ConfigError(
                f"self-attention needs at least 8 channels, got {channels}; put it at a "
                "side with more channels (arch attention=...)",
                "arch",
            )

        def projection(width, name):  # in the block's precision, whatever the global one
            conv = layers.Conv2D(
                width,
                1,
                use_bias=False,
                kernel_initializer=weight_init(),
                name=name,
                dtype=self.dtype_policy,
            )
            if not self.spectral_norm:
                return conv
            return layers.SpectralNormalization(conv, name=f"{name}_sn", dtype=self.dtype_policy)

        self.query = projection(channels // 8, "query")
        self.key = projection(channels // 8, "key")
        self.value = projection(channels // 2, "value")
        self.out = projection(channels, "out")
        for conv, width in ((self.query, channels), (self.key, channels), (self.value, channels)):
            conv.build(tuple(input_shape[:-1]) + (width,))
        self.out.build(tuple(input_shape[:-1]) + (channels // 2,))
        self.gamma = self.add_weight(name="gamma", shape=(), initializer="zeros")
        super().build(input_shape)

    def call(self, inputs, training=None):
        shape = tf.shape(inputs)
        positions = shape[1] * shape[2]

        def flat(tensor):
            return tf.reshape(tensor, [shape[0], positions, tensor.shape[-1]])

        query = flat(self.query(inputs, training=training))
        key = flat(self.key(inputs, training=training))
        value = flat(self.value(inputs, training=training))
        logits = tf.matmul(tf.cast(query, tf.float32), tf.cast(key, tf.float32), transpose_b=True)
        attention = tf.cast(tf.nn.softmax(logits, axis=-1), value.dtype)
        attended = tf.reshape(
            tf.matmul(attention, value), [shape[0], shape[1], shape[2], value.shape[-1]]
        )
        return inputs + tf.cast(self.gamma, inputs.dtype) * self.out(attended, training=training)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "spectral_norm": self.spectral_norm}


def attention_side(arch: dict, sides: list[int], network: str) -> int:
    """The feature-map side the ``attention`` knob asks for (0 = none).

    Raises:
      ConfigError: the side is not one of the network's feature-map ``sides``.
    """
    side = int(arch.get("attention", 0) or 0)
    if side and side not in sides:
        raise ConfigError(
            f"arch attention={side}: the {network} has no {side}x{side} feature maps; "
            f"choose one of {', '.join(map(str, sorted(set(sides))))} (0 = none)",
            "arch",
        )
    return side
