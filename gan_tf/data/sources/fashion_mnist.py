"""Fashion-MNIST: IDX files in ``data_dir``, Keras' cache or where the Debian package
``dataset-fashion-mnist`` installs them, then tfds."""

from __future__ import annotations

import os

from gan_tf.data.base import keras_cache_dir
from gan_tf.data.formats import idx_arrays
from gan_tf.data.sources.known import KnownSource, data_dirs

DEBIAN_DIR = "/usr/share/datasets/fashion-mnist"


def candidates(data_dir, background):
    directories = data_dirs("fashion_mnist", data_dir)
    if data_dir:
        directories.append(os.path.join(data_dir, "fashion-mnist"))
    directories += [os.path.join(keras_cache_dir(), "fashion-mnist"), DEBIAN_DIR]
    for directory in directories:
        yield f"IDX files in {directory}", lambda split, d=directory: idx_arrays(d, split)


SOURCE = KnownSource(
    "fashion_mnist",
    (28, 28, 1),
    10,
    60_000,
    candidates,
    tfds_name="fashion_mnist",
    extra_fix=", or `apt-get install dataset-fashion-mnist`",
)
