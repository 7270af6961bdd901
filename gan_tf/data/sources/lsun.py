"""``lsun:CATEGORY``: an LSUN category (``bedroom``, ``church_outdoor``, ``cat``...) from
the official LMDB export, the files torchvision's ``LSUN`` class and the PyTorch DCGAN
example read; images centre-cropped square and resized to ``image_size`` (64 by default),
RGB. No labels.

Layout, looked for in ``data_dir``, ``data_dir/lsun`` and Keras' cache
(``~/.keras/datasets/lsun``): ``<category>_train_lmdb/`` and ``<category>_val_lmdb/``
(scene categories, as LSUN's ``download.py`` unzips them), or ``<category>/`` (an object
category's single LMDB), each holding ``data.mdb`` (``lock.mdb`` is not needed). Each
key is an image id, each value the encoded image: WebP in the official export, JPEG or
PNG accepted too. WebP is decoded with Pillow (TensorFlow has no WebP decoder), then
cropped and resized with :func:`gan_tf.data.images.center_crop_resize`. Reading needs
the ``lmdb`` package (``pip install lmdb``, or ``pip install "gan_tf[lsun]"``).

Splits: ``train`` is every image of the train LMDB (as the seeds train); ``test`` is
the ``_val_lmdb`` export (300 images per scene category) when present, else the tenth
of the train keys that :func:`~gan_tf.data.base.held_out` picks, which then are also
training images. Without local files, tfds' ``lsun/<category>`` builder is tried.

Examples follow the LMDB's key order (sorted bytes); ``max_examples`` keeps the first
keys. Only the key list is held in RAM at load time (~40 bytes per image; LSUN bedroom
has 3 M). Decoded images that fit in :data:`gan_tf.data.sources.folder.CACHE_BYTES`
(the folders' budget) are cached after the first epoch; more are streamed: each epoch
permutes the key indices by its seed, then reads and decodes in parallel."""

from __future__ import annotations

import dataclasses
import io
import os
import threading

import numpy as np
import tensorflow as tf

from gan_tf.data import images
from gan_tf.data.base import (
    ImageDataset,
    Request,
    Source,
    corrupt,
    held_out,
    keras_cache_dir,
    reading,
    reason,
)
from gan_tf.data.sources import folder, tfds_source
from gan_tf.errors import ConfigError, DataCorruptError, DataNotFoundError

DEFAULT_SIZE = 64
CHECKED_VALUES = 4  # values decoded at load time, so a wrong file fails before training
KEY_CHUNK = 65_536  # keys gathered per NumPy array while listing an LMDB
INSTALL = 'pip install lmdb (or pip install "gan_tf[lsun]")'
GET = (
    "download {c}_train_lmdb.zip and {c}_val_lmdb.zip (LSUN's download.py -c {c}), unzip "
    "them into data_dir and pass data_dir"
)
_ENVIRONMENTS: dict[tuple, object] = {}  # open LMDB environments by (path, size, mtime)
_ENVIRONMENTS_LOCK = threading.Lock()


def _category(argument: str) -> str:
    category = argument.strip()
    if not category or os.sep in category:
        raise ConfigError(
            f"dataset=lsun:{argument} needs a category name, e.g. lsun:bedroom", "dataset"
        )
    return category


def _roots(data_dir: str | None) -> list[str]:
    places = [data_dir, os.path.join(data_dir, "lsun")] if data_dir else []
    return [*places, os.path.join(keras_cache_dir(), "lsun")]


def _candidates(category: str, split: str, data_dir: str | None) -> list[tuple[str, bool]]:
    """``(LMDB directory, take the held-out tenth of its keys)`` pairs, in the order tried."""
    roots = _roots(data_dir)
    train = [(os.path.join(root, f"{category}_train_lmdb"), False) for root in roots]
    train += [(os.path.join(root, category), False) for root in roots]  # object categories
    if split == "train":
        return train
    val = [(os.path.join(root, f"{category}_val_lmdb"), False) for root in roots]
    return val + [(path, True) for path, _ in train]


def _present(path: str) -> bool:
    if os.path.basename(path).endswith("_lmdb"):
        return os.path.isdir(path)
    return os.path.isfile(os.path.join(path, "data.mdb"))  # a bare <category>/ must be LMDB


def _import_lmdb(name: str):
    try:
        import lmdb
    except ImportError:
        raise DataNotFoundError(
            f"dataset '{name}' reads LSUN's LMDB files, which needs the lmdb package: {INSTALL}",
            "dataset",
        ) from None
    return lmdb


