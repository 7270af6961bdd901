"""`gan_tf.train(config, run_dir, dataset=...)` and `GAN.fit` on data handed in from
Python: NumPy arrays (with labels for cgan) and a tf.data.Dataset; provenance in
run.json, resume with other data refused, resume with a deterministic pipeline exact."""

import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from fake_data import mnist_like

import gan_tf
from gan_tf.errors import ConfigError
from gan_tf.gan import GAN


def _config(**overrides):
    values = dict(
        model="gan",
        batch_size=16,
        latent_dim=8,
        epochs=1,
        log_every=2,
        grid_size=2,
        seed=3,
    )
    values.update(overrides)
    return gan_tf.make_config(**values)


def _arrays(count=64, seed=0):
    images, labels = mnist_like(count, seed)
    return images, labels


def _weights(run_dir):
    run = gan_tf.load_run(str(run_dir))
    return [w.numpy() for w in run.generator.weights]


def test_numpy_images_train_record_provenance_and_refuse_other_data_on_resume(tmp_path):
    images, _ = _arrays()
    run_dir = tmp_path / "run"
    summary = gan_tf.train(_config(), str(run_dir), dataset=images, verbose=0)
    assert summary["epoch"] == 1 and summary["steps_per_epoch"] == 4
    config = json.load(open(run_dir / "config.json"))
    assert config["dataset"].startswith("python:numpy:28x28x1:")
    record = json.load(open(run_dir / "run.json"))["data"]
    assert record["kind"] == "numpy" and record["shape"] == [64, 28, 28]
    assert len(record["sha256"]) == 64 and record["value_range"] == [0.0, 255.0]

    other = images.copy()
    other[0, 0, 0] ^= 1
    with pytest.raises(ConfigError) as error:
        gan_tf.train(_config(epochs=2), str(run_dir), dataset=other, verbose=0)
    assert "dataset=python:numpy:28x28x1:" in str(error.value) and "\n" not in str(error.value)
    summary = gan_tf.train(_config(epochs=2), str(run_dir), dataset=images, verbose=0)
    assert (summary["start_epoch"], summary["epoch"]) == (1, 2)
    with pytest.raises(ConfigError, match="pass the same data again"):  # the name alone
        gan_tf.train(gan_tf.make_config(**{**config, "epochs": 3}), str(run_dir), verbose=0)


def test_a_conditional_gan_trains_on_arrays_with_labels_and_refuses_them_missing(tmp_path):
    images, labels = _arrays()
    summary = gan_tf.train(
        _config(model="cgan"), str(tmp_path / "run"), dataset=(images, labels), verbose=0
    )
    assert summary["epoch"] == 1
    info = json.load(open(tmp_path / "run" / "run.json"))
    assert info["data_classes"] == 10 and info["data"]["num_classes"] == 10
    with pytest.raises(ConfigError, match="trains on labels"):
        gan_tf.train(_config(model="cgan"), str(tmp_path / "other"), dataset=images, verbose=0)
    assert not os.path.exists(tmp_path / "other")


def test_a_deterministic_tf_dataset_resumes_exactly(tmp_path):
    images, _ = _arrays()

    def pipeline():  # float images in [0, 1], batched, as a Keras user writes them
        return tf.data.Dataset.from_tensor_slices(images.astype(np.float32) / 255.0).batch(8)

    straight, halves = tmp_path / "straight", tmp_path / "halves"
    gan_tf.train(_config(epochs=2), str(straight), dataset=pipeline(), verbose=0)
    gan_tf.train(_config(epochs=1), str(halves), dataset=pipeline(), verbose=0)
    summary = gan_tf.train(_config(epochs=2), str(halves), dataset=pipeline(), verbose=0)
    assert summary["start_epoch"] == 1
    record = json.load(open(halves / "run.json"))["data"]
    assert record["kind"] == "tf.data" and record["num_examples"] == 64
    for a, b in zip(_weights(straight), _weights(halves), strict=True):
        np.testing.assert_array_equal(a, b)


def _image_gan(channels=1, num_classes=None):
    keras.utils.set_random_seed(0)
    generator = keras.Sequential(
        [
            keras.Input((8,)),
            keras.layers.Dense(8 * 8 * channels, activation="tanh"),
            keras.layers.Reshape((8, 8, channels)),
        ]
    )
    discriminator = keras.Sequential(
        [keras.Input((8, 8, channels)), keras.layers.Flatten(), keras.layers.Dense(1)]
    )
    gan = GAN(generator, discriminator, seed=0)
    gan.compile(
        generator_optimizer=keras.optimizers.Adam(1e-3),
        discriminator_optimizer=keras.optimizers.Adam(1e-3),
    )
    return gan


def test_fit_takes_uint8_and_float_arrays_and_datasets_mapped_to_minus_one_one():
    images, _ = _arrays(count=40)
    for given in (
        images,  # uint8 [0, 255], 28 px: resized to the generator's 8 px
        images.astype(np.float32) / 255.0,  # [0, 1]
        tf.data.Dataset.from_tensor_slices(images).batch(10),  # its own batches
    ):
        gan = _image_gan()
        history = gan.fit(given, epochs=2, batch_size=None, verbose=0)
        assert len(history.history["generator_loss"]) == 2
        assert int(gan.step.numpy()) == 2 * (4 if isinstance(given, tf.data.Dataset) else 1)
    batches = gan_tf.data.user.fit_batches(
        images, image_shape=(8, 8, 1), batch_size=8, shuffle=False, seed=0
    )
    first = next(iter(batches)).numpy()
    assert first.shape == (8, 8, 8, 1) and first.dtype == np.float32
    assert -1.0 <= first.min() < first.max() <= 1.0


def test_fit_refuses_bad_images_in_one_line():
    gan = _image_gan()
    for bad, message in (
        (np.full((16, 8, 8, 1), np.nan, np.float32), "NaN or inf"),
        (np.full((16, 8, 8, 1), -5.0, np.float32), "none of [-1, 1]"),
        (np.zeros((16, 8, 8, 2), np.uint8), "1, 3 or 4 channels"),
        (np.zeros((4, 8, 8, 1), np.uint8), "larger than the 4 examples"),
    ):
        with pytest.raises(ConfigError) as error:
            gan.fit(bad, epochs=1, verbose=0)
        assert message in str(error.value) and "\n" not in str(error.value)
