"""PacGAN's packing (Lin et al., 2018): the discriminator judges ``m`` samples at once.

``m`` samples of the same kind (all real or all generated) are concatenated along
their last axis, the channels of an image or the coordinates of a point, and the
discriminator, built for that wider input, returns one logit per pack. Nothing
else changes: the same losses score the packs' logits. The authors' code stacks
the samples the same way (their ``PacDCGAN`` concatenates along channels).
"""

from __future__ import annotations

import tensorflow as tf

__all__ = ["pack_samples", "packed_shape"]


def packed_shape(shape: tuple[int, ...], pack: int) -> tuple[int, ...]:
    """The shape of one pack of ``pack`` examples of ``shape``: the last axis times
    ``pack`` (``(28, 28, 3)``, 2 -> ``(28, 28, 6)``; ``(2,)``, 4 -> ``(8,)``)."""
    shape = tuple(int(side) for side in shape)
    return shape[:-1] + (shape[-1] * int(pack),)


def pack_samples(samples: tf.Tensor, pack: int) -> tf.Tensor:
    """``[B, ..., C]`` -> ``[B / pack, ..., pack * C]``: examples ``pack * i`` to
    ``pack * i + pack - 1`` become pack ``i``, example ``j`` of a pack in channels
    ``j * C`` to ``j * C + C - 1``. ``pack == 1`` returns ``samples`` as they are.

    Raises:
      tf.errors.InvalidArgumentError: ``B`` is not a multiple of ``pack``.
    """
    if pack == 1:
        return samples
    shape = tf.shape(samples)
    batch, channels = shape[0], shape[-1]
    tf.debugging.assert_equal(
        batch % pack, 0, message=f"the batch must be a multiple of pack={pack}"
    )
    rank = len(samples.shape)
    grouped = tf.reshape(samples, tf.concat([[batch // pack, pack], shape[1:]], 0))
    # [B/m, m, ..., C] -> [B/m, ..., m, C]: each example's channels stay together
    order = [0, *range(2, rank + 1)]
    order.insert(rank - 1, 1)
    moved = tf.transpose(grouped, order)
    return tf.reshape(moved, tf.concat([[batch // pack], shape[1:-1], [pack * channels]], 0))
