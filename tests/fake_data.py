"""Writers of small datasets in the exact on-disk formats the loaders read."""

from __future__ import annotations

import gzip
import os
import pickle

import keras
import numpy as np


def write_idx(path: str, array: np.ndarray) -> None:
    """Writes a uint8 array as an IDX file (gzipped when ``path`` ends in .gz)."""
    array = np.asarray(array, np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(size).to_bytes(4, "big") for size in array.shape
    )
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "wb") as handle:
        handle.write(header + array.tobytes())


def mnist_like(count: int, seed: int = 0, side: int = 28):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (count, side, side), dtype=np.uint8)
    labels = (np.arange(count) % 10).astype(np.uint8)
    return images, labels


def write_mnist_idx(directory: str, train: int = 96, test: int = 32, gz: bool = True) -> tuple:
    """Writes train/t10k IDX image and label files like the MNIST distribution."""
    os.makedirs(directory, exist_ok=True)
    suffix = ".gz" if gz else ""
    train_images, train_labels = mnist_like(train, 1)
    test_images, test_labels = mnist_like(test, 2)
    write_idx(os.path.join(directory, f"train-images-idx3-ubyte{suffix}"), train_images)
    write_idx(os.path.join(directory, f"train-labels-idx1-ubyte{suffix}"), train_labels)
    write_idx(os.path.join(directory, f"t10k-images-idx3-ubyte{suffix}"), test_images)
    write_idx(os.path.join(directory, f"t10k-labels-idx1-ubyte{suffix}"), test_labels)
    return train_images, train_labels


def write_cifar10(directory: str, per_batch: int = 10, pixels=None, protocol=None) -> np.ndarray:
    """Writes cifar-10-batches-py pickles; returns the train images as NHWC uint8.

    ``pixels``: real 32x32x3 uint8 images to use (cycled), instead of random ones.
    ``protocol``: the pickle protocol (default: Python 3's), or ``"python2"`` for the
    byte layout of the real files (see :func:`python2_cifar10_pickle`)."""
    folder = os.path.join(directory, "cifar-10-batches-py")
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(3)
    all_images = []
    for batch_index, name in enumerate([f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]):
        if pixels is None:
            images = rng.integers(0, 256, (per_batch, 32, 32, 3), dtype=np.uint8)
        else:
            rows = np.arange(batch_index * per_batch, (batch_index + 1) * per_batch)
            images = np.asarray(pixels)[rows % len(pixels)]
        rows = images.transpose(0, 3, 1, 2).reshape(per_batch, 3072)  # R plane, G plane, B plane
        batch = {
            b"batch_label": name.encode(),
            b"labels": [i % 10 for i in range(per_batch)],
            b"data": rows,
            b"filenames": [f"image_{batch_index}_{i}.png".encode() for i in range(per_batch)],
        }
        with open(os.path.join(folder, name), "wb") as handle:
            if protocol == "python2":
                handle.write(python2_cifar10_pickle(batch))
            else:
                pickle.dump(batch, handle, protocol=protocol)
        if name != "test_batch":
            all_images.append(images)
    return np.concatenate(all_images)


