"""Reads the tensors of a PyTorch ``.pth`` state dict without PyTorch and without running
code from the file.

A ``torch.save`` file is a pickle whose tensors point at raw storages kept beside it.
Unpickling it with :mod:`pickle` would import and call whatever the file names; this
reader uses a restricted :class:`pickle.Unpickler` that resolves only the handful of
names a state dict needs (``collections.OrderedDict``, ``torch._utils._rebuild_tensor_v2``,
``torch._utils._rebuild_parameter`` and the ``torch.*Storage`` types) to its own
functions, and refuses every other name with :class:`WeightsFileError`. Both
serialisations are read:

* the zip format (PyTorch >= 1.6): ``<archive>/data.pkl`` plus one ``<archive>/data/<key>``
  entry per storage (and ``<archive>/byteorder``);
* the legacy format (PyTorch < 1.6, e.g. files published in 2019): consecutive pickles
  (magic number, protocol version, system info, the state dict, the storage keys)
  followed by each storage as an int64 element count and its raw bytes.

Tensors come back as NumPy arrays (copies, C-contiguous, with the file's dtype;
bfloat16 becomes float32), with any storage offset and strides applied.
"""

from __future__ import annotations

import collections
import io
import pickle
import struct
import zipfile

import numpy as np

from gan_tf.errors import GanTfError

__all__ = ["WeightsFileError", "read_state_dict"]

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001
# torch storage type -> NumPy dtype of one element (bfloat16 is read as its 16 bits)
STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "BFloat16Storage": np.uint16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


class WeightsFileError(GanTfError, OSError):
    """A weights file is not a readable PyTorch state dict (truncated, another format, or
    it asks to run code); the message names the path (exit 1)."""


class _Storage:
    """A storage named by the pickle; its bytes are attached once they are read."""

    def __init__(self, kind: str, key: str, numel: int):
        self.kind, self.key, self.numel = kind, key, int(numel)
        self.array: np.ndarray | None = None


class _Tensor:
    """A tensor as the pickle describes it: a view into a storage."""

    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset = storage, int(offset)
        self.size, self.stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)

    def materialise(self, path: str) -> np.ndarray:
        flat = self.storage.array
        if self.storage.kind == "BFloat16Storage":
            flat = (flat.astype(np.uint32) << 16).view(np.float32)
        if 0 in self.size:
            return np.zeros(self.size, flat.dtype)
        if len(self.size) != len(self.stride):
            raise WeightsFileError(f"{path}: a tensor's size and strides disagree; corrupt file")
        last = self.offset + sum((n - 1) * s for n, s in zip(self.size, self.stride, strict=True))
        if self.offset < 0 or min(self.stride, default=0) < 0 or last >= len(flat):
            raise WeightsFileError(
                f"{path}: a tensor reaches past its storage (element {last} of "
                f"{len(flat)}); the file is truncated or corrupt"
            )
        view = np.lib.stride_tricks.as_strided(
            flat[self.offset :],
            shape=self.size,
            strides=[s * flat.itemsize for s in self.stride],
            writeable=False,
        )
        return np.array(view, order="C")


def _rebuild_tensor(storage, offset, size, stride, *_):
    if isinstance(storage, tuple):  # a legacy view: (root storage, its offset in the root)
        storage, start = storage
        offset += start
    return _Tensor(storage, offset, size, stride)


def _rebuild_parameter(data, *_):
    return data


class _StorageType:
    def __init__(self, name: str):
        self.name = name


