"""Parts that change what the discriminator sees: augmentation (DiffAugment, ADA),
instance noise and label noise."""

from __future__ import annotations

import keras
import tensorflow as tf

from gan_tf import augment
from gan_tf.errors import ConfigError
from gan_tf.parts.base import Part, Update

__all__ = ["Augment", "InstanceNoise", "LabelFlip"]


class Augment(Part):
    """DiffAugment (Zhao et al., 2020) on every discriminator input, real and fake, in
    both updates; with ``ada_target`` the probability ``p`` adapts as in ADA (Karras
    et al., 2020) so that ``E[sign(D(x_real))]`` stays near the target.

    Args:
      policy: names from :data:`gan_tf.augment.AUGMENTATIONS`.
      ada_target: ADA's target (``None``: always augment, p = 1).
      ada_rate: how far ``p`` moves per step (``batch / (ada_kimg * 1000)``).

    Logs ``augment_p`` (the p the step used) and, with ADA, ``real_sign``.
    """

    name = "augment_p"

    def __init__(self, policy, ada_target: float | None = None, ada_rate: float = 0.0):
        if ada_target is not None and not ada_rate > 0:
            raise ConfigError(
                "Augment(ada_target=...) needs ada_rate > 0: batch_size / (kimg * 1000), "
                "e.g. 64 / 100_000 for p to go from 0 to 1 over 100k real images",
                "ada_kimg",
            )
        self.policy = tuple(policy)
        self.ada_target, self.ada_rate = ada_target, float(ada_rate)

    def build(self, gan) -> None:
        start = 0.0 if self.ada_target is not None else 1.0
        self.p = gan.add_weight(  # checkpointed: ADA's p continues on resume
            shape=(),
            initializer=keras.initializers.Constant(start),
            trainable=False,
            name="augment_p",
        )

    def checkpoint_objects(self) -> dict:
        return {"augment_p": self.p}

    def metric_names(self) -> tuple[str, ...]:
        return ("real_sign", "augment_p") if self.ada_target is not None else ("augment_p",)

    def transform(self, samples, draws):
        return augment.augment(samples, self.policy, draws, self.p if self.ada_target else 1.0)

    def update_metrics(self, update: Update) -> dict:
        if self.ada_target is None:
            return {}
        return {"real_sign": tf.reduce_mean(tf.sign(tf.cast(update.real_logits, tf.float32)))}

    def after_step(self, gan, metrics: dict) -> dict:
        used = {"augment_p": tf.identity(self.p)}
        if self.ada_target is not None:  # p follows the overfitting heuristic
            direction = tf.sign(metrics["real_sign"] - self.ada_target)
            self.p.assign(tf.clip_by_value(self.p + direction * self.ada_rate, 0.0, 1.0))
        return used


class InstanceNoise(Part):
    """Gaussian noise on every discriminator input (Sønderby et al., 2016), its std
    annealed linearly from ``std`` at step 0 to 0 at ``anneal_steps``."""

    def __init__(self, std: float, anneal_steps: int):
        self.std, self.anneal_steps = float(std), max(int(anneal_steps), 1)

    def build(self, gan) -> None:
        self.gan = gan

    def current_std(self) -> tf.Tensor:
        done = tf.cast(self.gan.step, tf.float32) / self.anneal_steps
        return self.std * tf.maximum(0.0, 1.0 - done)

    def transform(self, samples, draws):
        noise = draws.normal(tf.shape(samples))
        return samples + tf.cast(self.current_std(), samples.dtype) * tf.cast(noise, samples.dtype)


class LabelFlip(Part):
    """Noisy labels: each example's real and fake roles are swapped with probability
    ``rate`` in the discriminator loss (the generator update is untouched)."""

    def __init__(self, rate: float):
        self.rate = float(rate)

    def swap(self, real_logits, fake_logits, draws):
        flip = draws.uniform(tf.shape(real_logits)) < self.rate
        return tf.where(flip, fake_logits, real_logits), tf.where(flip, real_logits, fake_logits)
