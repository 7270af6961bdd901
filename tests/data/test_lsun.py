"""``lsun:CATEGORY`` on LMDB files written in the exact layout of LSUN's official export
(``<category>_train_lmdb/data.mdb``, hex ids as keys, WebP values; a few JPEGs): decoded
pixels against Pillow's own decode, splits, streaming, the errors, and a training run."""

import csv
import hashlib
import io
import json
import math
import os
import sys

import numpy as np
import pytest
from PIL import Image

import gan_tf
from gan_tf import data
from gan_tf.data import images
from gan_tf.data.base import held_out, keras_cache_dir
from gan_tf.data.sources import folder
from gan_tf.errors import ConfigError, DataCorruptError, DataNotFoundError

lmdb = pytest.importorskip("lmdb")

SIZE = 32
SHAPES = [(40, 56), (56, 40), (48, 48), (36, 64)]  # landscape, portrait, square, wide


def scene(index: int, height: int, width: int) -> np.ndarray:
    """A smooth photo-like RGB picture: a lit wall gradient, a dark 'bed' block, a window."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    light = 0.5 + 0.5 * np.cos((x / width - 0.2 - 0.05 * (index % 7)) * math.pi)
    wall = np.stack([170 + 60 * light, 140 + 50 * light, 110 + 40 * light * (y / height)], -1)
    bed = (y > height * 0.6) & (x > width * (0.1 + 0.03 * (index % 5)))
    wall[bed] = (60 + 8 * (index % 9), 40, 90 - 5 * (index % 4))
    window = (y < height * 0.35) & (np.abs(x - width * 0.7) < width * 0.12)
    wall[window] = (200, 225, 250)
    return np.clip(np.round(wall), 0, 255).astype(np.uint8)


def encode(pixels: np.ndarray, kind: str) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, kind, quality=90)
    return buffer.getvalue()


def write_lmdb(directory, values: dict) -> None:
    """An LMDB environment like LSUN's: one unnamed database, key -> encoded image."""
    os.makedirs(directory, exist_ok=True)
    environment = lmdb.open(str(directory), map_size=1 << 25)
    with environment.begin(write=True) as transaction:
        for key, value in values.items():
            transaction.put(key, value)
    environment.close()


def write_lsun(root, category="bedroom", split="train", count=24, jpeg_every=10, seed=0):
    """``root/<category>_<split>_lmdb`` with ``count`` WebP images (every ``jpeg_every``-th
    a JPEG), keyed by SHA-1 hex ids as in the real export; returns ``{key: value}``."""
    values = {}
    for index in range(count):
        key = hashlib.sha1(f"{category}/{split}/{seed}/{index}".encode()).hexdigest().encode()
        kind = "JPEG" if index % jpeg_every == jpeg_every - 1 else "WEBP"
        values[key] = encode(scene(index + seed, *SHAPES[index % len(SHAPES)]), kind)
    directory = os.path.join(str(root), f"{category}_{split}_lmdb")
    write_lmdb(directory, values)
    return values


def expected(values: dict, keys=None) -> np.ndarray:
    """Pillow's own decode of each value (sorted keys), cropped and resized by gan_tf."""
    keys = sorted(values) if keys is None else keys
    decoded = [np.asarray(Image.open(io.BytesIO(values[key])).convert("RGB")) for key in keys]
    return np.stack([images.center_crop_resize(x, None, SIZE).numpy() for x in decoded])


@pytest.fixture(scope="module")
def lsun_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("lsun")
    train = write_lsun(root, count=24)
    val = write_lsun(root, split="val", count=6, seed=100)
    return str(root), train, val


def test_train_split_is_every_image_in_key_order_decoded_like_pillow(lsun_dir):
    root, train, _ = lsun_dir
    dataset = data.load_dataset("lsun:bedroom", data_dir=root, image_size=SIZE)
    assert (dataset.name, dataset.num_examples, dataset.image_shape) == (
        "lsun:bedroom",
        24,
        (32, 32, 3),
    )
    assert dataset.num_classes is None and not dataset.with_labels
    assert dataset.in_memory and dataset.reorder is None
    assert dataset.source == os.path.join(root, "bedroom_train_lmdb")
    pixels, labels = data.as_arrays(dataset)
    assert pixels.shape == (24, 32, 32, 3) and pixels.dtype == np.uint8 and labels is None
    assert 20 < pixels.mean() < 235 and pixels.std() > 20  # real content, not a blank
    truth = expected(train)
    np.testing.assert_array_equal(pixels, truth)  # sorted keys; WebP and JPEG both exact
    # the crop is the centre square: the 56-wide landscape loses 8 columns each side
    first = np.asarray(Image.open(io.BytesIO(train[sorted(train)[0]])).convert("RGB"))
    height, width = first.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    square = first[top : top + side, left : left + side]
    np.testing.assert_array_equal(truth[0], images.resize_uint8(square, SIZE).numpy())
    default = data.load_dataset("lsun:bedroom", data_dir=root, max_examples=2)
    assert default.image_shape == (64, 64, 3) and data.as_arrays(default)[0].shape == (2, 64, 64, 3)


