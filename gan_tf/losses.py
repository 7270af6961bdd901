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
* A loss that needs more than the logits declares it by keyword, from
  :data:`TAPPED_INPUTS`: ``real_features``/``fake_features`` (an intermediate
  discriminator layer: feature matching), ``real_class_logits`` and ``labels``
  (the semi-supervised classifier). The step reads those layers only for the
  losses that ask.

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
    "TAPPED_INPUTS",
    "batch_mean",
    "bce_discriminator_loss",
    "feature_matching_generator_loss",
    "get_loss",
    "hinge_discriminator_loss",
    "hinge_generator_loss",
    "least_squares_discriminator_loss",
    "least_squares_generator_loss",
    "minimax_generator_loss",
    "relativistic_discriminator_loss",
    "relativistic_generator_loss",
    "relativistic_pairing_discriminator_loss",
    "relativistic_pairing_generator_loss",
    "non_saturating_generator_loss",
    "semi_supervised_discriminator_loss",
    "tapped_layers",
    "wasserstein_discriminator_loss",
    "wasserstein_generator_loss",
]


def _float32(logits):
    return tf.cast(logits, tf.float32)


def batch_mean(values: tf.Tensor, axis: int | None = None) -> tf.Tensor:
    """The mean of ``values`` over the whole batch: in a replica of a
    ``tf.distribute`` strategy, over every replica's share (an all-reduce, through
    which gradients flow); elsewhere ``tf.reduce_mean``.

    Args:
      values: any tensor whose first axis is the batch.
      axis: ``None`` averages everything (a scalar); ``0`` averages over the batch
        only, keeping the other axes (e.g. the mean feature vector).
    """
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return tf.reduce_mean(values, axis=axis)
    total = context.all_reduce(tf.distribute.ReduceOp.SUM, tf.reduce_sum(values, axis=axis))
    count = tf.size(values) if axis is None else tf.shape(values)[0]
    count = context.all_reduce(tf.distribute.ReduceOp.SUM, tf.cast(count, total.dtype))
    return total / count


def _masked_batch_mean(values: tf.Tensor, mask: tf.Tensor) -> tf.Tensor:
    """The mean of ``values[mask]`` over the whole batch (0 when no entry is masked in)."""
    mask = tf.cast(mask, values.dtype)
    total, count = tf.reduce_sum(values * mask), tf.reduce_sum(mask)
    context = tf.distribute.get_replica_context()
    if context is not None and context.num_replicas_in_sync > 1:
        total = context.all_reduce(tf.distribute.ReduceOp.SUM, total)
        count = context.all_reduce(tf.distribute.ReduceOp.SUM, count)
    return tf.math.divide_no_nan(total, count)


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
    *,
    real_logits: tf.Tensor,
    fake_logits: tf.Tensor,
    label_smoothing: float = 0.0,
    fake_label_smoothing: float = 0.0,
) -> tf.Tensor:
    """Binary cross-entropy discriminator loss, with one-sided label smoothing.

    ``mean BCE(real_logits, 1 - label_smoothing) + mean BCE(fake_logits, fake_label_smoothing)``.
    Label smoothing changes the **real** targets only (Salimans et al., 2016,
    "Improved Techniques for Training GANs"); fake targets stay exactly 0 unless
    ``fake_label_smoothing`` explicitly asks for two-sided smoothing.

    Args:
      real_logits: discriminator logits on real images, any shape.
      fake_logits: discriminator logits on generated images, any shape.
      label_smoothing: in ``[0, 1)``; real targets become ``1 - label_smoothing``.
      fake_label_smoothing: in ``[0, 1)``; fake targets become ``fake_label_smoothing``
        (two-sided smoothing; 0 keeps the guide's one-sided default).

    Returns:
      Scalar float32 loss (sum of the real and the fake mean cross-entropies).

    Raises:
      ConfigError: if either smoothing is outside ``[0, 1)``.
    """
    for name, value in (
        ("label_smoothing", label_smoothing),
        ("fake_label_smoothing", fake_label_smoothing),
    ):
        if not 0.0 <= float(value) < 1.0:
            raise ConfigError(f"{name} must be in [0, 1), got {value}", name)
    real_logits = _float32(real_logits)
    fake_logits = _float32(fake_logits)
    real_targets = tf.fill(tf.shape(real_logits), 1.0 - float(label_smoothing))
    fake_targets = tf.fill(tf.shape(fake_logits), float(fake_label_smoothing))
    real_loss = tf.nn.sigmoid_cross_entropy_with_logits(labels=real_targets, logits=real_logits)
    fake_loss = tf.nn.sigmoid_cross_entropy_with_logits(labels=fake_targets, logits=fake_logits)
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


