"""Experience replay: the discriminator also sees generated samples of earlier steps."""

from __future__ import annotations

import tensorflow as tf

from gan_tf.errors import ConfigError
from gan_tf.parts.base import Part

__all__ = ["Replay"]


class Replay(Part):
    """Experience replay of old fakes (Shrivastava et al., 2017, "Learning from
    Simulated and Unsupervised Images through Adversarial Training", §2.3): in every
    discriminator update the first ``round(share * B)`` rows of the fake batch are
    replaced by samples drawn uniformly from a buffer of earlier generated samples,
    so the discriminator keeps rejecting what the generator made before. The buffer
    is a ring of the last ``size`` generated samples: each discriminator update
    writes its fresh fakes (all ``B`` of them, or the last ``size``) after the
    previous ones. Until the first write nothing is replaced; draws come only from
    the filled slots. The generator update never sees replayed samples.

    The buffer and its write position are non-trainable weights of the GAN, so
    checkpoints and ``save_weights`` hold them and a resumed run replays what the
    uninterrupted one would. Under ``tf.distribute`` every replica replaces its
    own share from the buffer and the first replica's fakes are written.

    Args:
      share: the share of each discriminator update's fake batch replaced, in (0, 1).
      size: samples the buffer holds (>= 1).

    Raises:
      ConfigError: ``share`` outside (0, 1) or ``size`` below 1.
    """

    name = "replay"

    def __init__(self, share: float, size: int = 1024):
        if not 0.0 < float(share) < 1.0:
            raise ConfigError(f"replay must be a share in (0, 1), got {share}", "replay")
        if not isinstance(size, int) or size < 1:
            raise ConfigError(f"replay_size must be an integer >= 1, got {size}", "replay_size")
        self.share, self.size = float(share), size

    def build(self, gan) -> None:
        shape = tuple(gan.generator.output_shape[1:])
        self.buffer = gan.add_weight(
            shape=(self.size, *shape),
            initializer="zeros",
            dtype="float32",
            trainable=False,
            aggregation="only_first_replica",
            name="replay_buffer",
        )
        self.written = gan.add_weight(  # fakes written so far (the ring's position)
            shape=(),
            initializer="zeros",
            dtype="int64",
            trainable=False,
            aggregation="only_first_replica",
            name="replay_written",
        )

    def checkpoint_objects(self) -> dict:
        return {"replay_buffer": self.buffer, "replay_written": self.written}

    def fakes_for_discriminator(self, fake, draws):
        batch = tf.shape(fake)[0]
        replaced = tf.cast(tf.round(self.share * tf.cast(batch, tf.float32)), tf.int32)
        filled = tf.cast(tf.minimum(self.written, self.size), tf.int32)
        replaced = tf.where(filled > 0, replaced, 0)  # an empty buffer replays nothing
        picks = tf.cast(draws.uniform([replaced]) * tf.cast(filled, tf.float32), tf.int32)
        old = tf.gather(tf.convert_to_tensor(self.buffer), tf.minimum(picks, filled - 1))
        mixed = tf.concat([tf.cast(old, fake.dtype), fake[replaced:]], axis=0)
        self._write(tf.stop_gradient(fake))
        return mixed

    def _write(self, fake) -> None:
        """Writes the last ``min(B, size)`` rows of ``fake`` after the previous writes."""
        count = tf.minimum(tf.shape(fake)[0], self.size)
        rows = tf.cast(fake[tf.shape(fake)[0] - count :], tf.float32)
        slots = (self.written + tf.range(count, dtype=tf.int64)) % self.size
        buffer = tf.convert_to_tensor(self.buffer)
        self.buffer.assign(tf.tensor_scatter_nd_update(buffer, slots[:, None], rows))
        self.written.assign_add(tf.cast(count, tf.int64))