def test_max_examples_takes_the_first_keys(lsun_dir):
    root, train, _ = lsun_dir
    dataset = data.load_dataset("lsun:bedroom", data_dir=root, image_size=SIZE, max_examples=5)
    assert dataset.num_examples == 5
    np.testing.assert_array_equal(data.as_arrays(dataset)[0], expected(train, sorted(train)[:5]))


def test_test_split_is_the_val_export_else_the_held_out_tenth_of_train(lsun_dir, tmp_path):
    root, train, val = lsun_dir
    test = data.load_dataset("lsun:bedroom", split="test", data_dir=root, image_size=SIZE)
    assert test.num_examples == 6 and test.source == os.path.join(root, "bedroom_val_lmdb")
    np.testing.assert_array_equal(data.as_arrays(test)[0], expected(val))
    # no _val_lmdb: the keys held_out() picks (crc32 % 10 == 0), which train keeps too
    only_train = write_lsun(tmp_path, count=40, seed=2)
    held = [key for key in sorted(only_train) if held_out(key.decode())]
    assert len(held) == 3
    test = data.load_dataset("lsun:bedroom", split="test", data_dir=str(tmp_path), image_size=SIZE)
    assert test.num_examples == len(held) and "held-out tenth" in test.source
    np.testing.assert_array_equal(data.as_arrays(test)[0], expected(only_train, held))
    train_split = data.load_dataset("lsun:bedroom", data_dir=str(tmp_path), image_size=SIZE)
    assert train_split.num_examples == 40


def test_found_in_data_dir_lsun_keras_cache_and_object_layout(tmp_path):
    write_lsun(tmp_path / "mine" / "lsun", count=3)  # data_dir/lsun/bedroom_train_lmdb
    found = data.load_dataset("lsun:bedroom", data_dir=str(tmp_path / "mine"), image_size=SIZE)
    assert found.num_examples == 3 and found.source.endswith(
        os.path.join("lsun", "bedroom_train_lmdb")
    )
    cached = write_lsun(os.path.join(keras_cache_dir(), "lsun"), "church_outdoor", count=4)
    found = data.load_dataset("lsun:church_outdoor", image_size=SIZE)  # no data_dir
    np.testing.assert_array_equal(data.as_arrays(found)[0], expected(cached))
    assert data.memory_bytes("lsun:church_outdoor", SIZE) == (4 * SIZE * SIZE * 3, 4)
    assert data.memory_bytes("lsun:church_outdoor", SIZE, max_examples=3) == (
        3 * SIZE * SIZE * 3,
        3,
    )
    assert data.image_shape_of("lsun:church_outdoor") == (64, 64, 3)
    # an object category ships as one LMDB named after it: train only
    cats = {b"%040x" % i: encode(scene(i, 40, 50), "WEBP") for i in range(5)}
    write_lmdb(tmp_path / "objects" / "cat", cats)
    loaded = data.load_dataset("lsun:cat", data_dir=str(tmp_path / "objects"), image_size=SIZE)
    np.testing.assert_array_equal(data.as_arrays(loaded)[0], expected(cats))


def test_over_the_memory_budget_it_streams_in_a_seeded_order(lsun_dir, monkeypatch):
    root, train, _ = lsun_dir
    truth = expected(train)
    monkeypatch.setattr(folder, "CACHE_BYTES", 24 * SIZE * SIZE * 3 - 1)  # one byte short
    assert data.memory_bytes("lsun:bedroom", SIZE) == (0, 0)  # not in Keras' cache: unknown
    streamed = data.load_dataset("lsun:bedroom", data_dir=root, image_size=SIZE)
    assert not streamed.in_memory and streamed.reorder is not None
    np.testing.assert_array_equal(data.as_arrays(streamed)[0], truth)  # examples: key order
    rows = {row.tobytes(): index for index, row in enumerate(truth)}

    def order(seed):
        return [rows[x.numpy().tobytes()] for x in streamed.reorder(seed)]

    first = order(7)
    assert sorted(first) == list(range(24))  # every image exactly once
    assert order(7) == first and first != list(range(24))  # reproducible, shuffled
    assert len({tuple(order(seed)) for seed in (1, 2, 3)}) == 3  # the seed decides

    # batches() draws each epoch's order by (seed, epoch), before decoding
    def epoch(number):
        batches = data.batches(streamed, 1, seed=3, epoch=number)
        return [
            rows[np.round((x[0].numpy() + 1) * 127.5).astype(np.uint8).tobytes()] for x in batches
        ]

    assert sorted(epoch(1)) == list(range(24)) and epoch(1) == epoch(1) != epoch(2)


