"""Differentiable augmentation of every image the discriminator sees (small datasets).

DiffAugment (Zhao et al., 2020, "Differentiable Augmentation for Data-Efficient
GAN Training", arXiv:2006.10738): the same random transformations are applied
to real and generated images, in the discriminator and the generator update,
built from differentiable ops so the generator learns through them. With an
adaptive probability (Karras et al., 2020, "Training Generative Adversarial
Networks with Limited Data", arXiv:2006.06676, ADA), each image is augmented
with probability ``p``, and ``p`` follows the overfitting heuristic
``r_t = E[sign(D(x_real))]``: up when ``r_t`` exceeds the target, down when below.

Every transformation keeps the shape static and images in ``[-1, 1]``; random
numbers come from the step's stateless ``draws`` (see :class:`gan_tf.distribute.Draws`),
so a run stays reproducible and resumable. A new transformation is one function
and one line of :data:`AUGMENTATIONS`.
"""

from __future__ import annotations

from collections.abc import Callable

import tensorflow as tf

from gan_tf.errors import ConfigError

__all__ = ["AUGMENTATIONS", "augment", "color", "cutout", "flip", "parse_policy", "translation"]


def _per_example(draws, images, rank: int = 4):
    return draws.uniform(tf.stack([tf.shape(images)[0]] + [1] * (rank - 1)))


def flip(images: tf.Tensor, draws) -> tf.Tensor:
    """Mirrors each image left-right with probability 1/2."""
    mirror = _per_example(draws, images) < 0.5
    return tf.where(mirror, tf.reverse(images, axis=[2]), images)


def translation(images: tf.Tensor, draws, ratio: float = 0.125) -> tf.Tensor:
    """Shifts each image by up to ``ratio`` of its size in x and y (integer pixels),
    filling with 0 (mid-grey in ``[-1, 1]``); DiffAugment's default ratio 1/8."""
    height, width = images.shape[1], images.shape[2]
    batch = tf.shape(images)[0]
    limit = [int(height * ratio + 0.5), int(width * ratio + 0.5)]
    shifts = []
    for axis, size in ((0, height), (1, width)):
        draw = draws.uniform(tf.stack([batch]))
        shift = tf.cast(tf.floor(draw * (2 * limit[axis] + 1)), tf.int32) - limit[axis]
        rows = tf.range(size)[None, :] - shift[:, None]  # [B, size]: source index per pixel
        valid = tf.logical_and(rows >= 0, rows < size)
        shifts.append((tf.clip_by_value(rows, 0, size - 1), valid))
    (rows, row_ok), (cols, col_ok) = shifts
    moved = tf.gather(images, rows, axis=1, batch_dims=1)
    moved = tf.gather(moved, cols, axis=2, batch_dims=1)
    mask = tf.cast(tf.logical_and(row_ok[:, :, None], col_ok[:, None, :]), images.dtype)
    return moved * mask[..., None]


def cutout(images: tf.Tensor, draws, ratio: float = 0.5) -> tf.Tensor:
    """Sets one square of ``ratio`` x the image size, at a random place, to 0."""
    height, width = images.shape[1], images.shape[2]
    size = [int(height * ratio + 0.5), int(width * ratio + 0.5)]
    batch = tf.shape(images)[0]
    centre_y = tf.floor(draws.uniform(tf.stack([batch])) * height)
    centre_x = tf.floor(draws.uniform(tf.stack([batch])) * width)
    ys = tf.range(height, dtype=tf.float32)[None, :] - centre_y[:, None]
    xs = tf.range(width, dtype=tf.float32)[None, :] - centre_x[:, None]
    inside_y = tf.abs(ys + 0.5) < size[0] / 2
    inside_x = tf.abs(xs + 0.5) < size[1] / 2
    hole = tf.logical_and(inside_y[:, :, None], inside_x[:, None, :])
    return images * tf.cast(tf.logical_not(hole), images.dtype)[..., None]


def color(images: tf.Tensor, draws) -> tf.Tensor:
    """Random brightness (+-0.5), saturation (x0..2) and contrast (x0.5..1.5), as in
    DiffAugment's ``color`` on ``[-1, 1]`` images; the result is clipped to ``[-1, 1]``."""
    brightness = _per_example(draws, images) - 0.5
    images = images + tf.cast(brightness, images.dtype)
    mean = tf.reduce_mean(images, axis=3, keepdims=True)
    saturation = _per_example(draws, images) * 2.0
    images = (images - mean) * tf.cast(saturation, images.dtype) + mean
    mean = tf.reduce_mean(images, axis=[1, 2, 3], keepdims=True)
    contrast = _per_example(draws, images) + 0.5
    images = (images - mean) * tf.cast(contrast, images.dtype) + mean
    return tf.clip_by_value(images, -1.0, 1.0)


# name -> transformation, applied in this order
AUGMENTATIONS: dict[str, Callable[..., tf.Tensor]] = {
    "color": color,
    "translation": translation,
    "cutout": cutout,
    "flip": flip,
}


def parse_policy(policy: str, param: str = "augment") -> tuple[str, ...]:
    """``"flip,translation"`` -> the names in application order; ``""`` -> ``()``.

    Raises:
      ConfigError: an unknown name (the message lists the valid ones).
    """
    names = {name.strip() for name in policy.split(",") if name.strip()}
    unknown = sorted(names - set(AUGMENTATIONS))
    if unknown:
        raise ConfigError(
            f"unknown {param} {', '.join(unknown)}; choose from: {', '.join(AUGMENTATIONS)}",
            param,
        )
    return tuple(name for name in AUGMENTATIONS if name in names)


def augment(images: tf.Tensor, policy: tuple[str, ...], draws, p=1.0) -> tf.Tensor:
    """Applies each transformation of ``policy`` to each image with probability ``p``
    (a float or a scalar tensor), independently per image and transformation.

    Args:
      images: ``[B, H, W, C]`` in ``[-1, 1]`` (2-D points and empty policies pass through).
      policy: names from :data:`AUGMENTATIONS` (see :func:`parse_policy`).
      draws: the step's random numbers (``uniform(shape)``).
      p: probability of each transformation (1 = DiffAugment, adaptive for ADA).

    Returns:
      The augmented images, same shape and dtype; differentiable w.r.t. ``images``.
    """
    if not policy or len(images.shape) != 4:
        return images
    for name in policy:
        changed = AUGMENTATIONS[name](images, draws)
        if isinstance(p, float) and p >= 1.0:
            images = changed
        else:
            chosen = _per_example(draws, images) < tf.cast(p, tf.float32)
            images = tf.where(chosen, changed, images)
    return images
