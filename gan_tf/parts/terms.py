"""Parts that add a term to the losses: the registered penalties and historical averaging."""

from __future__ import annotations

from collections.abc import Callable

import tensorflow as tf

from gan_tf import regularizers
from gan_tf.parts.base import Part, Update

__all__ = ["HistoricalAveraging", "Penalty"]


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