class LmdbImages:
    """One LMDB export opened read-only: its keys (sorted bytes) and their decoding.

    Args:
      path: the directory holding ``data.mdb``.
      name: the dataset name, for messages.
      background: colour behind transparent pixels.

    Raises:
      DataNotFoundError: the ``lmdb`` package is missing.
      DataCorruptError: ``path`` is not an LMDB environment.
    """

    def __init__(self, path: str, name: str, background: str = "white"):
        self.path, self.name, self.background = path, name, background
        self.fix = f"delete {path} and fetch it again, or pass another data_dir"
        self.lmdb = _import_lmdb(name)
        self.environment = self._open()
        self.keys = np.zeros(0, bytes)

    def _open(self):
        data_file = os.path.join(self.path, "data.mdb")
        if not os.path.isfile(data_file):
            raise corrupt(self.path, "no data.mdb in it: not an LMDB export", self.fix)
        stat = os.stat(data_file)
        cache_key = (os.path.realpath(self.path), stat.st_size, stat.st_mtime_ns)
        with _ENVIRONMENTS_LOCK, reading(self.path, self.fix, (self.lmdb.Error,)):
            if cache_key not in _ENVIRONMENTS:
                # lock=False: read-only use needs no lock.mdb (a read-only copy works)
                _ENVIRONMENTS[cache_key] = self.lmdb.open(
                    self.path, readonly=True, lock=False, readahead=False, meminit=False
                )
            return _ENVIRONMENTS[cache_key]

    def count(self) -> int:
        """Entries in the LMDB (from its header: nothing is listed)."""
        with reading(self.path, self.fix, (self.lmdb.Error,)):
            return int(self.environment.stat()["entries"])

    def list_keys(self, limit: int | None = None, held: bool = False) -> np.ndarray:
        """The first ``limit`` keys (all when ``None``; only the held-out tenth when
        ``held``) in the LMDB's order, kept as ``self.keys``: fixed-width bytes, half
        the memory of a list of ``bytes``."""
        if limit is not None and limit <= 0:
            self.keys = np.zeros(0, bytes)
            return self.keys
        chunks, chunk, total = [], [], 0
        with reading(self.path, self.fix, (self.lmdb.Error,)):
            with self.environment.begin() as transaction:
                for key in transaction.cursor().iternext(keys=True, values=False):
                    if held and not held_out(key.decode("latin-1")):
                        continue
                    chunk.append(key)
                    total += 1
                    if len(chunk) == KEY_CHUNK or total == limit:
                        chunks.append(_pack(chunk))
                        chunk = []
                    if total == limit:
                        break
        if chunk:
            chunks.append(_pack(chunk))
        self.keys = np.concatenate(chunks) if chunks else np.zeros(0, bytes)
        return self.keys

    def decode(self, key: bytes) -> np.ndarray:
        """The image stored under ``key``: uint8 ``[H, W, 3]`` RGB, any alpha composited
        over the background.

        Raises:
          DataCorruptError: naming the LMDB and the key, when it cannot be decoded.
        """
        from PIL import Image, UnidentifiedImageError

        with reading(self.path, self.fix, (self.lmdb.Error,)):
            with self.environment.begin() as transaction:
                value = transaction.get(key)
        if value is None:
            raise corrupt(self.path, f"key {_shown(key)} has no value", self.fix)
        try:
            with Image.open(io.BytesIO(value)) as image:
                if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
                    return images.composite(np.asarray(image.convert("RGBA")), self.background)
                return np.asarray(image.convert("RGB"))
        except UnidentifiedImageError:
            problem = "not a WebP/JPEG/PNG image"
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
            problem = reason(error)
        raise corrupt(self.path, f"the value of key {_shown(key)}: {problem}", self.fix)

    def check(self, count: int = CHECKED_VALUES) -> None:
        """Decodes the first ``count`` keys' values (a clear error before training)."""
        for key in self.keys[:count]:
            self.decode(bytes(key))

    def dataset(self, size: int, order_seed: int | None = None) -> tf.data.Dataset:
        """uint8 ``[size, size, 3]`` images of ``self.keys``, in key order or, with
        ``order_seed``, in a permutation drawn by it. The key indices are permuted before
        anything is read, so memory holds indices, not decoded images; values are read
        and decoded in parallel (Pillow releases the GIL while it decodes), then
        cropped and resized by TensorFlow."""
        count = len(self.keys)
        if order_seed is None:
            indices = tf.data.Dataset.range(count)
        else:
            order = np.random.default_rng(order_seed).permutation(count)
            indices = tf.data.Dataset.from_tensor_slices(order.astype(np.int64))

        def read(index):
            return self.decode(bytes(self.keys[int(index)]))

        def decode(index):
            image = tf.numpy_function(read, [index], tf.uint8, stateful=False)
            image.set_shape([None, None, 3])
            return images.center_crop_resize(image, None, size)

        return indices.map(decode, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def _shown(key: bytes) -> str:
    return key[:64].decode("ascii", "backslashreplace")


def _pack(keys: list[bytes]) -> np.ndarray:
    # NumPy's fixed-width bytes drop trailing NULs: keys ending in one stay bytes objects
    if any(key.endswith(b"\0") for key in keys):
        return np.array(keys, dtype=object)
    return np.array(keys, dtype=bytes)


def _no_images(name: str, category: str, path: str, held: bool, fix: str) -> Exception:
    if not held:
        return corrupt(path, "it holds no images", fix)
    return DataNotFoundError(
        f"dataset '{name}': no {category}_val_lmdb/ beside {path}, and none of its keys falls "
        f"in the held-out tenth (too few images); add {category}_val_lmdb/ or evaluate against "
        "split=train",
        "split",
    )


class LsunSource(Source):
    name, usage, parametrised = "lsun", "lsun:CATEGORY", True

    def image_shape(self, argument, image_size, data_dir=None):
        side = image_size or DEFAULT_SIZE
        return (side, side, 3)

    def memory_bytes(self, argument, image_size, max_examples, split, data_dir=None):
        count = None
        for path, held in _candidates(_category(argument), split, data_dir):
            if _present(path):
                try:
                    count = LmdbImages(path, f"lsun:{argument}").count()
                except (DataNotFoundError, DataCorruptError):
                    break  # load() reports it
                count = count // 10 if held else count
                break
        count = min(count, max_examples or count) if count is not None else max_examples
        if not count:
            return 0, 0
        cached = count * int(np.prod(self.image_shape(argument, image_size)))
        return (cached if cached <= folder.CACHE_BYTES else 0), count

    def load(self, argument, request: Request) -> ImageDataset:
        category = _category(argument)
        name, data_dir = f"lsun:{category}", request.data_dir
        if request.with_labels:
            raise self.unknown_labels(name)
        if data_dir and not os.path.isdir(data_dir):
            raise DataNotFoundError(
                f"data_dir={data_dir} does not exist; pass the directory that holds "
                f"{category}_train_lmdb/, or leave data_dir unset to use ~/.keras/datasets/lsun",
                "data_dir",
            )
        candidates = _candidates(category, request.split, data_dir)
        found = [(path, held) for path, held in candidates if _present(path)]
        if not found:
            tried = list(dict.fromkeys(os.path.dirname(path) for path, _ in candidates))
            return self._tfds(category, request, tried)
        path, held = found[0]
        lmdb_images = LmdbImages(path, name, request.background)
        keys = lmdb_images.list_keys(request.max_examples, held)
        if not len(keys) and request.max_examples != 0:
            raise _no_images(name, category, path, held, lmdb_images.fix)
        lmdb_images.check()
        size = request.image_size or DEFAULT_SIZE
        in_memory = len(keys) * size * size * 3 <= folder.CACHE_BYTES
        examples = lmdb_images.dataset(size)
        return ImageDataset(
            name,
            examples.cache() if in_memory else examples,
            (size, size, 3),
            len(keys),
            None,
            False,
            f"{path} (held-out tenth of its keys)" if held else path,
            in_memory,
            None if in_memory else (lambda seed: lmdb_images.dataset(size, seed)),
        )

    def _tfds(self, category: str, request: Request, tried: list[str]) -> ImageDataset:
        try:
            dataset = tfds_source.SOURCE.load(f"lsun/{category}", request)
        except Exception as error:  # noqa: BLE001 - any tfds failure means "not available here"
            # the tfds source's own error wraps the cause (offline, not prepared, unknown name)
            cause = error.__context__ if isinstance(error, DataNotFoundError) else None
            layout = f"{category}_train_lmdb/ or {category}/ with data.mdb"
            if request.split != "train":
                layout = f"{category}_val_lmdb/, {layout}"
            raise DataNotFoundError(
                f"dataset 'lsun:{category}' not found: no {layout} in {', '.join(tried)}, "
                f"and tfds 'lsun/{category}' is not available ({reason(cause or error)}). Fix: "
                f"{GET.format(c=category)}, then {INSTALL}",
                "data_dir",
            ) from None
        return dataclasses.replace(dataset, name=f"lsun:{category}")


SOURCE = LsunSource()
