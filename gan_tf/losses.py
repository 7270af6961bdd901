"""GAN losses as pure functions on discriminator logits.

Conventions used everywhere in gan_tf:

* Discriminators return **logits** of shape ``[batch, 1]`` (no sigmoid).
* Real = 1, fake = 0.
* Arguments are keyword-only (``real_logits=``, ``fake_logits=``) so real and
  fake can never be swapped by position.
* Generator losses take both. One that needs the real logits declares
  ``real_logits`` without a default; the others default it to ``None`` and the
  step then skips scoring a real batch for the generator. So a relativistic loss
  is one function each.
* A loss that averages over the batch *inside* a term (the relativistic ones)
  uses :func:`batch_mean`, the mean over the global batch under ``tf.distribute``.
* Every loss is a float32 scalar: the mean over the batch it was given.

A loss *name* selects a (generator loss, discriminator loss) pair from
:data:`LOSSES`; :func:`get_loss` looks one up.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import NamedTuple

import tensorflow as tf

from gan_tf.errors import ConfigError

__all__ = [
    "LOSSES",
    "LossPair",
    "batch_mean",
    "bce_discriminator_loss",
    "get_loss",
    "hinge_discriminator_loss",
    "hinge_generator_loss",
    "least_squares_discriminator_loss",
    "least_squares_generator_loss",
    "minimax_generator_loss",
    "relativistic_discriminator_loss",
    "relativistic_generator_loss",
    "non_saturating_generator_loss",
    "wasserstein_discriminator_loss",
    "wasserstein_generator_loss",
]


def _float32(logits):
    return tf.cast(logits, tf.float32)


def batch_mean(values: tf.Tensor) -> tf.Tensor:
    """The mean of ``values`` over the whole batch: in a replica of a
    ``tf.distribute`` strategy, over every replica's share (an all-reduce, through
    which gradients flow); elsewhere ``tf.reduce_mean``."""
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return tf.reduce_mean(values)
    total = context.all_reduce(tf.distribute.ReduceOp.SUM, tf.reduce_sum(values))
    count = context.all_reduce(tf.distribute.ReduceOp.SUM, tf.cast(tf.size(values), total.dtype))
    return total / count


def minimax_generator_loss(
    *, real_logits: tf.Tensor | None = None, fake_logits: tf.Tensor
) -> tf.Tensor:
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


def non_saturating_generator_loss(
    *, real_logits: tf.Tensor | None = None, fake_logits: tf.Tensor
) -> tf.Tensor:
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
      ConfigError: if ``label_smoothing`` is outside ``[0, 1)``.
    """
    if not 0.0 <= float(label_smoothing) < 1.0:
        raise ConfigError(
            f"label_smoothing must be in [0, 1), got {label_smoothing}", "label_smoothing"
        )
    real_logits = _float32(real_logits)
    fake_logits = _float32(fake_logits)
    real_targets = tf.fill(tf.shape(real_logits), 1.0 - float(label_smoothing))
    real_loss = tf.nn.sigmoid_cross_entropy_with_logits(labels=real_targets, logits=real_logits)
    fake_loss = tf.nn.sigmoid_cross_entropy_with_logits(
        labels=tf.zeros_like(fake_logits), logits=fake_logits
    )
    return tf.reduce_mean(real_loss) + tf.reduce_mean(fake_loss)


def wasserstein_generator_loss(
    *, real_logits: tf.Tensor | None = None, fake_logits: tf.Tensor
) -> tf.Tensor:
    """WGAN generator loss ``-E[D(G(z))]`` (Arjovsky et al., 2017).

    The critic output is an unbounded score, not a probability.
    """
    return -tf.reduce_mean(_float32(fake_logits))


def wasserstein_discriminator_loss(*, real_logits: tf.Tensor, fake_logits: tf.Tensor) -> tf.Tensor:
    """WGAN critic loss ``E[D(G(z))] - E[D(x)]``, the negated Wasserstein estimate
    (Arjovsky et al., 2017). Needs a Lipschitz critic: weight clipping or a gradient penalty."""
    return tf.reduce_mean(_float32(fake_logits)) - tf.reduce_mean(_float32(real_logits))


def least_squares_generator_loss(
    *, real_logits: tf.Tensor | None = None, fake_logits: tf.Tensor
) -> tf.Tensor:
    """LSGAN generator loss ``0.5 E[(D(G(z)) - 1)^2]`` (Mao et al., 2017, a-b-c = 0-1-1)."""
    return 0.5 * tf.reduce_mean(tf.square(_float32(fake_logits) - 1.0))


