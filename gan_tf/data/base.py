"""What every source shares: :class:`ImageDataset` (a loaded dataset), :class:`Request`
(how it is asked for), :class:`Source` (the protocol a source module implements), the
one-line errors for unreadable files, and Keras' cache directory."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import pickle
import zipfile
import zlib
from collections.abc import Callable

import numpy as np
import tensorflow as tf

from gan_tf.errors import ConfigError, DataCorruptError

REFETCH = "delete it and fetch it again, or pass another data_dir"
TEST_SHARE = 10  # 1 in 10 files (by a hash of its name) is the held-out test split


@dataclasses.dataclass
class ImageDataset:
    """A loaded dataset.

    Attributes:
      name: the dataset name it was loaded by.
      examples: unbatched ``tf.data.Dataset`` of uint8 ``[H, W, C]`` images (float32
        in ``[-1, 1]`` for data handed in as floats; 2-D points for the toys), or of
        ``(image, int32 label)`` pairs when loaded ``with_labels``.
      image_shape: ``(H, W, C)``.
      num_examples: number of examples in ``examples``.
      num_classes: number of label classes, or ``None`` for unlabelled data.
      with_labels: whether ``examples`` holds ``(image, label)`` pairs.
      source: where the data came from (a path or ``tfds:<name>``).
      in_memory: decoded images cached in RAM (else streamed from disk).
      reorder: streamed sources: ``seed -> examples`` in an order drawn by ``seed``,
        shuffled before decoding (so an epoch's shuffle holds no decoded images);
        ``None``: :func:`gan_tf.data.batches` shuffles ``examples``.
      provenance: what was handed in, for data given as Python objects (recorded in
        the run directory; ``None`` for data gan_tf opens by name).
      arrays: data held as arrays: the uint8 images ``[N, H, W, C]`` and int32 labels
        ``[N]`` that ``examples`` slices, as tensors; :func:`gan_tf.data.batches` then
        gathers each batch by a seeded permutation of all ``N`` instead of filling a
        shuffle buffer example by example at every epoch's start. ``None`` otherwise.
    """

    name: str
    examples: tf.data.Dataset
    image_shape: tuple[int, ...]
    num_examples: int
    num_classes: int | None
    with_labels: bool
    source: str
    in_memory: bool = True
    reorder: Callable[[int], tf.data.Dataset] | None = None
    provenance: dict | None = None
    arrays: tuple[tf.Tensor, tf.Tensor] | None = None


@dataclasses.dataclass(frozen=True)
class Request:
    """How a dataset is asked for (the arguments of :func:`gan_tf.data.load_dataset`)."""

    split: str = "train"
    data_dir: str | None = None
    with_labels: bool = False
    max_examples: int | None = None
    image_size: int | None = None
    download: bool = True
    background: str = "white"


class Source:
    """One kind of dataset: a module under :mod:`gan_tf.data.sources` makes one and the
    registry (:data:`gan_tf.data.sources.SOURCES`) lists it.

    A source answers for a name (``name``) or, when ``parametrised``, for names of the
    form ``name:ARGUMENT`` (``folder:PATH``, ``tfds:NAME``); ``argument`` below is that
    ``ARGUMENT`` (``None`` otherwise). Subclasses implement :meth:`load` and
    :meth:`image_shape`, and may override the rest.
    """

    name: str = ""
    usage: str = ""  # how the name is spelled in DATASET_NAMES and help texts
    parametrised: bool = False
    toy: bool = False  # 2-D points, not images
    defaults: dict = {}  # config fields this source's runs default to (the toys' 2-D noise)
    metrics: tuple[str, ...] = ()  # what --eval_metrics=auto scores it with (empty: generic)

    def load(self, argument: str | None, request: Request) -> ImageDataset:
        """The dataset, or :class:`DataNotFoundError` naming what was tried and the fix."""
        raise NotImplementedError

    def image_shape(
        self, argument: str | None, image_size: int | None, data_dir: str | None = None
    ) -> tuple[int, ...]:
        """What :meth:`load` yields per example, without loading anything (``data_dir``
        as in :class:`Request`)."""
        raise NotImplementedError

    def memory_bytes(
        self, argument, image_size, max_examples, split, data_dir=None
    ) -> tuple[int, int]:
        """``(bytes, examples)`` of decoded data :meth:`load` keeps in RAM (an estimate
        made without decoding; ``(0, 0)`` when unknown)."""
        return 0, 0

    def download(self, argument: str | None, directory: str | None) -> list[str]:
        """Fetches the data for use without ``make``; returns the paths written. Only
        sources that fetch themselves override it (tfds and Keras fetch the others)."""
        raise NotImplementedError

    def unknown_labels(self, name: str) -> ConfigError:
        return ConfigError(f"dataset '{name}' has no class labels", "dataset")


def keras_cache_dir() -> str:
    """Where ``keras.datasets.*.load_data`` caches its downloads."""
    return os.path.join(os.environ.get("KERAS_HOME", os.path.expanduser("~/.keras")), "datasets")


def held_out(name: str) -> bool:
    """Whether a file (by its name or path) belongs to the held-out test tenth."""
    return zlib.crc32(name.encode()) % TEST_SHARE == 0


def rank_within_class(labels: np.ndarray) -> np.ndarray:
    """Each example's position among the examples of its class."""
    rank = np.zeros(len(labels), np.int64)
    for label in np.unique(labels):
        rank[labels == label] = np.arange((labels == label).sum())
    return rank


def pack(examples: tf.data.Dataset, with_labels: bool) -> tf.data.Dataset:
    """``(image, label)`` pairs as they are, or the images alone."""
    if with_labels:
        return examples
    return examples.map(lambda image, label: image)


def from_arrays(
    images, labels, max_examples, with_labels
) -> tuple[tf.data.Dataset, tuple[tf.Tensor, tf.Tensor]]:
    """``examples`` (:func:`pack`) of uint8 ``images`` and int32 ``labels`` (the first
    ``max_examples``), and the two tensors they slice (:attr:`ImageDataset.arrays`)."""
    if max_examples is not None:
        images, labels = images[:max_examples], labels[:max_examples]
    tensors = (tf.convert_to_tensor(images), tf.convert_to_tensor(labels, tf.int32))
    return pack(tf.data.Dataset.from_tensor_slices(tensors), with_labels), tensors


def find_file(directory: str, names: list[str]) -> str | None:
    for name in names:
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            return path
    return None


def corrupt(path: str, reason: str, fix: str = REFETCH) -> DataCorruptError:
    """The one-line error for a dataset file that exists but cannot be read."""
    return DataCorruptError(f"{path} is corrupt ({reason}); {fix}", "data_dir")


@contextlib.contextmanager
def reading(path: str, fix: str = REFETCH, extra: tuple[type[BaseException], ...] = ()):
    """Turns what a truncated or malformed ``path`` makes a reader raise into a
    :class:`DataCorruptError`; a missing file or a denied permission passes unchanged."""
    content_errors = (EOFError, ValueError, KeyError, IndexError, TypeError, zlib.error)
    try:
        yield
    except DataCorruptError:
        raise
    except (*content_errors, pickle.UnpicklingError, zipfile.BadZipFile, *extra) as error:
        raise corrupt(path, reason(error), fix) from None
    except OSError as error:  # gzip.BadGzipFile, PIL's truncated images, read errors
        if isinstance(error, (FileNotFoundError, PermissionError, IsADirectoryError)):
            raise
        raise corrupt(path, reason(error), fix) from None


def reason(error: BaseException) -> str:
    """``Type: message`` of ``error`` on one line of at most ~80 characters."""
    text = str(error.args[0]) if isinstance(error, KeyError) and error.args else str(error)
    text = " ".join(text.split())
    text = text if len(text) <= 80 else text[:77] + "..."
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