def python2_cifar10_pickle(batch: dict) -> bytes:
    """A CIFAR-10 batch in the bytes Python 2's cPickle (protocol 2) and NumPy 1.x wrote
    for the real ``cifar-10-python.tar.gz`` files (less cPickle's memo opcodes, which
    change nothing): str as SHORT_BINSTRING/BINSTRING, the uint8 array as
    ``numpy.core.multiarray._reconstruct(numpy.ndarray, (0,), 'b')`` then BUILD with
    ``(1, shape, dtype('u1'), False, raw bytes)``.

    ``batch``: bytes keys -> bytes, a list of ints or of bytes, or a 2-D uint8 array.
    """

    def string(value: bytes) -> bytes:
        if len(value) < 256:
            return b"U" + bytes([len(value)]) + value  # SHORT_BINSTRING
        return b"T" + len(value).to_bytes(4, "little") + value  # BINSTRING

    def integer(value: int) -> bytes:
        if value < 256:
            return b"K" + bytes([value])  # BININT1
        if value < 65536:
            return b"M" + value.to_bytes(2, "little")  # BININT2
        return b"J" + value.to_bytes(4, "little", signed=True)  # BININT

    def item(value) -> bytes:
        if isinstance(value, bytes):
            return string(value)
        if isinstance(value, list):  # EMPTY_LIST, MARK, items, APPENDS
            return b"](" + b"".join(item(x) for x in value) + b"e"
        if isinstance(value, int):
            return integer(value)
        array = np.ascontiguousarray(value, np.uint8)
        dtype = (
            b"cnumpy\ndtype\n" + string(b"u1") + integer(0) + integer(1) + b"\x87R"
            # dtype state (3, '|', None, None, None, -1, -1, 0), BUILD
            + b"(" + integer(3) + string(b"|") + b"NNN"
            + b"J\xff\xff\xff\xff" * 2 + integer(0) + b"tb"
        )  # fmt: skip
        shape = b"".join(integer(size) for size in array.shape) + b"\x86"  # TUPLE2
        return (
            b"cnumpy.core.multiarray\n_reconstruct\n"
            + b"cnumpy\nndarray\n" + integer(0) + b"\x85" + string(b"b") + b"\x87R"
            # array state (1, shape, dtype, False, raw bytes), BUILD
            + b"(" + integer(1) + shape + dtype + b"\x89" + string(array.tobytes()) + b"tb"
        )  # fmt: skip

    pairs = b"".join(string(key) + item(value) for key, value in batch.items())
    return b"\x80\x02}(" + pairs + b"u."  # PROTO 2, EMPTY_DICT, MARK, pairs, SETITEMS, STOP


class RunsCode:
    """Pickles as the call ``function(*args)``: what a hostile data file carries. A plain
    ``pickle.load`` of it makes that call."""

    def __init__(self, function, *args):
        self.function, self.args = function, args

    def __reduce__(self):
        return self.function, self.args


def write_svhn(directory: str, count: int = 20) -> tuple:
    """Writes train_32x32.mat (X: 32x32x3xN, y: Nx1 with 10 for digit 0)."""
    import scipy.io

    rng = np.random.default_rng(4)
    images = rng.integers(0, 256, (count, 32, 32, 3), dtype=np.uint8)
    digits = np.arange(count) % 10
    labels = np.where(digits == 0, 10, digits).reshape(-1, 1).astype(np.uint8)
    scipy.io.savemat(
        os.path.join(directory, "train_32x32.mat"), {"X": images.transpose(1, 2, 3, 0), "y": labels}
    )
    return images, digits


def write_image_folder(root: str, per_class: int = 3) -> None:
    """Writes PNG and JPEG files of different sizes into two class sub-folders."""
    import imageio.v3 as iio

    rng = np.random.default_rng(5)
    for class_name, extension in (("cats", ".png"), ("dogs", ".jpg")):
        os.makedirs(os.path.join(root, class_name), exist_ok=True)
        for index in range(per_class):
            shape = (40 + 8 * index, 50, 3)
            image = rng.integers(0, 256, shape, dtype=np.uint8)
            iio.imwrite(os.path.join(root, class_name, f"{index}{extension}"), image)


def tiny_networks(latent_dim: int = 8):
    """A small Keras pair for 28x28x1 images: noise -> tanh image, image -> one logit."""
    generator = keras.Sequential(
        [
            keras.Input((latent_dim,)),
            keras.layers.Dense(28 * 28, activation="tanh"),
            keras.layers.Reshape((28, 28, 1)),
        ]
    )
    discriminator = keras.Sequential(
        [keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(1)]
    )
    return generator, discriminator


def tiny_mnist_config(mnist_dir: str, **overrides):
    """A config for the MLP GAN on a fake MNIST written by :func:`write_mnist_idx`: batch 16,
    latent 8, 2 epochs, 2x2 grids, local files only. ``overrides`` are make_config keys."""
    import gan_tf

    values = dict(
        model="gan",
        dataset="mnist",
        data_dir=mnist_dir,
        download=False,
        batch_size=16,
        latent_dim=8,
        epochs=2,
        grid_size=2,
    )
    return gan_tf.make_config(**{**values, **overrides})