class _Unpickler(pickle.Unpickler):
    """Resolves only state-dict names; storages are collected, not read."""

    ALLOWED = {
        ("collections", "OrderedDict"): collections.OrderedDict,
        ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
        ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    }

    def __init__(self, handle, path: str):
        super().__init__(handle)
        self.path = path
        self.storages: dict[str, _Storage] = {}

    def find_class(self, module, name):
        if (module, name) in self.ALLOWED:
            return self.ALLOWED[(module, name)]
        if module == "torch" and name in STORAGE_DTYPES:
            return _StorageType(name)
        raise WeightsFileError(
            f"{self.path} asks to load {module}.{name}; only a state dict of tensors is "
            "read (save one with torch.save(model.state_dict(), path))"
        )

    def persistent_load(self, pid):
        if not isinstance(pid, tuple) or not pid or pid[0] != "storage":
            raise WeightsFileError(f"{self.path}: unknown persistent id {pid!r:.80}")
        kind, key, numel = pid[1], str(pid[2]), pid[4]
        if not isinstance(kind, _StorageType):
            raise WeightsFileError(f"{self.path}: storage of unknown type {kind!r:.80}")
        if key not in self.storages:
            self.storages[key] = _Storage(kind.name, key, numel)
        view = pid[5] if len(pid) > 5 else None  # legacy: (view key, offset, size) or None
        if view is not None:
            return self.storages[key], int(view[1])
        return self.storages[key]


def read_state_dict(path: str) -> dict[str, np.ndarray]:
    """The tensors of a ``torch.save``'d state dict, as NumPy arrays by name.

    Args:
      path: a ``.pth``/``.pt`` file in PyTorch's zip or legacy format.

    Returns:
      An ordered ``{name: array}``; tensors keep their dtype (bfloat16 -> float32).

    Raises:
      WeightsFileError: the file is truncated, not a PyTorch file, holds something
        other than tensors, or names code to run.
    """
    try:
        if zipfile.is_zipfile(path):
            state = _read_zip(path)
        else:
            state = _read_legacy(path)
    except WeightsFileError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, KeyError, struct.error) as error:
        raise WeightsFileError(
            f"{path} is not a readable PyTorch state dict ({type(error).__name__}: "
            f"{str(error)[:120]}); download it again"
        ) from None
    if not isinstance(state, dict):
        raise WeightsFileError(f"{path} holds a {type(state).__name__}, not a state dict")
    arrays = collections.OrderedDict()
    for name, value in state.items():
        if isinstance(value, _Tensor):
            arrays[str(name)] = value.materialise(path)
    return arrays


def _read_zip(path: str):
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        pickles = [name for name in names if name.endswith("/data.pkl") or name == "data.pkl"]
        if len(pickles) != 1:
            raise WeightsFileError(f"{path} is a zip file but not a PyTorch checkpoint")
        prefix = pickles[0][: -len("data.pkl")]
        order = "little"
        if f"{prefix}byteorder" in names:
            order = archive.read(f"{prefix}byteorder").decode().strip()
        unpickler = _Unpickler(io.BytesIO(archive.read(pickles[0])), path)
        state = unpickler.load()
        for storage in unpickler.storages.values():
            raw = archive.read(f"{prefix}data/{storage.key}")
            storage.array = _storage_array(raw, storage, order, path)
    return state


def _read_legacy(path: str):
    with open(path, "rb") as handle:
        header = [_Unpickler(handle, path).load() for _ in range(3)]
        if header[0] != LEGACY_MAGIC or header[1] != LEGACY_PROTOCOL:
            raise WeightsFileError(
                f"{path} is not a PyTorch file (neither the zip nor the legacy format)"
            )
        order = "little" if header[2].get("little_endian", True) else "big"
        unpickler = _Unpickler(handle, path)
        state = unpickler.load()
        keys = _Unpickler(handle, path).load()
        for key in keys:
            (numel,) = struct.unpack(f"{'<' if order == 'little' else '>'}q", handle.read(8))
            storage = unpickler.storages[str(key)]
            size = np.dtype(STORAGE_DTYPES[storage.kind]).itemsize * numel
            storage.array = _storage_array(handle.read(size), storage, order, path, numel)
    return state


def _storage_array(raw: bytes, storage: _Storage, order: str, path: str, numel=None):
    dtype = np.dtype(STORAGE_DTYPES[storage.kind]).newbyteorder("<" if order == "little" else ">")
    numel = storage.numel if numel is None else numel
    if len(raw) != numel * dtype.itemsize:
        raise WeightsFileError(
            f"{path}: storage {storage.key} has {len(raw)} bytes, expected "
            f"{numel * dtype.itemsize}; the file is truncated — download it again"
        )
    return np.frombuffer(raw, dtype).astype(dtype.newbyteorder("="))
