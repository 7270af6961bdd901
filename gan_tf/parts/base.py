"""What a part of the train step is: :class:`Part`, and the :class:`Update` it reads.

A part is one trick of GAN training written as a small class whose methods the
step calls at fixed points (like a Keras callback inside the step). Override
only what the trick needs:

==========================  ==================================================
``fakes_for_discriminator`` the generated batch of each discriminator update,
                            before it is transformed and scored (experience
                            replay); the generator update never sees it
``transform``               every discriminator input, real and fake, in both
                            updates (augmentation, instance noise)
``swap``                    the logits the discriminator loss sees (label noise)
``discriminator_term``      a scalar added, times ``weight``, to the
                            discriminator loss (penalties, historical averaging)
``generator_term``          the same for the generator loss
``after_discriminator_update``  each replica, after each discriminator update
                            (weight clipping)
``after_step``              once per step, across replicas, after both updates
                            (EMA, running averages, ADA's probability)
==========================  ==================================================

State a part keeps (an EMA copy, running averages, ADA's ``p``) is created in
``build`` on the :class:`~gan_tf.gan.GAN` (``gan.add_weight`` or an attribute),
so Keras' ``save_weights``/``BackupAndRestore`` and gan_tf's checkpoints hold it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import tensorflow as tf

__all__ = ["Part", "Update"]


@dataclasses.dataclass
class Update:
    """What one discriminator (or generator) update has computed, for a part's terms.

    Attributes:
      gan: the :class:`~gan_tf.gan.GAN` being trained.
      critic: ``x -> logits`` of the discriminator in training mode (labels bound
        for a conditional GAN); differentiable, for gradient penalties.
      real, fake: the update's real and generated batches (before transforms).
      real_logits, fake_logits: the discriminator's logits of them (after transforms;
        ``real_logits`` is ``None`` in a generator update whose loss does not read it).
      labels: the real batch's int labels, or ``None``.
      draws: the step's random numbers (``uniform(shape)``, ``normal(shape)``).
      taps: the discriminator layers the losses read, ``{"real": {...}, "fake": {...}}``.
    """

    gan: object
    critic: Callable[[tf.Tensor], tf.Tensor]
    real: tf.Tensor
    fake: tf.Tensor
    real_logits: tf.Tensor | None
    fake_logits: tf.Tensor
    labels: tf.Tensor | None
    draws: object
    taps: dict = dataclasses.field(default_factory=dict)


class Part:
    """One trick of the train step (see the module docstring for when each method runs).

    Attributes:
      name: the metric its terms are logged under (their unweighted sum), and the
        key of its state in a checkpoint.
      weight: the factor of its terms in the losses.
    """

    name: str = ""
    weight: float = 1.0

    def build(self, gan) -> None:
        """Creates the part's state on ``gan`` (called once, by ``GAN.compile``)."""
        return None

    def checkpoint_objects(self) -> dict:
        """The part's state for ``tf.train.Checkpoint``, by name (default: none)."""
        return {}

    def metric_names(self) -> tuple[str, ...]:
        """The metrics the part adds to the step's dict (default: ``name`` when it
        has a loss term)."""
        has_term = (
            type(self).discriminator_term is not Part.discriminator_term
            or type(self).generator_term is not Part.generator_term
        )
        return (self.name,) if has_term else ()

    def fakes_for_discriminator(self, fake: tf.Tensor, draws) -> tf.Tensor:
        """Returns the generated batch a discriminator update scores, given the one
        the generator just made (default: that one)."""
        return fake

    def transform(self, samples: tf.Tensor, draws) -> tf.Tensor:
        """Returns a discriminator input (real or fake, either update) as the
        discriminator should see it."""
        return samples

    def swap(self, real_logits, fake_logits, draws) -> tuple[tf.Tensor, tf.Tensor]:
        """Returns the ``(real, fake)`` logits the discriminator loss scores."""
        return real_logits, fake_logits

    def discriminator_term(self, update: Update) -> tf.Tensor | None:
        """A scalar added (times :attr:`weight`) to the discriminator loss, or ``None``."""
        return None

    def generator_term(self, update: Update) -> tf.Tensor | None:
        """A scalar added (times :attr:`weight`) to the generator loss, or ``None``."""
        return None

    def update_metrics(self, update: Update) -> dict:
        """Extra per-replica metrics of the step's last discriminator update."""
        return {}

    def after_discriminator_update(self, gan) -> None:
        """Runs in each replica after each discriminator update."""
        return None  # a statement: AutoGraph cannot convert a docstring-only body

    def after_step(self, gan, metrics: dict) -> dict:
        """Runs once per step across replicas, before the step counter moves;
        ``metrics`` are the replica-averaged step metrics. Returns metrics to add."""
        return {}