def least_squares_discriminator_loss(
    *, real_logits: tf.Tensor, fake_logits: tf.Tensor
) -> tf.Tensor:
    """LSGAN discriminator loss ``0.5 E[(D(x) - 1)^2] + 0.5 E[D(G(z))^2]`` (Mao et al., 2017)."""
    real = tf.reduce_mean(tf.square(_float32(real_logits) - 1.0))
    fake = tf.reduce_mean(tf.square(_float32(fake_logits)))
    return 0.5 * (real + fake)


def hinge_generator_loss(
    *, real_logits: tf.Tensor | None = None, fake_logits: tf.Tensor
) -> tf.Tensor:
    """Hinge generator loss ``-E[D(G(z))]`` (Lim & Ye, 2017; Miyato et al., 2018)."""
    return -tf.reduce_mean(_float32(fake_logits))


def hinge_discriminator_loss(*, real_logits: tf.Tensor, fake_logits: tf.Tensor) -> tf.Tensor:
    """Hinge discriminator loss ``E[relu(1 - D(x))] + E[relu(1 + D(G(z)))]`` (Lim & Ye, 2017)."""
    real = tf.reduce_mean(tf.nn.relu(1.0 - _float32(real_logits)))
    fake = tf.reduce_mean(tf.nn.relu(1.0 + _float32(fake_logits)))
    return real + fake


def relativistic_discriminator_loss(*, real_logits: tf.Tensor, fake_logits: tf.Tensor) -> tf.Tensor:
    """Relativistic average discriminator loss (RaSGAN; Jolicoeur-Martineau, 2018,
    "The relativistic discriminator", arXiv:1807.00734).

    D judges whether real data is *more realistic than the average fake* and the
    reverse: ``-E_r[log sigmoid(C(x_r) - E_f C(x_f))] - E_f[log(1 - sigmoid(C(x_f) -
    E_r C(x_r)))]``, i.e. ``E[softplus(-(r - mean f))] + E[softplus(f - mean r)]``.

    Args:
      real_logits, fake_logits: critic scores ``C(x)`` (logits), any shape.

    Returns:
      Scalar float32 loss in ``[0, inf)``; ``2 log 2`` when all scores are equal.
    """
    real, fake = _float32(real_logits), _float32(fake_logits)
    real_vs_fake = real - batch_mean(fake)
    fake_vs_real = fake - batch_mean(real)
    return tf.reduce_mean(tf.math.softplus(-real_vs_fake)) + tf.reduce_mean(
        tf.math.softplus(fake_vs_real)
    )


def relativistic_generator_loss(*, real_logits: tf.Tensor, fake_logits: tf.Tensor) -> tf.Tensor:
    """Relativistic average generator loss (RaSGAN; Jolicoeur-Martineau, 2018): the
    discriminator loss with real and fake swapped, ``E[softplus(r - mean f)] +
    E[softplus(-(f - mean r))]``. Unlike the other generator losses it uses
    ``real_logits``: the generator also lowers how real the real data looks."""
    real, fake = _float32(real_logits), _float32(fake_logits)
    real_vs_fake = real - batch_mean(fake)
    fake_vs_real = fake - batch_mean(real)
    return tf.reduce_mean(tf.math.softplus(real_vs_fake)) + tf.reduce_mean(
        tf.math.softplus(-fake_vs_real)
    )


class LossPair(NamedTuple):
    """A generator loss and the discriminator loss it is played against."""

    generator_loss: Callable[..., tf.Tensor]
    discriminator_loss: Callable[..., tf.Tensor]
    # True for the cross-entropy family: D(x) = sigmoid(logits) is a probability, and
    # label smoothing applies. False for critics that output raw scores.
    sigmoid_outputs: bool

    @property
    def generator_uses_real(self) -> bool:
        """Whether the generator loss needs ``real_logits`` (it declares them without a
        default); the step then scores a real batch in the generator update."""
        parameter = inspect.signature(self.generator_loss).parameters.get("real_logits")
        return parameter is not None and parameter.default is inspect.Parameter.empty


LOSSES: dict[str, LossPair] = {
    "non_saturating": LossPair(non_saturating_generator_loss, bce_discriminator_loss, True),
    "minimax": LossPair(minimax_generator_loss, bce_discriminator_loss, True),
    "wasserstein": LossPair(wasserstein_generator_loss, wasserstein_discriminator_loss, False),
    "least_squares": LossPair(
        least_squares_generator_loss, least_squares_discriminator_loss, False
    ),
    "hinge": LossPair(hinge_generator_loss, hinge_discriminator_loss, False),
    "relativistic": LossPair(relativistic_generator_loss, relativistic_discriminator_loss, False),
}


def get_loss(name: str) -> LossPair:
    """Returns the :class:`LossPair` registered under ``name``.

    Raises:
      ConfigError: for an unknown name; the message lists the valid ones.
    """
    if name not in LOSSES:
        raise ConfigError(f"unknown loss '{name}'; choose one of: {', '.join(LOSSES)}", "loss")
    return LOSSES[name]
