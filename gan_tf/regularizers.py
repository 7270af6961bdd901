"""Regularizers: the WGAN-GP gradient penalty, the R1 and R2 penalties, weight
clipping, historical averaging and the LeCam regularizer.

The penalties are pure functions; :data:`PENALTIES` registers each one under
the metric name it is logged as, with the config field that holds its weight.
The train step adds ``weight * penalty`` to the discriminator loss for every
penalty whose weight is non-zero, so a new penalty is one function and one
registry line (plus its weight field in :class:`gan_tf.config.TrainConfig`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import tensorflow as tf

__all__ = [
    "PENALTIES",
    "Penalty",
    "clip_weights",
    "gradient_penalty",
    "historical_averaging_penalty",
    "interpolate",
    "lecam_penalty",
    "r1_penalty",
    "r2_penalty",
    "update_running_average",
]


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


def r1_penalty(critic: Callable[[tf.Tensor], tf.Tensor], real: tf.Tensor) -> tf.Tensor:
    """The R1 penalty ``0.5 E[||grad_x D(x)||_2^2]`` on **real** data (Mescheder, Geiger &
    Nowozin, 2018, "Which Training Methods for GANs do actually Converge?", arXiv:1801.04406).

    Multiplied by the weight gamma this is the paper's ``gamma/2 E||grad D(x)||^2``
    (gamma = 10 in its experiments). It pushes the discriminator's gradient on the
    data towards zero, which makes the game locally convergent for any loss.

    Args:
      critic: maps a batch to logits ``[B, 1]`` (call it with ``training=True``).
      real: a batch of real examples, any shape ``[B, ...]``.

    Returns:
      Scalar float32 penalty.
    """
    real = tf.convert_to_tensor(real)
    with tf.GradientTape() as tape:
        tape.watch(real)
        scores = tf.cast(critic(real), tf.float32)
    gradients = tf.cast(tape.gradient(scores, real), tf.float32)
    axes = list(range(1, len(gradients.shape)))
    return 0.5 * tf.reduce_mean(tf.reduce_sum(tf.square(gradients), axis=axes))


def r2_penalty(critic: Callable[[tf.Tensor], tf.Tensor], fake: tf.Tensor) -> tf.Tensor:
    """The R2 penalty ``0.5 E[||grad_x D(x)||_2^2]`` on **generated** data (Mescheder et
    al., 2018; R3GAN, Huang et al., 2024, arXiv:2501.05441, uses R1 + R2 with one gamma).

    The same expression as :func:`r1_penalty` on the fake batch; its gradient reaches
    the discriminator only (the caller stops it at the fakes), so it penalises the
    critic's slope where the generator's samples are.
    """
    return r1_penalty(critic, tf.stop_gradient(fake))


def clip_weights(variables, clip_value: float) -> None:
    """Clips every variable to ``[-clip_value, clip_value]`` in place (WGAN, Arjovsky et al.,
    2017). Call it after **every** critic update, on every critic weight."""
    for variable in variables:
        variable.assign(tf.clip_by_value(variable, -clip_value, clip_value))


def lecam_penalty(
    real_logits: tf.Tensor, fake_logits: tf.Tensor, average_real: tf.Tensor, average_fake: tf.Tensor
) -> tf.Tensor:
    """The LeCam regularizer (Tseng, Jiang, Liu, Yang & Yang, 2021, "Regularizing
    Generative Adversarial Networks under Limited Data", arXiv:2104.03310):
    ``E[relu(D(x) - a_F)^2] + E[relu(a_R - D(G(z)))^2]``.

    ``a_R`` and ``a_F`` are moving averages of the discriminator's mean score on real
    and on generated data (kept by :class:`gan_tf.parts.LeCam`). Only scores that
    overshoot the *other* side's average are pulled back, so the discriminator cannot
    push real and fake scores apart without bound, as it does when it memorises a
    small training set; the paper bounds the result by a LeCam divergence. As in the
    authors' code, one-sided (``relu``), on raw scores (logits).

    Args:
      real_logits, fake_logits: the discriminator's scores ``[B, 1]``.
      average_real, average_fake: scalar moving averages of the mean scores.

    Returns:
      Scalar float32 penalty; 0 while every real score is at most ``a_F`` and every
      fake score at least ``a_R``.
    """
    real, fake = tf.cast(real_logits, tf.float32), tf.cast(fake_logits, tf.float32)
    return tf.reduce_mean(tf.square(tf.nn.relu(real - average_fake))) + tf.reduce_mean(
        tf.square(tf.nn.relu(average_real - fake))
    )


def historical_averaging_penalty(variables, averages) -> tf.Tensor:
    """Historical averaging (Salimans et al., 2016, "Improved Techniques for Training
    GANs", §3.3): ``sum_i ||theta_i - mean_{t' <= t} theta_i[t']||^2`` over a network's
    weights, the squared distance of the weights to their own running average.

    Added (times a weight) to each network's loss, it pulls the players back
    towards where they have been, which damps the orbits gradient descent can
    follow in a game. :func:`update_running_average` keeps the averages.

    Args:
      variables: the network's trainable variables.
      averages: float32 variables of the same shapes, the running averages.

    Returns:
      Scalar float32 penalty (0 when every weight equals its average).
    """
    return tf.add_n(
        [
            tf.reduce_sum(tf.square(tf.cast(variable, tf.float32) - tf.stop_gradient(average)))
            for variable, average in zip(variables, averages, strict=True)
        ]
    )


def update_running_average(averages, variables, count) -> None:
    """Folds the current weights into their running mean: ``average += (theta -
    average) / count``, where ``count`` is the number of weight values averaged
    after this one (the initial weights count as the first)."""
    count = tf.cast(count, tf.float32)
    for average, variable in zip(averages, variables, strict=True):
        average.assign_add((tf.cast(variable, tf.float32) - average) / count)


class Penalty(NamedTuple):
    """A discriminator penalty as the train step uses it.

    Attributes:
      weight_field: the :class:`~gan_tf.config.TrainConfig` field holding its weight.
      term: ``(critic, real, fake, draws) -> scalar``; ``draws`` gives the step's
        random numbers (``draws.uniform(shape)``, ``draws.normal(shape)``).
    """

    weight_field: str
    term: Callable[..., tf.Tensor]


def _gradient_penalty_term(critic, real, fake, draws):
    alpha = draws.uniform([tf.shape(real)[0]])
    return gradient_penalty(critic, real, tf.stop_gradient(fake), alpha)


def _r1_penalty_term(critic, real, fake, draws):
    del fake, draws
    return r1_penalty(critic, real)


def _r2_penalty_term(critic, real, fake, draws):
    del real, draws
    return r2_penalty(critic, fake)


# metric name -> penalty (applied in this order)
PENALTIES: dict[str, Penalty] = {
    "gradient_penalty": Penalty("gp_weight", _gradient_penalty_term),
    "r1_penalty": Penalty("r1_weight", _r1_penalty_term),
    "r2_penalty": Penalty("r2_weight", _r2_penalty_term),
}
