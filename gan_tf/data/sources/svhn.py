"""SVHN cropped digits: ``train_32x32.mat`` / ``test_32x32.mat`` in ``data_dir``, then
tfds' ``svhn_cropped``."""

from __future__ import annotations

import os

import numpy as np

from gan_tf.data.base import corrupt, reading
from gan_tf.data.sources.known import KnownSource, data_dirs


def svhn_arrays(directory: str, split: str):
    path = os.path.join(directory, f"{'train' if split == 'train' else 'test'}_32x32.mat")
    if not os.path.isfile(path):
        return None
    import scipy.io

    with reading(path, extra=(scipy.io.matlab.MatReadError,)):
        try:
            mat = scipy.io.loadmat(path)
        except NotImplementedError:  # scipy reads MATLAB v4-v7.2, not v7.3 (HDF5)
            raise corrupt(path, "a MATLAB v7.3 file, not the v5 file SVHN ships") from None
        images = np.ascontiguousarray(np.transpose(mat["X"], (3, 0, 1, 2))).astype(np.uint8)
        labels = mat["y"].reshape(-1).astype(np.int32) % 10  # SVHN stores digit 0 as label 10
        if images.shape[1:] != (32, 32, 3) or len(images) != len(labels):
            raise corrupt(path, f"X {images.shape} and y {labels.shape}")
    return images, labels, path


def candidates(data_dir, background):
    for directory in data_dirs("svhn", data_dir):
        yield f"{directory}/train_32x32.mat", lambda split, d=directory: svhn_arrays(d, split)


SOURCE = KnownSource("svhn", (32, 32, 3), 10, 73_257, candidates, tfds_name="svhn_cropped")
