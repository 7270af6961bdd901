"""The registry of dataset sources, and the entry points that dispatch on it."""

from __future__ import annotations

import os

from gan_tf.data.base import ImageDataset, Request, Source
from gan_tf.data.images import background_rgb
from gan_tf.data.sources import (
    celeb_a,
    cifar10,
    emoji,
    fashion_mnist,
    folder,
    handed_in,
    lsun,
    mnist,
    mnist_5k,
    stacked_mnist,
    svhn,
    tfds_source,
    toys,
)
from gan_tf.errors import ConfigError

SOURCES: dict[str, Source] = {
    source.name: source
    for source in (
        mnist.SOURCE,
        fashion_mnist.SOURCE,
        cifar10.SOURCE,
        svhn.SOURCE,
        celeb_a.SOURCE,
        emoji.SOURCE,
        mnist_5k.SOURCE,
        stacked_mnist.SOURCE,
        stacked_mnist.SOURCE_5K,
        toys.RING8,
        toys.GRID25,
        folder.SOURCE,
        lsun.SOURCE,
        tfds_source.SOURCE,
        handed_in.SOURCE,
    )
}
DATASET_NAMES = tuple(source.usage for source in SOURCES.values() if source is not handed_in.SOURCE)
# the names whose source fetches them itself (tfds and Keras fetch the others on first use)
DOWNLOADABLE = tuple(
    name for name, source in SOURCES.items() if type(source).download is not Source.download
)


def resolve(name: str) -> tuple[Source, str | None]:
    """``(source, argument)`` for a dataset name: ``mnist`` -> ``(mnist source, None)``,
    ``folder:~/pets`` -> ``(folder source, "~/pets")``.

    Raises:
      ConfigError: for an unknown name (listing the valid ones).
    """
    prefix, colon, argument = name.partition(":")
    source = SOURCES.get(prefix)
    if source is not None and source.parametrised == bool(colon):
        return source, (argument if colon else None)
    raise ConfigError(
        f"unknown dataset '{name}'; choose one of: {', '.join(DATASET_NAMES)}", "dataset"
    )


def load_dataset(
    name: str,
    *,
    split: str = "train",
    data_dir: str | None = None,
    with_labels: bool = False,
    max_examples: int | None = None,
    image_size: int | None = None,
    download: bool = True,
    background: str = "white",
) -> ImageDataset:
    """Loads a dataset by name (see :mod:`gan_tf.data` for names and sources).

    Args:
      name: one of :data:`DATASET_NAMES` (``folder:PATH`` with a real path,
        ``tfds:NAME`` with a tfds name).
      split: ``"train"`` or ``"test"``.
      data_dir: a directory holding the dataset's raw files; also tfds' data dir.
      with_labels: yield ``(image, label)`` pairs.
      max_examples: keep only the first ``max_examples`` examples.
      image_size: resize images to ``image_size`` x ``image_size`` (default: the
        dataset's own size; 64 for folders and tfds datasets of varying size).
      download: let ``tfds.load`` download when no local files are found.
      background: colour behind transparent pixels (``emoji``, folders, tfds):
        ``white``, ``black``, ``gray`` or ``#rrggbb``.

    Returns:
      An :class:`ImageDataset` of uint8 images.

    Raises:
      ConfigError: for an unknown name or labels asked of unlabelled data.
      DataNotFoundError: when no source provides the data.
      DataCorruptError: when a dataset file is found but cannot be read (no other
        source is tried then), or no image file of a folder decodes.
    """
    source, argument = resolve(name)
    background_rgb(background)  # a bad colour fails before anything loads
    request = Request(
        split, _expanded(data_dir), with_labels, max_examples, image_size, download, background
    )
    return source.load(argument, request)


def image_shape_of(
    name: str, image_size: int | None = None, data_dir: str | None = None
) -> tuple[int, ...]:
    """The ``(H, W, C)`` that :func:`load_dataset` yields for ``name``, without loading it.

    Raises:
      ConfigError: for an unknown dataset name.
    """
    source, argument = resolve(name)
    return source.image_shape(argument, image_size, _expanded(data_dir))


def memory_bytes(
    name: str,
    image_size: int | None = None,
    max_examples: int | None = None,
    split: str = "train",
    data_dir: str | None = None,
) -> tuple[int, int]:
    """What :func:`load_dataset` will keep in RAM for ``name``, estimated without
    decoding anything (a folder's files are only listed): the decoded examples held as
    arrays or in tf.data caches (the source's own arrays, plus the resized copy when
    ``image_size`` differs from the source's size; folders above
    :data:`gan_tf.data.sources.folder.CACHE_BYTES` are streamed, not cached).

    Returns:
      ``(bytes, examples)``; ``(0, 0)`` where unknown before loading (tfds).

    Raises:
      ConfigError: for an unknown dataset name.
    """
    source, argument = resolve(name)
    return source.memory_bytes(argument, image_size, max_examples, split, _expanded(data_dir))


def _expanded(data_dir: str | None) -> str | None:
    return os.path.expanduser(data_dir) if data_dir else None


def is_toy(name: str) -> bool:
    """True for the 2-D Gaussian mixtures ``ring8`` and ``grid25``."""
    source = SOURCES.get(name)
    return source is not None and source.toy


def dataset_metrics(name: str) -> tuple[str, ...]:
    """The metrics ``name`` is scored with by default when its source names them
    (Stacked MNIST: ``modes``), else ``()``."""
    source = SOURCES.get(name.partition(":")[0])
    return tuple(source.metrics) if source is not None else ()


def config_defaults(name: str) -> dict:
    """Config fields that runs on ``name`` default to (the toys' 2-D noise and batch)."""
    source = SOURCES.get(name.partition(":")[0])
    return dict(source.defaults) if source is not None else {}


def download(name: str, directory: str | None = None) -> list[str]:
    """Fetches dataset ``name`` for use without ``make``, npm or tfds.

    ``"emoji"``: the two pinned npm tarballs over HTTPS, each checked against its
    SHA-256 before it is kept, then unpacked and the tarballs deleted (see
    :func:`gan_tf.data.sources.emoji.download`). Already unpacked packages are not
    fetched again.

    Args:
      name: a dataset whose source fetches itself (``emoji``).
      directory: where to put it (default: where ``load_dataset`` looks, in Keras'
        cache).

    Returns:
      The paths it wrote.

    Raises:
      ConfigError: a name it cannot fetch (the message says what fetches it).
      DataNotFoundError: the download failed (the message names the URL).
      DataCorruptError: a file is not the pinned one.
    """
    if name not in DOWNLOADABLE:
        known = name.partition(":")[0] in SOURCES
        other = "tfds or Keras fetch it on first use" if known else "unknown"
        raise ConfigError(
            f"cannot download '{name}' ({other}); download fetches: {', '.join(DOWNLOADABLE)}",
            "dataset",
        )
    source, argument = resolve(name)
    return source.download(argument, directory)