def test_batches_are_float_images_in_minus_one_to_one(lsun_dir):
    root, train, _ = lsun_dir
    dataset = data.load_dataset("lsun:bedroom", data_dir=root, image_size=SIZE)
    batches = list(data.batches(dataset, 8, seed=0))
    assert len(batches) == 3
    stacked = np.concatenate([b.numpy() for b in batches])
    assert stacked.dtype == np.float32 and stacked.shape == (24, 32, 32, 3)
    assert (
        stacked.min() >= -1.0
        and stacked.max() <= 1.0
        and stacked.min() < -0.4 < 0.6 < stacked.max()
    )
    back = np.round((stacked + 1.0) * 127.5).astype(np.uint8)
    assert sorted(x.tobytes() for x in back) == sorted(x.tobytes() for x in expected(train))


def one_line(error) -> str:
    text = str(error.value)
    assert "\n" not in text and len(text) < 900
    return text


def test_missing_lmdb_package_says_how_to_install_it(lsun_dir, monkeypatch):
    monkeypatch.setitem(sys.modules, "lmdb", None)  # import lmdb raises ImportError
    with pytest.raises(DataNotFoundError) as error:
        data.load_dataset("lsun:bedroom", data_dir=lsun_dir[0])
    text = one_line(error)
    assert "pip install lmdb" in text and "gan_tf[lsun]" in text and "lsun:bedroom" in text


def test_a_corrupt_export_is_one_line_naming_it(tmp_path):
    broken = tmp_path / "garbage" / "bedroom_train_lmdb"
    broken.mkdir(parents=True)
    (broken / "data.mdb").write_bytes(b"this is no LMDB file\n" * 400)
    with pytest.raises(DataCorruptError) as error:
        data.load_dataset("lsun:bedroom", data_dir=str(tmp_path / "garbage"))
    assert str(broken) in one_line(error) and "is corrupt" in str(error.value)

    empty = tmp_path / "empty" / "bedroom_train_lmdb"
    empty.mkdir(parents=True)  # unzipped into the wrong place, say
    with pytest.raises(DataCorruptError, match="no data.mdb") as error:
        data.load_dataset("lsun:bedroom", data_dir=str(tmp_path / "empty"))
    one_line(error)

    values = write_lsun(tmp_path / "bad_value", count=3)
    first = sorted(values)[0]
    write_lmdb(tmp_path / "bad_value" / "bedroom_train_lmdb", {first: b"<html>404</html>"})
    with pytest.raises(DataCorruptError) as error:
        data.load_dataset("lsun:bedroom", data_dir=str(tmp_path / "bad_value"))
    text = one_line(error)
    assert first.decode() in text and "not a WebP/JPEG/PNG image" in text
    assert str(tmp_path / "bad_value" / "bedroom_train_lmdb") in text


def test_no_data_lists_what_was_tried_and_the_fix(tmp_path):
    with pytest.raises(DataNotFoundError) as error:
        data.load_dataset("lsun:bedroom", data_dir=str(tmp_path), download=False)
    text = one_line(error)
    for place in (str(tmp_path), str(tmp_path / "lsun"), os.path.join(keras_cache_dir(), "lsun")):
        assert place in text
    assert "tfds 'lsun/bedroom'" in text and "bedroom_train_lmdb.zip" in text
    assert "pip install lmdb" in text and error.value.params == ("data_dir",)
    with pytest.raises(DataNotFoundError, match="does not exist"):
        data.load_dataset("lsun:bedroom", data_dir=str(tmp_path / "typo"))
    with pytest.raises(ConfigError, match="no class labels"):
        data.load_dataset("lsun:bedroom", data_dir=str(tmp_path), with_labels=True)
    with pytest.raises(ConfigError, match="needs a category"):
        data.load_dataset("lsun:", data_dir=str(tmp_path))


def test_dcgan_trains_on_an_lsun_export(lsun_dir, tmp_path):
    root, _, _ = lsun_dir
    config = gan_tf.make_config(
        model="dcgan",
        dataset="lsun:bedroom",
        data_dir=root,
        image_size=SIZE,
        arch={"base_width": 16, "max_width": 64},
        latent_dim=16,
        batch_size=8,
        epochs=1,
        steps_per_epoch=2,
        grid_size=2,
        log_every=1,
        download=False,
    )
    summary = gan_tf.train(config, str(tmp_path / "run"), verbose=0)
    assert (summary["epoch"], summary["step"], summary["steps_per_epoch"]) == (1, 2, 2)
    with open(tmp_path / "run" / "metrics.csv", encoding="utf-8") as handle:
        (row,) = list(csv.DictReader(handle))
    assert all(math.isfinite(float(row[key])) for key in ("discriminator_loss", "generator_loss"))
    assert (row["epoch"], row["step"]) == ("1", "2") and 0.0 < float(row["d_real"]) < 1.0
    with open(tmp_path / "run" / "run.json", encoding="utf-8") as handle:
        record = json.load(handle)
    assert record["shape"] == [SIZE, SIZE, 3] and record["num_classes"] is None
    with open(tmp_path / "run" / "config.json", encoding="utf-8") as handle:
        assert json.load(handle)["dataset"] == "lsun:bedroom"
    grid = np.asarray(Image.open(tmp_path / "run" / "samples" / "epoch_0001.png"))
    assert grid.shape[0] >= 2 * SIZE and grid.shape[1] >= 2 * SIZE
