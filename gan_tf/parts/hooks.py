"""Parts that act after an update: the EMA generator and weight clipping."""

from __future__ import annotations

import keras
import tensorflow as tf

from gan_tf import regularizers
from gan_tf.errors import ConfigError
from gan_tf.parts.base import Part

__all__ = ["EMA", "WeightClipping", "ema_decay"]


class WeightClipping(Part):
    """Clips every discriminator weight to ``[-clip_value, clip_value]`` after every
    discriminator update (WGAN, Arjovsky et al., 2017)."""

    def __init__(self, clip_value: float):
        self.clip_value = float(clip_value)

    def after_discriminator_update(self, gan) -> None:
        regularizers.clip_weights(gan.discriminator.trainable_variables, self.clip_value)


class EMA(Part):
    """An exponential moving average of the generator's weights, ``gan.generator_ema``,
    which samples and evaluation use (Yazıcı et al., 2019). The decay warms up as
    ``tf.train.ExponentialMovingAverage``'s ``num_updates`` does (:func:`ema_decay`),
    so early averages are not dominated by the random initial weights."""

    def __init__(self, decay: float):
        self.decay = float(decay)

    def build(self, gan) -> None:
        gan.generator_ema = _copy(gan.generator)

    def after_step(self, gan, metrics: dict) -> dict:
        decay = ema_decay(self.decay, gan.step)
        for average, weight in zip(gan.generator_ema.weights, gan.generator.weights, strict=True):
            average.assign(decay * average + (1.0 - decay) * weight)
        return {}


def ema_decay(decay: float, step: tf.Tensor) -> tf.Tensor:
    """The EMA decay used after ``step`` earlier updates: ``min(decay, (1 + step) /
    (10 + step))`` (warm-up of ``tf.train.ExponentialMovingAverage``'s ``num_updates``)."""
    step = tf.cast(step, tf.float32)
    return tf.minimum(tf.constant(decay, tf.float32), (1.0 + step) / (10.0 + step))


def _copy(network: keras.Model) -> keras.Model:
    """A frozen copy of ``network`` with its weights (the EMA generator).

    Raises:
      ConfigError: ``keras.models.clone_model`` cannot copy it (a subclassed model
        without ``get_config``).
    """
    try:
        copy = keras.models.clone_model(network)
    except (TypeError, ValueError, NotImplementedError) as error:
        reason = str(error).strip().splitlines()[0][:120]
        raise ConfigError(
            f"ema needs a generator keras.models.clone_model can copy ({reason}); use a "
            "Sequential or functional model, or ema=0",
            "ema",
        ) from None
    copy.set_weights(network.get_weights())
    copy.trainable = False
    return copy
