"""Data handed in from Python (gan_tf.data.user): checked, mapped to uint8, named by
what it is."""

import numpy as np
import pytest
import tensorflow as tf

from gan_tf import data
from gan_tf.data import user
from gan_tf.errors import ConfigError


def _images(count=12, side=8, channels=3, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (count, side, side, channels), np.uint8)


def _all(dataset):
    return data.as_arrays(dataset)


def test_uint8_arrays_pass_unchanged_with_labels_and_a_content_name():
    images, labels = _images(), np.arange(12) % 4
    dataset = user.from_arrays(images, labels)
    got, got_labels = _all(dataset)
    np.testing.assert_array_equal(got, images)
    np.testing.assert_array_equal(got_labels, labels)
    assert (dataset.image_shape, dataset.num_examples, dataset.num_classes) == ((8, 8, 3), 12, 4)
    assert dataset.name.startswith("python:numpy:8x8x3:") and len(dataset.name) == 31
    assert (
        dataset.provenance["sha256"] == user.from_arrays(images.copy(), labels).provenance["sha256"]
    )
    changed = images.copy()
    changed[0, 0, 0, 0] ^= 1
    assert user.from_arrays(changed, labels).name != dataset.name  # one bit differs
    batch, batch_labels = next(iter(data.batches(dataset, 12, seed=0)))
    assert batch.dtype == tf.float32 and batch_labels.dtype == tf.int32
    assert -1.0 <= float(tf.reduce_min(batch)) and float(tf.reduce_max(batch)) <= 1.0
    expected = np.sort(images.ravel() / 127.5 - 1)
    np.testing.assert_allclose(np.sort(batch.numpy().ravel()), expected, rtol=0, atol=1e-6)


@pytest.mark.parametrize(
    "scale, offset, detected",
    [(1 / 255, 0.0, [0.0, 1.0]), (2 / 255, -1.0, [-1.0, 1.0]), (1.0, 0.0, [0.0, 255.0])],
)
def test_float_images_are_mapped_from_the_range_they_lie_in(scale, offset, detected):
    images = _images()
    floats = (images.astype(np.float64) * scale + offset).astype(np.float32)
    dataset = user.from_arrays(floats)
    assert dataset.provenance["value_range"] == detected
    got = _all(dataset)[0]  # kept as floats, mapped linearly to [-1, 1]
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, images / 127.5 - 1, rtol=0, atol=2e-6)
    resized = _all(user.from_arrays(floats, image_size=4))[0]  # resized: rounded to 8 bits
    assert resized.dtype == np.uint8 and resized.shape == (12, 4, 4, 3)


def test_an_explicit_value_range_overrides_detection():
    images = _images()
    floats = images.astype(np.float32) / 255.0 * 2 - 1
    floats = np.abs(floats)  # in [0, 1]: detection would say [0, 1]
    got = _all(user.from_arrays(floats, value_range=(-1, 1)))[0]
    np.testing.assert_allclose(got, floats, rtol=0, atol=1e-6)  # already in [-1, 1]
    got = _all(user.from_arrays(floats, value_range=(0, 2)))[0]
    np.testing.assert_allclose(got, floats - 1, rtol=0, atol=1e-6)


def test_gray_rgba_and_non_square_images_are_brought_to_square_1_or_3_channels():
    gray = _images(channels=1)[..., 0]
    assert user.from_arrays(gray).image_shape == (8, 8, 1)
    rgba = _images(count=2, channels=4)
    rgba[0, ..., 3] = 0  # fully transparent: the white background
    rgba[1, ..., 3] = 255  # opaque: its own colour
    got = _all(user.from_arrays(rgba))[0]
    assert got.shape == (2, 8, 8, 3)
    np.testing.assert_array_equal(got[0], 255)
    np.testing.assert_array_equal(got[1], rgba[1, ..., :3])
    wide = np.zeros((3, 8, 12, 3), np.uint8)
    wide[:, :, 2:10] = 200  # the centre 8x8 square
    got = _all(user.from_arrays(wide))[0]
    assert got.shape == (3, 8, 8, 3)
    np.testing.assert_array_equal(got, 200)
    assert user.from_arrays(_images(), image_size=4).image_shape == (4, 4, 3)


