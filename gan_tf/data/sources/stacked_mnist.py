"""Stacked MNIST: three MNIST digits as the three channels of one 28x28 image, 1,000 modes.

As the PacGAN authors build it for their VEEGAN-architecture table (Lin et al., 2018,
``stacked_MNIST_experiments/VEEGAN_experiment/model.py``): 128,000 images, each
channel an independent uniform draw, with replacement, from the MNIST training and
test images pooled; channel ``j`` holds digit ``j``. The draws are fixed (seed 0), so
the data set is the same every run and a resume continues exactly. The label is the
mode, ``100 * d0 + 10 * d1 + d2``. The test split draws 10,000 from the test images
alone (seed 1).

``stacked_mnist`` stacks whatever MNIST source gan_tf finds (IDX files, ``mnist.npz``,
tfds); ``stacked_mnist_5k`` stacks the offline 5,000-image subset of ``mnist_5k``,
which still has every digit and so all 1,000 modes. The modes are counted by
:func:`gan_tf.eval.modes.stacked_mode_metrics` with the shipped MNIST classifier
(``--eval_metrics=modes``).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf

from gan_tf.data import images
from gan_tf.data.base import ImageDataset, Request, Source, pack
from gan_tf.data.sources import mnist, mnist_5k

EXAMPLES = {"train": 128_000, "test": 10_000}
SHAPE = (28, 28, 3)


class StackedSource(Source):
    """Stacked MNIST built from the digits of ``base`` (a source of 28x28x1 MNIST)."""

    num_classes = 1000
    metrics = ("modes",)

    def __init__(self, name: str, base: Source):
        self.name = self.usage = name
        self.base = base

    def image_shape(self, argument, image_size, data_dir=None):
        return (image_size, image_size, 3) if image_size else SHAPE

    def memory_bytes(self, argument, image_size, max_examples, split, data_dir=None):
        count = min(EXAMPLES[split], max_examples or EXAMPLES[split])
        digits, _ = self.base.memory_bytes(None, None, None, "train", data_dir)
        shape = self.image_shape(argument, image_size)
        return 2 * digits + count * int(np.prod(shape)), count  # both splits' digits

    def digits(self, request: Request, split: str) -> tuple[np.ndarray, np.ndarray, str]:
        """The base's uint8 ``[N, 28, 28]`` digits and labels of ``split`` (no resize)."""
        base_request = dataclasses.replace(
            request, split=split, with_labels=True, max_examples=None, image_size=None
        )
        loaded = self.base.load(None, base_request)
        batches = list(loaded.examples.batch(10_000).as_numpy_iterator())
        digits = np.concatenate([x for x, _ in batches])[..., 0]
        labels = np.concatenate([y for _, y in batches])
        return digits, labels, loaded.source

    def load(self, argument, request: Request) -> ImageDataset:
        if request.split == "train":  # the authors pool MNIST's train and test images
            train, test = self.digits(request, "train"), self.digits(request, "test")
            digits = np.concatenate([train[0], test[0]])
            labels, where = np.concatenate([train[1], test[1]]), train[2]
        else:
            digits, labels, where = self.digits(request, "test")
        count = EXAMPLES["train" if request.split == "train" else "test"]
        rng = np.random.default_rng(0 if request.split == "train" else 1)
        picks = rng.integers(len(digits), size=(count, 3))
        if request.max_examples:
            picks = picks[: request.max_examples]
        modes = (labels[picks] * np.array([100, 10, 1])).sum(axis=1).astype(np.int32)
        table = tf.constant(digits)
        size = request.image_size

        def stack(indices, mode):  # a batch of stacks at a time: [B, 3] -> [B, 28, 28, 3]
            image = tf.stack([tf.gather(table, indices[:, j]) for j in range(3)], axis=-1)
            if size and size != SHAPE[0]:
                image = images.resize_uint8(image, size)
            return image, mode

        examples = tf.data.Dataset.from_tensor_slices((picks, modes)).batch(1024)
        examples = examples.map(stack).unbatch().cache()
        shape = self.image_shape(argument, size)
        source = (
            f"{len(picks)} stacks of 3 digits drawn from {len(digits)} {self.base.name} "
            f"images ({where})"
        )
        return ImageDataset(
            self.name,
            pack(examples, request.with_labels),
            shape,
            len(picks),
            self.num_classes,
            request.with_labels,
            source,
        )


SOURCE = StackedSource("stacked_mnist", mnist.SOURCE)
SOURCE_5K = StackedSource("stacked_mnist_5k", mnist_5k.SOURCE)
