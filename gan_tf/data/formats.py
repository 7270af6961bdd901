"""Readers of the raw file formats datasets ship in: IDX (MNIST), Keras' ``.npz`` and
the pickles of CIFAR-10 (read without running code from them)."""

from __future__ import annotations

import gzip
import os
import pickle

import numpy as np

from gan_tf.data.base import corrupt, find_file, reading, reason
from gan_tf.errors import DataCorruptError

__all__ = ["idx_arrays", "npz_arrays", "read_idx", "read_pickle"]


def read_idx(path: str) -> np.ndarray:
    """Reads an IDX file (the MNIST format), gzipped or not, into a NumPy array.

    Raises:
      DataCorruptError: if the file is not a valid unsigned-byte IDX file (a bad header,
        fewer or more bytes than its header says, a broken gzip stream).
    """
    opener = gzip.open if path.endswith(".gz") else open
    with reading(path):
        with opener(path, "rb") as handle:
            data = handle.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise corrupt(path, "not an unsigned-byte IDX file")
    ndim = data[3]
    offset = 4 + 4 * ndim
    if len(data) < offset:
        raise corrupt(path, f"IDX header of {ndim} sizes cut short")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    array = np.frombuffer(data, dtype=np.uint8, offset=offset)
    if array.size != int(np.prod(shape)):
        raise corrupt(path, f"header says {shape} but {array.size} bytes follow")
    return array.reshape(shape)


def idx_arrays(directory: str, split: str):
    prefix = "train" if split == "train" else "t10k"
    images = find_file(
        directory,
        [
            f"{prefix}-images-idx3-ubyte.gz",
            f"{prefix}-images-idx3-ubyte",
            f"{prefix}-images.idx3-ubyte",
        ],
    )
    labels = find_file(
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
        raise corrupt(images, f"IDX shape {image_array.shape}, not [N, H, W] images")
    if label_array.shape != image_array.shape[:1]:
        raise corrupt(labels, f"IDX shape {label_array.shape} for {len(image_array)} images")
    return image_array[..., None], label_array.astype(np.int32), images


def npz_arrays(path: str, split: str):
    if not os.path.isfile(path):
        return None
    suffix = "train" if split == "train" else "test"
    with reading(path):
        with np.load(path) as arrays:
            images, labels = arrays[f"x_{suffix}"], arrays[f"y_{suffix}"]
        if images.ndim == 3:
            images = images[..., None]
        labels = labels.astype(np.int32).reshape(-1)
        if images.ndim != 4 or len(images) != len(labels):
            raise corrupt(path, f"x_{suffix} {images.shape} and y_{suffix} {labels.shape}")
    return images.astype(np.uint8), labels, path


def pickle_globals() -> dict[tuple[str, str], object]:
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


class DataUnpickler(pickle.Unpickler):
    """Unpickles data files without running code from them.

    A pickle names the callables it wants run (``__reduce__``); this unpickler resolves
    only the NumPy array reconstruction of :func:`pickle_globals` and refuses every
    other name, before anything is called, as a :class:`DataCorruptError` naming the
    file. Persistent ids are refused by ``pickle.Unpickler`` itself.
    """

    def __init__(self, handle, path: str, kind: str):
        super().__init__(handle, encoding="bytes")  # Python 2's str -> bytes, as CIFAR needs
        self._path, self._kind, self._allowed = path, kind, pickle_globals()

    def find_class(self, module: str, name: str):
        found = self._allowed.get((module, name))
        if found is None:
            asked = " ".join(f"{module}.{name}".split())
            asked = asked if len(asked) <= 60 else asked[:57] + "..."
            raise corrupt(
                self._path, f"it asks to run {asked}, which {self._kind} never does: refused"
            )
        return found


def read_pickle(path: str, kind: str = "a CIFAR-10 batch"):
    """Reads the pickle at ``path`` with :class:`DataUnpickler` (no code from it runs).

    Raises:
      DataCorruptError: if the pickle asks for anything but NumPy arrays and plain data,
        or if rebuilding them fails in any way (a crafted stream can make NumPy and the
        pickle machine raise AttributeError, OverflowError, MemoryError, SystemError...).
      OSError: if the file cannot be read (see :func:`_reading`).
    """
    with open(path, "rb") as handle:
        try:
            return DataUnpickler(handle, path, kind).load()
        except (DataCorruptError, OSError):
            raise
        except Exception as error:  # noqa: BLE001 - a data file's pickle is untrusted input
            raise corrupt(path, reason(error)) from None
