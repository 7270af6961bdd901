"""From a loaded :class:`~gan_tf.data.base.ImageDataset` to what a step eats: shuffled
float32 batches in ``[-1, 1]`` whose order depends only on ``(seed, epoch)``, the
labelled subset and mixed batches of a semi-supervised run, and NumPy views."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from gan_tf.data.base import ImageDataset
from gan_tf.errors import ConfigError

SHUFFLE_BUFFER = 100_000  # examples an in-memory dataset's epoch shuffle holds at most


def as_arrays(dataset: ImageDataset) -> tuple[np.ndarray, np.ndarray | None]:
    """All of ``dataset``'s examples as NumPy: uint8 ``[N, H, W, C]`` images and int32
    ``[N]`` labels (``None`` unless it was loaded ``with_labels``)."""
    batched = dataset.examples.batch(4096)
    if dataset.with_labels:
        parts = list(batched.as_numpy_iterator())
        return np.concatenate([x for x, _ in parts]), np.concatenate([y for _, y in parts])
    return np.concatenate(list(batched.as_numpy_iterator())), None


def to_float_images(images: tf.Tensor) -> tf.Tensor:
    """uint8 ``[0, 255]`` -> float32 ``[-1, 1]``; float data (toy points) passes unchanged."""
    if images.dtype != tf.uint8:
        return tf.cast(images, tf.float32)
    return tf.cast(images, tf.float32) / 127.5 - 1.0


def first_examples(dataset: ImageDataset, count: int) -> np.ndarray:
    """The first ``count`` examples of ``dataset`` (without labels) as a float32 array:
    images in ``[-1, 1]``, toy points as they are."""
    return np.stack(
        [
            to_float_images(x[0] if isinstance(x, tuple) else x).numpy()
            for x in dataset.examples.take(count)
        ]
    )


def batches(
    dataset: ImageDataset,
    batch_size: int,
    *,
    seed: int,
    epoch: int = 0,
    drop_remainder: bool = True,
) -> tf.data.Dataset:
    """Shuffled, batched float32 images in ``[-1, 1]`` (toy points as they are) and labels.

    The order depends only on ``(seed, epoch)``, so a resumed run sees exactly
    the batches an uninterrupted one would.

    Args:
      dataset: from :func:`load_dataset`.
      batch_size: examples per batch.
      seed: the run's seed.
      epoch: the epoch number; each epoch gets its own order.
      drop_remainder: drop the last short batch so every batch has a static shape.

    Raises:
      ConfigError: if ``drop_remainder`` and the dataset holds less than one batch.
    """
    if drop_remainder and dataset.num_examples < batch_size:
        raise ConfigError(
            f"batch_size={batch_size} is larger than the {dataset.num_examples} examples of "
            f"'{dataset.name}'; lower batch_size or raise max_examples",
            "batch_size",
            "max_examples",
        )
    shuffle_seed = (int(seed) * 1_000_003 + int(epoch)) % (2**31 - 1)
    if dataset.arrays is not None:  # held as arrays: whole batches gathered
        batched = _gathered(dataset, batch_size, shuffle_seed, drop_remainder)
    else:
        if dataset.reorder is not None:  # streamed: paths shuffled before decoding
            examples = dataset.reorder(shuffle_seed)
        else:
            examples = dataset.examples.shuffle(
                min(dataset.num_examples, SHUFFLE_BUFFER),
                seed=shuffle_seed,
                reshuffle_each_iteration=False,
            )
        batched = examples.batch(batch_size, drop_remainder=drop_remainder)
    parallel = {"num_parallel_calls": tf.data.AUTOTUNE, "deterministic": True}
    if dataset.with_labels:
        batched = batched.map(lambda x, y: (to_float_images(x), y), **parallel)
    else:
        batched = batched.map(to_float_images, **parallel)
    return batched.prefetch(tf.data.AUTOTUNE)


def _gathered(
    dataset: ImageDataset, batch_size: int, seed: int, drop_remainder: bool
) -> tf.data.Dataset:
    """uint8 batches (with labels if ``dataset.with_labels``) of ``dataset.arrays``, in
    the order of a permutation of all its examples drawn by ``seed``: an epoch starts
    without reading every example into a shuffle buffer first, and any size is shuffled
    in full."""
    images, labels = dataset.arrays
    order = np.random.default_rng(seed).permutation(dataset.num_examples)
    indices = tf.data.Dataset.from_tensor_slices(order).batch(
        batch_size, drop_remainder=drop_remainder
    )
    if dataset.with_labels:
        return indices.map(lambda index: (tf.gather(images, index), tf.gather(labels, index)))
    return indices.map(lambda index: tf.gather(images, index))


def labelled_subset(
    dataset: ImageDataset, per_class: int, *, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """``per_class`` examples of every class of ``dataset`` (loaded ``with_labels``),
    drawn by ``seed``: the labelled set of a semi-supervised run.

    Returns:
      uint8 images ``[K * per_class, H, W, C]`` and their int32 labels, in class order.

    Raises:
      ConfigError: unlabelled data, or a class with fewer than ``per_class`` examples.
    """
    if not dataset.with_labels:
        raise ConfigError(f"'{dataset.name}' has no class labels to draw labelled examples from")
    images, labels = as_arrays(dataset)
    order = np.random.default_rng(seed).permutation(len(labels))
    chosen = []
    for label in np.unique(labels):
        members = order[labels[order] == label]
        if len(members) < per_class:
            raise ConfigError(
                f"labels_per_class={per_class}, but class {label} of '{dataset.name}' has only "
                f"{len(members)} training examples; lower labels_per_class",
                "labels_per_class",
            )
        chosen.append(members[:per_class])
    chosen = np.concatenate(chosen)
    return images[chosen], labels[chosen]


def labelled_batches_for(
    labelled: tuple[np.ndarray, np.ndarray], batch_size: int, steps: int, *, seed: int
) -> tf.data.Dataset:
    """At least ``steps`` batches of ``batch_size`` labelled examples (float32 images in
    ``[-1, 1]``, int32 labels), cycling through ``labelled`` and reshuffling it on every
    pass; the order depends only on ``seed``."""
    count = len(labelled[1])
    return (
        tf.data.Dataset.from_tensor_slices(labelled)
        .shuffle(count, seed=seed, reshuffle_each_iteration=True)
        .repeat(-(-steps * batch_size // count))
        .batch(batch_size, drop_remainder=True)
        .map(lambda x, y: (to_float_images(x), y))
    )


def semi_supervised_batches(
    dataset: ImageDataset,
    labelled: tuple[np.ndarray, np.ndarray],
    batch_size: int,
    *,
    seed: int,
    epoch: int = 0,
) -> tf.data.Dataset:
    """Batches for a semi-supervised run: ``batch_size`` float32 images in ``[-1, 1]``
    with int32 labels, alternating labelled examples (their class) and unlabelled
    ones (label -1), so any even split of a batch over replicas keeps the mix.

    The unlabelled half walks through every example of ``dataset`` once per epoch
    (as :func:`batches`); the labelled half cycles through ``labelled``, reshuffled
    on every pass. The order depends only on ``(seed, epoch)``, so a resumed run
    sees the same batches.

    Args:
      dataset: the training data, loaded ``with_labels`` (its labels are not used).
      labelled: images and labels from :func:`labelled_subset`.
      batch_size: even; half labelled, half unlabelled.

    Raises:
      ConfigError: an odd ``batch_size``, or more labelled examples per batch than exist.
    """
    half = batch_size // 2
    if batch_size % 2 or half > len(labelled[1]):
        raise ConfigError(
            f"a semi-supervised batch is half labelled, half unlabelled: batch_size must be "
            f"even and at most twice the {len(labelled[1])} labelled examples, got {batch_size}",
            "batch_size",
            "labels_per_class",
        )
    unlabelled = batches(dataset, half, seed=seed, epoch=epoch).map(lambda x, y: x)
    steps = dataset.num_examples // half
    shuffle_seed = (int(seed) * 1_000_003 + int(epoch) + 7_919) % (2**31 - 1)
    labelled_batches = labelled_batches_for(labelled, half, steps, seed=shuffle_seed)

    def interleave(unlabelled_images, labelled_pair):
        images, labels = labelled_pair
        rows = tf.stack([images, unlabelled_images], axis=1)
        mixed = tf.reshape(rows, [batch_size, *images.shape[1:]])
        flags = tf.stack([labels, -tf.ones_like(labels)], axis=1)
        return mixed, tf.reshape(flags, [batch_size])

    return (
        tf.data.Dataset.zip(unlabelled, labelled_batches)
        .map(interleave, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        .prefetch(tf.data.AUTOTUNE)
    )
