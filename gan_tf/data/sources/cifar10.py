"""CIFAR-10: the Python pickles (``cifar-10-batches-py``) in ``data_dir`` or where
``keras.datasets.cifar10.load_data`` unpacks them, then tfds."""

from __future__ import annotations

import os

import numpy as np

from gan_tf.data.base import corrupt, keras_cache_dir, reading
from gan_tf.data.formats import read_pickle
from gan_tf.data.sources.known import KnownSource, data_dirs


def cifar_arrays(directory: str, split: str):
    names = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
    paths = [os.path.join(directory, name) for name in names]
    if not all(os.path.isfile(path) for path in paths):
        return None
    images, labels = [], []
    for path in paths:
        with reading(path):
            batch = read_pickle(path)
            images.append(np.asarray(batch[b"data"], np.uint8).reshape(-1, 3, 32, 32))
            labels.append(np.asarray(batch[b"labels"], np.int32).reshape(-1))
            if len(images[-1]) != len(labels[-1]):
                raise corrupt(path, f"{len(images[-1])} images, {len(labels[-1])} labels")
    images = np.concatenate(images).transpose(0, 2, 3, 1)
    return images, np.concatenate(labels), directory


def candidates(data_dir, background):
    cache = keras_cache_dir()
    directories = data_dirs("cifar10", data_dir)
    if data_dir:
        directories.append(os.path.join(data_dir, "cifar-10-batches-py"))
    directories.append(os.path.join(cache, "cifar-10-batches-py"))
    # where keras.datasets.cifar10.load_data (Keras 3) unpacks its download
    directories.append(os.path.join(cache, "cifar-10-batches-py-target", "cifar-10-batches-py"))
    for directory in directories:
        yield f"cifar-10 pickles in {directory}", lambda split, d=directory: cifar_arrays(d, split)


SOURCE = KnownSource("cifar10", (32, 32, 3), 10, 50_000, candidates, tfds_name="cifar10")
