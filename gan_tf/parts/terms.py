"""Parts that add a term to the losses: the registered penalties, historical averaging
and LeCam."""

from __future__ import annotations

from collections.abc import Callable

import tensorflow as tf

from gan_tf import regularizers
from gan_tf.parts.base import Part, Update
from gan_tf.parts.hooks import ema_decay

__all__ = ["HistoricalAveraging", "LeCam", "Penalty"]


class Penalty(Part):
    """``weight * term(critic, real, fake, draws)`` added to the discriminator loss,
    for a penalty of :data:`gan_tf.regularizers.PENALTIES` (gradient penalty, R1).

    With ``every > 1`` it is lazy (StyleGAN2's lazy regularization, Karras et al.,
    2020, §3.1): computed only on the steps ``step % every == 0``, times ``every``,
    so its mean weight is unchanged at ~1/every of its cost. Its metric is then
    ``every * term`` on those steps and 0 between them: a window of steps that is a
    multiple of ``every`` averages to the term's mean.

    Args:
      name: the penalty's registry name (its metric).
      weight: its weight, e.g. 10 for WGAN-GP.
      term: ``(critic, real, fake, draws) -> scalar`` (default: the registered one).
      every: compute it every this many steps (1 = every step).
    """

    def __init__(self, name: str, weight: float, term: Callable | None = None, every: int = 1):
        self.name, self.weight, self.every = name, float(weight), int(every)
        self.term = term or regularizers.PENALTIES[name].term

    def discriminator_term(self, update: Update) -> tf.Tensor:
        def term():
            return tf.cast(
                self.term(update.critic, update.real, update.fake, update.draws), tf.float32
            )

        if self.every == 1:
            return term()
        due = tf.equal(tf.math.floormod(update.gan.step, self.every), 0)
        return tf.cond(due, lambda: float(self.every) * term(), lambda: tf.zeros([], tf.float32))


class HistoricalAveraging(Part):
    """Historical averaging (Salimans et al., 2016, §3.3): ``weight * ||theta -
    mean(theta)||^2`` in each network's loss, the running means kept per step.

    Logged as ``historical_averaging``: the discriminator's term before its update
    plus the generator's before its own.
    """

    name = "historical_averaging"

    def __init__(self, weight: float):
        self.weight = float(weight)

    def build(self, gan) -> None:
        self.networks = {"generator": gan.generator, "discriminator": gan.discriminator}
        self.averages = tf.Module(name="historical_averages")  # the checkpoint's layout
        for name, network in self.networks.items():
            setattr(
                self.averages,
                name,
                [
                    gan.add_weight(
                        shape=variable.shape,
                        initializer=lambda shape, dtype, v=variable: tf.cast(v, dtype),
                        dtype="float32",
                        trainable=False,
                        name=f"historical_average_{name}_{index}",
                    )
                    for index, variable in enumerate(network.trainable_variables)
                ],
            )

    def checkpoint_objects(self) -> dict:
        return {"historical_averages": self.averages}

    def _penalty(self, name: str) -> tf.Tensor:
        return regularizers.historical_averaging_penalty(
            self.networks[name].trainable_variables, getattr(self.averages, name)
        )

    def discriminator_term(self, update: Update) -> tf.Tensor:
        return self._penalty("discriminator")

    def generator_term(self, update: Update) -> tf.Tensor:
        return self._penalty("generator")

    def after_step(self, gan, metrics: dict) -> dict:
        for name, network in self.networks.items():  # the initial weights count as the first
            regularizers.update_running_average(
                getattr(self.averages, name), network.trainable_variables, gan.step + 2
            )
        return {}


class LeCam(Part):
    """The LeCam regularizer (Tseng et al., 2021; :func:`gan_tf.regularizers.lecam_penalty`)
    in the discriminator's loss, with the moving averages of its mean real and fake
    scores it needs.

    The averages (decay 0.99, as the authors'; warmed up as :func:`ema_decay`) are
    updated once per step from the replica-mean scores of the step's last
    discriminator update, *after* the penalty used them: the authors fold the
    current batch in first, a 1 % difference at this decay that lets the update
    be one cross-replica assignment. They are checkpointed. Logs ``lecam`` (the
    penalty) and ``real_score``, ``fake_score`` (the batch means averaged).

    Args:
      weight: the penalty's weight. The authors' scripts use 0.3 with BigGAN's
        hinge loss (CIFAR); their StyleGAN2 runs use 1e-6 and less, on that code's
        own loss scale. With a sigmoid loss, ``weight = 0.01`` lets a real score ``s``
        settle where ``1 - sigmoid(s) = 4 * 0.01 * s`` (about 1.8) when the fake
        scores sit at ``-s``.
      decay: the moving averages' decay.
    """

    name = "lecam"

    def __init__(self, weight: float, decay: float = 0.99):
        self.weight, self.decay = float(weight), float(decay)

    def build(self, gan) -> None:
        self.averages = tf.Module(name="lecam_averages")  # the checkpoint's layout
        self.averages.real, self.averages.fake = (
            gan.add_weight(shape=(), initializer="zeros", trainable=False, name=f"lecam_{side}")
            for side in ("real", "fake")
        )

    def checkpoint_objects(self) -> dict:
        return {"lecam_averages": self.averages}

    def metric_names(self) -> tuple[str, ...]:
        return ("lecam", "real_score", "fake_score")

    def discriminator_term(self, update: Update) -> tf.Tensor:
        return regularizers.lecam_penalty(
            update.real_logits, update.fake_logits, self.averages.real, self.averages.fake
        )

    def update_metrics(self, update: Update) -> dict:
        return {
            f"{side}_score": tf.reduce_mean(tf.cast(logits, tf.float32))
            for side, logits in (("real", update.real_logits), ("fake", update.fake_logits))
        }

    def after_step(self, gan, metrics: dict) -> dict:
        decay = ema_decay(self.decay, gan.step)
        for side in ("real", "fake"):
            average = getattr(self.averages, side)
            average.assign(decay * average + (1.0 - decay) * metrics[f"{side}_score"])
        return {}