def relativistic_pairing_discriminator_loss(
    *, real_logits: tf.Tensor, fake_logits: tf.Tensor
) -> tf.Tensor:
    """Relativistic pairing discriminator loss (RpGAN; Jolicoeur-Martineau, 2018), the
    loss of R3GAN (Huang et al., 2024, "The GAN is dead; long live the GAN!",
    arXiv:2501.05441): ``E[softplus(-(C(x_i) - C(G(z_i))))]``, each real example
    paired with the fake of the same batch position.

    Unlike the relativistic *average* loss (``relativistic``) no batch mean enters a
    term, so every pair's loss depends on that pair alone; with R1 and R2 it is the
    loss R3GAN proves locally convergent.

    Args:
      real_logits, fake_logits: critic scores ``C(x)`` of the same shape ``[B, 1]``.

    Returns:
      Scalar float32 loss in ``[0, inf)``; ``log 2`` when every pair scores equal.
    """
    real, fake = _float32(real_logits), _float32(fake_logits)
    return tf.reduce_mean(tf.math.softplus(fake - real))


def relativistic_pairing_generator_loss(
    *, real_logits: tf.Tensor, fake_logits: tf.Tensor
) -> tf.Tensor:
    """Relativistic pairing generator loss (RpGAN, R3GAN): the discriminator loss with
    the roles swapped, ``E[softplus(-(C(G(z_i)) - C(x_i)))]``. It needs the real
    scores: the generator makes its fakes look more real than *their paired* reals."""
    real, fake = _float32(real_logits), _float32(fake_logits)
    return tf.reduce_mean(tf.math.softplus(real - fake))


def feature_matching_generator_loss(
    *,
    real_features: tf.Tensor,
    fake_features: tf.Tensor,
    real_logits: tf.Tensor | None = None,
    fake_logits: tf.Tensor | None = None,
) -> tf.Tensor:
    """Feature matching (Salimans et al., 2016, "Improved Techniques for Training
    GANs", §3.1): the generator matches the mean of an intermediate discriminator
    layer's features on real data instead of fooling the discriminator's output.

    ``mean_k (E_x f(x)_k - E_z f(G(z))_k)^2``, the mean over features of the squared
    difference of the batch means (the authors' MNIST code; the paper writes the
    squared L2 norm, which is this times the feature count). Which layer gives
    ``f`` is the ``feature_layer`` option. The logits are not used.

    Args:
      real_features, fake_features: ``[B, ...]`` features of real and generated
        examples (flattened after the batch axis).

    Returns:
      Scalar float32 loss in ``[0, inf)``; 0 when the two means agree.
    """
    del real_logits, fake_logits

    def mean_features(features):
        features = tf.cast(features, tf.float32)
        return batch_mean(tf.reshape(features, [tf.shape(features)[0], -1]), axis=0)

    return tf.reduce_mean(tf.square(mean_features(real_features) - mean_features(fake_features)))


def semi_supervised_discriminator_loss(
    *,
    real_logits: tf.Tensor,
    fake_logits: tf.Tensor,
    real_class_logits: tf.Tensor,
    labels: tf.Tensor,
) -> tf.Tensor:
    """The semi-supervised discriminator loss (Salimans et al., 2016, §5).

    The discriminator is a classifier over the K real classes plus "generated",
    with the generated class's logit fixed at 0, so ``P(real | x) = Z / (Z + 1)``
    with ``Z = sum_k exp(l_k(x))``: its real/fake logit is ``logsumexp_k l_k(x)``
    (``real_logits``, ``fake_logits``). The loss, with the weights of the authors'
    code, is

    ``CE(l(x_lab), y) + 0.5 E_unl[softplus(-lse l(x))] + 0.5 E_z[softplus(lse l(G(z)))]``

    where the cross-entropy is over the labelled real examples (``labels >= 0``)
    and the unsupervised real term over the unlabelled ones (``labels == -1``).

    Args:
      real_logits: ``[B, 1]`` real/fake logits (logsumexp of the class logits) of
        the real batch.
      fake_logits: ``[B', 1]`` the same for generated examples.
      real_class_logits: ``[B, K]`` class logits of the real batch.
      labels: int ``[B]`` class ids of the real batch, -1 for unlabelled examples.

    Returns:
      Scalar float32 loss.
    """
    labels = tf.reshape(tf.cast(labels, tf.int32), [-1])
    labelled = labels >= 0
    cross_entropy = tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=tf.maximum(labels, 0), logits=_float32(real_class_logits)
    )
    real_term = tf.math.softplus(-tf.reshape(_float32(real_logits), [-1]))
    return (
        _masked_batch_mean(cross_entropy, labelled)
        + 0.5 * _masked_batch_mean(real_term, tf.logical_not(labelled))
        + 0.5 * tf.reduce_mean(tf.math.softplus(_float32(fake_logits)))
    )