@pytest.mark.parametrize(
    "images, labels, options, message",
    [
        (np.full((4, 8, 8, 3), np.nan, np.float32), None, {}, "NaN or inf"),
        (np.full((4, 8, 8, 3), 300.0, np.float32), None, {}, "none of [-1, 1], [0, 1], [0, 255]"),
        (np.zeros((4, 8, 8, 2), np.uint8), None, {}, "1, 3 or 4 channels"),
        (np.zeros((4, 64), np.uint8), None, {}, "[N, H, W, C]"),
        (np.zeros((0, 8, 8, 3), np.uint8), None, {}, "non-empty"),
        (np.array([["a"]] * 4), None, {}, "numeric array"),
        (np.zeros((4, 8, 8, 3), np.uint8), np.arange(3), {}, "for 4 images"),
        (np.zeros((4, 8, 8, 3), np.uint8), np.arange(4), {"num_classes": 3}, "[0, 3]"),
        (np.zeros((4, 8, 8, 3), np.uint8), -np.arange(4), {}, "class ids in [0, num_classes)"),
        (np.zeros((4, 8, 8, 3), np.uint8), np.array([0.5] * 4), {}, "fractions"),
        (np.zeros((4, 8, 8, 3), np.uint16) + 256, None, {}, "outside [0.0, 255.0]"),
    ],
)
def test_bad_arrays_each_get_one_line(images, labels, options, message):
    with pytest.raises(ConfigError) as error:
        user.from_arrays(images, labels, **options)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_a_tf_dataset_of_batched_pairs_is_unbatched_counted_and_checked():
    images, labels = _images(count=10, channels=1), np.eye(5)[np.arange(10) % 5]
    batched = tf.data.Dataset.from_tensor_slices((images.astype(np.float32) / 255, labels))
    dataset = user.from_tf_dataset(batched.batch(4))
    assert (dataset.num_examples, dataset.num_classes, dataset.with_labels) == (10, 5, True)
    assert dataset.image_shape == (8, 8, 1) and dataset.provenance["value_range"] == [0.0, 1.0]
    got, got_labels = _all(dataset)
    np.testing.assert_allclose(got, images / 127.5 - 1, rtol=0, atol=2e-6)
    np.testing.assert_array_equal(got_labels, np.arange(10) % 5)
    assert dataset.reorder is not None and not dataset.in_memory
    first = [x[1] for x in dataset.reorder(3).as_numpy_iterator()]
    again = [x[1] for x in dataset.reorder(3).as_numpy_iterator()]
    assert first == again and sorted(first) == sorted(got_labels.tolist())


def test_a_tf_dataset_of_dicts_with_unknown_size_is_counted():
    images = _images(count=9)
    dicts = tf.data.Dataset.from_tensor_slices({"image": images, "label": np.arange(9) % 3})
    filtered = dicts.filter(lambda example: example["label"] < 2)  # cardinality unknown
    dataset = user.from_tf_dataset(filtered)
    assert dataset.num_examples == 6 and dataset.num_classes == 2
    np.testing.assert_array_equal(_all(dataset)[0], images[np.arange(9) % 3 < 2])


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: tf.data.Dataset.from_tensor_slices(_images()).repeat(), "repeats forever"),
        (lambda: tf.data.Dataset.from_tensor_slices(_images()).take(0), "empty"),
        (lambda: tf.data.Dataset.from_tensor_slices({"pixels": _images()}), "'image'"),
        (lambda: tf.data.Dataset.from_tensor_slices(_images() * 0.0 - 3.0), "none of"),
        (lambda: tf.data.Dataset.from_tensor_slices(["a", "b"]), "give uint8 or float"),
    ],
)
def test_bad_tf_datasets_each_get_one_line(make, message):
    with pytest.raises(ConfigError) as error:
        user.from_tf_dataset(make())
    assert message in str(error.value) and "\n" not in str(error.value)


def test_from_object_dispatches_and_refuses_what_it_cannot_read():
    images = _images()
    assert user.from_object(images).provenance["kind"] == "numpy"
    assert user.from_object((images, np.arange(12) % 2)).num_classes == 2
    assert user.from_object(tf.data.Dataset.from_tensor_slices(images)).num_examples == 12
    loaded = data.load_dataset("ring8", max_examples=4)
    assert user.from_object(loaded) is loaded
    with pytest.raises(ConfigError, match="is not data gan_tf reads"):
        user.from_object("not data")


def test_a_handed_in_name_cannot_be_reopened_but_knows_its_shape():
    name = user.from_arrays(_images(channels=1)).name
    assert data.image_shape_of(name) == (8, 8, 1)
    with pytest.raises(ConfigError, match="pass the same data again"):
        data.load_dataset(name)
