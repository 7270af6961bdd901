"""Regularizers that keep a discriminator (critic) Lipschitz: gradient penalty, clipping."""

from __future__ import annotations

from collections.abc import Callable

import tensorflow as tf

__all__ = ["clip_weights", "gradient_penalty", "interpolate"]


def interpolate(real: tf.Tensor, fake: tf.Tensor, alpha: tf.Tensor) -> tf.Tensor:
    """``alpha * real + (1 - alpha) * fake`` with one ``alpha`` per example.

    Args:
      real, fake: tensors of the same shape ``[B, ...]``.
      alpha: ``[B]`` factors in ``[0, 1]``; broadcast over all other axes.
    """
    alpha = tf.reshape(tf.cast(alpha, real.dtype), [-1] + [1] * (len(real.shape) - 1))
    return alpha * real + (1.0 - alpha) * tf.cast(fake, real.dtype)


def gradient_penalty(
    critic: Callable[[tf.Tensor], tf.Tensor],
    real: tf.Tensor,
    fake: tf.Tensor,
    alpha: tf.Tensor,
    epsilon: float = 1e-12,
) -> tf.Tensor:
    """The WGAN-GP penalty ``E[(||grad_x D(x_hat)||_2 - 1)^2]`` (Gulrajani et al., 2017).

    ``x_hat`` interpolates real and fake per example with ``alpha`` drawn uniform
    in ``[0, 1)`` by the caller (shape ``[B]``). The norm is taken over every
    non-batch axis, so any channel count or a 2-D point works, and ``epsilon``
    sits inside the square root so the gradient stays finite when the input
    gradient is zero (e.g. real == fake for a constant critic).

    Args:
      critic: maps a batch to scores ``[B, 1]`` (call it with ``training=True``).
      real, fake: batches of the same shape.
      alpha: ``[B]`` interpolation factors.
      epsilon: added to the squared norm before the square root.

    Returns:
      Scalar float32 penalty (multiply by the penalty weight, 10 in the paper).
    """
    mixed = interpolate(real, fake, alpha)
    with tf.GradientTape() as tape:
        tape.watch(mixed)
        scores = tf.cast(critic(mixed), tf.float32)
    gradients = tf.cast(tape.gradient(scores, mixed), tf.float32)
    axes = list(range(1, len(gradients.shape)))
    norms = tf.sqrt(tf.reduce_sum(tf.square(gradients), axis=axes) + epsilon)
    return tf.reduce_mean(tf.square(norms - 1.0))


def clip_weights(variables, clip_value: float) -> None:
    """Clips every variable to ``[-clip_value, clip_value]`` in place (WGAN, Arjovsky et al.,
    2017). Call it after **every** critic update, on every critic weight."""
    for variable in variables:
        variable.assign(tf.clip_by_value(variable, -clip_value, clip_value))
