"""MNIST: IDX files or Keras' ``mnist.npz`` in ``data_dir``, Keras' cache, then tfds."""

from __future__ import annotations

import os

from gan_tf.data.base import keras_cache_dir
from gan_tf.data.formats import idx_arrays, npz_arrays
from gan_tf.data.sources.known import KnownSource, data_dirs


def candidates(data_dir, background):
    for directory in data_dirs("mnist", data_dir):
        yield f"IDX files in {directory}", lambda split, d=directory: idx_arrays(d, split)
        npz = os.path.join(directory, "mnist.npz")
        yield npz, lambda split, path=npz: npz_arrays(path, split)
    cached = os.path.join(keras_cache_dir(), "mnist.npz")
    yield cached, lambda split: npz_arrays(cached, split)


SOURCE = KnownSource("mnist", (28, 28, 1), 10, 60_000, candidates, tfds_name="mnist")
