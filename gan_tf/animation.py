"""Latent-space animations: walks through the noise space and morphs between classes.

Frames are uint8 image grids; :func:`gan_tf.visualize.write_gif` turns them into
a looping GIF (``experiments/animate.py`` does both).
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from gan_tf import visualize
from gan_tf.errors import ConfigError
from gan_tf.gan import latent_noise

__all__ = ["class_morph", "latent_walk", "slerp"]


def slerp(start, end, t: float) -> np.ndarray:
    """Spherical interpolation between rows of ``start`` and ``end`` at ``t`` in [0, 1].

    Gaussian noise concentrates near a sphere, so moving along great circles
    keeps every intermediate point as likely as the ends (linear interpolation
    cuts through the low-norm interior). Nearly parallel rows fall back to
    linear interpolation.
    """
    start, end = np.asarray(start, np.float64), np.asarray(end, np.float64)
    unit_start = start / np.linalg.norm(start, axis=-1, keepdims=True)
    unit_end = end / np.linalg.norm(end, axis=-1, keepdims=True)
    cos = np.clip(np.sum(unit_start * unit_end, axis=-1, keepdims=True), -1.0, 1.0)
    omega = np.arccos(cos)
    sin = np.sin(omega)
    linear = (1.0 - t) * start + t * end
    with np.errstate(divide="ignore", invalid="ignore"):
        spherical = (np.sin((1.0 - t) * omega) * start + np.sin(t * omega) * end) / sin
    return np.where(sin > 1e-6, spherical, linear).astype(np.float32)


def _check_images(run) -> None:
    if len(run.shape) != 3:
        raise ConfigError(
            f"animations need an image run; {run.output_dir} is a 2-D toy ({run.config.dataset})"
        )


def latent_walk(
    run, *, points: int = 4, steps: int = 12, count: int = 16, seed: int = 0, label=None
):
    """Frames of ``count`` parallel walks through the latent space, as a grid.

    Each grid cell visits ``points`` random noise vectors in turn along great
    circles (:func:`slerp`), ``steps`` frames per leg, and returns to its first
    point, so the GIF loops seamlessly. The walk runs in the standard normal space;
    a run with ``latent_distribution=uniform`` sees each frame's noise mapped to
    [-1, 1] (:func:`gan_tf.gan.latent_noise`).

    Args:
      run: a :class:`gan_tf.run.Run`.
      points: key points per walk (>= 2).
      steps: frames per leg (>= 1).
      count: walks, drawn as a square-ish grid.
      seed: seed of the key points.
      label: conditional runs: one class for every cell; default cell i shows class i mod K.

    Returns:
      uint8 ``[points * steps, H, W, C]`` frames.
    """
    _check_images(run)
    if points < 2 or steps < 1 or count < 1:
        raise ConfigError(
            f"need points >= 2, steps >= 1 and count >= 1, got {points}, {steps}, {count}",
            "points",
            "steps",
            "count",
        )
    keys = tf.random.Generator.from_seed(seed).normal([points, count, run.latent_dim]).numpy()
    labels = run.labels_for(count, label)
    rows = _rows(count)
    frames = []
    for leg in range(points):
        start, end = keys[leg], keys[(leg + 1) % points]
        for t in np.arange(steps) / steps:
            noise = latent_noise(slerp(start, end, t), run.config.latent_distribution)
            images = visualize.to_uint8(run.generate(noise, labels))
            frames.append(visualize.image_grid(images, rows=rows))
    return np.stack(frames)


def class_morph(run, *, steps: int = 12, count: int = 8, seed: int = 0, classes=None):
    """Frames morphing a conditional run's samples from class to class.

    ``count`` fixed noise vectors (one per cell) keep their "style" while the
    class input moves linearly from one class's one-hot vector to the next's,
    through ``classes`` (default all) and back to the first.

    Args:
      run: a conditional :class:`gan_tf.run.Run` (its generator concatenates noise
        and a one-hot class vector; soft vectors mix classes).
      steps: frames per class-to-class leg.
      count: cells of the grid.
      seed: seed of the noise.
      classes: class ids to visit in order (>= 2).

    Returns:
      uint8 ``[len(classes) * steps, H, W, C]`` frames.
    """
    _check_images(run)
    if not run.conditional:
        raise ConfigError(f"class morphs need a conditional run; {run.output_dir} is unconditional")
    if steps < 1 or count < 1:
        raise ConfigError(f"need steps >= 1 and count >= 1, got {steps}, {count}", "steps", "count")
    classes = list(range(run.num_classes)) if classes is None else [int(c) for c in classes]
    if len(classes) < 2 or min(classes) < 0 or max(classes) >= run.num_classes:
        raise ConfigError(
            f"classes needs >= 2 class ids in [0, {run.num_classes - 1}], got {classes}", "classes"
        )
    body = _class_weights_generator(run.generator)
    noise = latent_noise(
        tf.random.Generator.from_seed(seed).normal([count, run.latent_dim]),
        run.config.latent_distribution,
    )
    one_hot = np.eye(run.num_classes, dtype=np.float32)
    rows = _rows(count)
    frames = []
    for leg, current in enumerate(classes):
        following = classes[(leg + 1) % len(classes)]
        for t in np.arange(steps) / steps:
            weights = (1.0 - t) * one_hot[current] + t * one_hot[following]
            mixed = body(noise, np.tile(weights, [count, 1]))
            frames.append(visualize.image_grid(visualize.to_uint8(mixed), rows=rows))
    return np.stack(frames)


def _class_weights_generator(generator: keras.Model):
    """``(noise, class_weights) -> images`` from a conditional generator whose layers
    after its ``Concatenate([noise, one_hot])`` form a chain (gan_tf's conditional generators)."""
    layers = [layer for layer in generator.layers if not isinstance(layer, keras.layers.InputLayer)]
    joins = [i for i, layer in enumerate(layers) if isinstance(layer, keras.layers.Concatenate)]
    if len(joins) != 1:
        raise ConfigError(
            "class morphs need a generator that concatenates noise and a class vector"
        )
    chain = layers[joins[0] + 1 :]

    def generate(noise, weights):
        outputs = tf.concat([tf.cast(noise, tf.float32), tf.constant(weights, tf.float32)], -1)
        for layer in chain:
            outputs = layer(outputs, training=False)
        return np.asarray(outputs, np.float32)

    return generate


def _rows(count: int) -> int:
    """Rows of a square-ish grid of ``count`` cells."""
    rows = int(np.floor(np.sqrt(count)))
    while count % rows:
        rows -= 1
    return rows
