"""GAN losses as pure functions on discriminator logits.

Conventions used everywhere in gan_tf:

* Discriminators return **logits** of shape ``[batch, 1]`` (no sigmoid).
* Real = 1, fake = 0.
* Arguments are keyword-only (``real_logits=``, ``fake_logits=``) so real and
  fake can never be swapped by position.
* Every loss is a float32 scalar: the mean over the batch it was given.

A loss *name* selects a (generator loss, discriminator loss) pair from
:data:`LOSSES`; :func:`get_loss` looks one up.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import tensorflow as tf

__all__ = [
    "LOSSES",
    "LossPair",
    "bce_discriminator_loss",
    "get_loss",
    "minimax_generator_loss",
    "non_saturating_generator_loss",
]


def _float32(logits):
    return tf.cast(logits, tf.float32)


def minimax_generator_loss(*, fake_logits: tf.Tensor) -> tf.Tensor:
    """The generator loss of the original minimax game (Goodfellow et al., 2014).

    The generator minimises ``E[log(1 - D(G(z)))]``. With ``D = sigmoid(logits)``,
    ``log(1 - sigmoid(x)) = -softplus(x)``, which is what is computed (stable for
    any logit). It saturates when D confidently rejects fakes, which is why
    :func:`non_saturating_generator_loss` is the usual choice.

    Args:
      fake_logits: discriminator logits on generated images, any shape.

    Returns:
      Scalar float32 loss in ``(-inf, 0]``.
    """
    return -tf.reduce_mean(tf.math.softplus(_float32(fake_logits)))


def non_saturating_generator_loss(*, fake_logits: tf.Tensor) -> tf.Tensor:
    """The non-saturating generator loss ``-E[log D(G(z))]`` (Goodfellow et al., 2014).

    Equal to binary cross-entropy of the fake logits against the *real* label 1,
    computed as ``softplus(-x)``.

    Args:
      fake_logits: discriminator logits on generated images, any shape.

    Returns:
      Scalar float32 loss in ``[0, inf)``.
    """
    return tf.reduce_mean(tf.math.softplus(-_float32(fake_logits)))


def bce_discriminator_loss(
    *, real_logits: tf.Tensor, fake_logits: tf.Tensor, label_smoothing: float = 0.0
) -> tf.Tensor:
    """Binary cross-entropy discriminator loss, with one-sided label smoothing.

    ``mean BCE(real_logits, 1 - label_smoothing) + mean BCE(fake_logits, 0)``.
    Label smoothing changes the **real** targets only (Salimans et al., 2016,
    "Improved Techniques for Training GANs"); fake targets stay exactly 0.

    Args:
      real_logits: discriminator logits on real images, any shape.
      fake_logits: discriminator logits on generated images, any shape.
      label_smoothing: in ``[0, 1)``; real targets become ``1 - label_smoothing``.

    Returns:
      Scalar float32 loss (sum of the real and the fake mean cross-entropies).

    Raises:
      ValueError: if ``label_smoothing`` is outside ``[0, 1)``.
    """
    if not 0.0 <= float(label_smoothing) < 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing}")
    real_logits = _float32(real_logits)
    fake_logits = _float32(fake_logits)
    real_targets = tf.fill(tf.shape(real_logits), 1.0 - float(label_smoothing))
    real_loss = tf.nn.sigmoid_cross_entropy_with_logits(labels=real_targets, logits=real_logits)
    fake_loss = tf.nn.sigmoid_cross_entropy_with_logits(
        labels=tf.zeros_like(fake_logits), logits=fake_logits
    )
    return tf.reduce_mean(real_loss) + tf.reduce_mean(fake_loss)


class LossPair(NamedTuple):
    """A generator loss and the discriminator loss it is played against."""

    generator_loss: Callable[..., tf.Tensor]
    discriminator_loss: Callable[..., tf.Tensor]
    uses_label_smoothing: bool


LOSSES: dict[str, LossPair] = {
    "non_saturating": LossPair(non_saturating_generator_loss, bce_discriminator_loss, True),
    "minimax": LossPair(minimax_generator_loss, bce_discriminator_loss, True),
}


def get_loss(name: str) -> LossPair:
    """Returns the :class:`LossPair` registered under ``name``.

    Raises:
      ValueError: for an unknown name; the message lists the valid ones.
    """
    if name not in LOSSES:
        raise ValueError(f"unknown loss '{name}'; choose one of: {', '.join(sorted(LOSSES))}")
    return LOSSES[name]