# Keyword inputs a loss may declare beyond the logits, and the discriminator output
# that feeds each: "features" is the layer ``feature_layer`` names, "class_logits"
# the layer of that name (semi-supervised discriminators), "labels" the real batch's
# class ids (-1 = unlabelled).
TAPPED_INPUTS = {
    "real_features": "features",
    "fake_features": "features",
    "real_class_logits": "class_logits",
    "fake_class_logits": "class_logits",
    "labels": "labels",
}


def tapped_layers(input_names) -> tuple[str, ...]:
    """The discriminator layers (sorted) that the loss inputs ``input_names`` of
    :data:`TAPPED_INPUTS` read; ``labels`` come with the data, not from a layer."""
    return tuple(sorted({TAPPED_INPUTS[name] for name in input_names} - {"labels"}))


def _wants(loss: Callable[..., tf.Tensor]) -> tuple[str, ...]:
    return tuple(name for name in inspect.signature(loss).parameters if name in TAPPED_INPUTS)


class LossPair(NamedTuple):
    """A generator loss and the discriminator loss it is played against."""

    generator_loss: Callable[..., tf.Tensor]
    discriminator_loss: Callable[..., tf.Tensor]
    # True for the cross-entropy family: D(x) = sigmoid(logits) is a probability, and
    # label smoothing applies. False for critics that output raw scores.
    sigmoid_outputs: bool

    @property
    def generator_uses_real(self) -> bool:
        """Whether the generator loss needs the real batch scored: it declares
        ``real_logits`` without a default, or real features/class logits."""
        parameters = inspect.signature(self.generator_loss).parameters
        parameter = parameters.get("real_logits")
        required = parameter is not None and parameter.default is inspect.Parameter.empty
        return required or any(name.startswith("real_") for name in _wants(self.generator_loss))

    @property
    def generator_inputs(self) -> tuple[str, ...]:
        """The keyword inputs of :data:`TAPPED_INPUTS` the generator loss declares."""
        return _wants(self.generator_loss)

    @property
    def discriminator_inputs(self) -> tuple[str, ...]:
        """The keyword inputs of :data:`TAPPED_INPUTS` the discriminator loss declares."""
        return _wants(self.discriminator_loss)

    @property
    def taps(self) -> tuple[str, ...]:
        """The discriminator layers the pair reads besides the logits (sorted)."""
        return tapped_layers(self.generator_inputs + self.discriminator_inputs)


LOSSES: dict[str, LossPair] = {
    "non_saturating": LossPair(non_saturating_generator_loss, bce_discriminator_loss, True),
    "minimax": LossPair(minimax_generator_loss, bce_discriminator_loss, True),
    "wasserstein": LossPair(wasserstein_generator_loss, wasserstein_discriminator_loss, False),
    "least_squares": LossPair(
        least_squares_generator_loss, least_squares_discriminator_loss, False
    ),
    "hinge": LossPair(hinge_generator_loss, hinge_discriminator_loss, False),
    "relativistic": LossPair(relativistic_generator_loss, relativistic_discriminator_loss, False),
    "rpgan": LossPair(
        relativistic_pairing_generator_loss, relativistic_pairing_discriminator_loss, False
    ),
    "feature_matching": LossPair(feature_matching_generator_loss, bce_discriminator_loss, True),
    "semi_supervised": LossPair(
        feature_matching_generator_loss, semi_supervised_discriminator_loss, True
    ),
}


def get_loss(name: str) -> LossPair:
    """Returns the :class:`LossPair` registered under ``name``.

    Raises:
      ConfigError: for an unknown name; the message lists the valid ones.
    """
    if name not in LOSSES:
        raise ConfigError(f"unknown loss '{name}'; choose one of: {', '.join(LOSSES)}", "loss")
    return LOSSES[name]
