"""The GAN as a Keras model: ``fit`` with stock callbacks, ``BackupAndRestore`` resuming a
killed ``fit`` exactly, Keras callbacks in the managed run, and ``fit`` == the managed run."""

import csv
import glob
import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from fake_data import write_mnist_idx

import gan_tf
from gan_tf import data, parts
from gan_tf.build import build_gan
from gan_tf.gan import GAN

# --- fit -------------------------------------------------------------------------------


def points_gan(seed=0, with_parts=True, dropout=0.0):
    """A small GAN on 2-D points, compiled as a Keras user would."""
    keras.utils.set_random_seed(seed)
    generator = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(16, "relu"), keras.layers.Dense(2)]
    )
    discriminator = keras.Sequential(
        [
            keras.Input((2,)),
            keras.layers.Dense(16, "relu"),
            keras.layers.Dropout(dropout),
            keras.layers.Dense(1),
        ]
    )
    gan = GAN(generator, discriminator, seed=seed)  # latent_dim read from the generator
    gan.compile(
        generator_optimizer=keras.optimizers.Adam(1e-3, beta_1=0.5),
        discriminator_optimizer=keras.optimizers.Adam(1e-3, beta_1=0.5),
        loss="wasserstein",
        parts=[parts.Penalty("gradient_penalty", 1.0), parts.EMA(0.9)] if with_parts else [],
    )
    return gan


def points(count=64, batch=16):
    values = tf.random.stateless_normal([count, 2], seed=[1, 2]) * 0.5 + [1.0, -1.0]
    return tf.data.Dataset.from_tensor_slices(values).batch(batch, drop_remainder=True)


class StopAfter(keras.callbacks.Callback):
    """Sets ``stop_training`` at the end of epoch ``epoch`` (0-based, as fit counts)."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch, self.seen = epoch, []

    def on_epoch_end(self, epoch, logs=None):
        self.seen.append((epoch, sorted(logs)))
        if epoch == self.epoch:
            self.model.stop_training = True


def test_fit_trains_with_csv_logger_tensorboard_and_a_callback_that_stops(tmp_path):
    gan = points_gan()
    assert gan.latent_dim == 4 and gan.generator_ema is not None
    before = [w.copy() for w in gan.get_weights()]
    stop = StopAfter(1)
    csv_path, logs = str(tmp_path / "log.csv"), str(tmp_path / "tb")
    history = gan.fit(
        points(),
        epochs=5,
        verbose=0,
        callbacks=[keras.callbacks.CSVLogger(csv_path), keras.callbacks.TensorBoard(logs), stop],
    )
    names = sorted(gan.metric_names)
    assert names == sorted(
        ["discriminator_loss", "generator_loss", "d_real", "d_fake", "gradient_penalty"]
    )
    assert [epoch for epoch, _ in stop.seen] == [0, 1]  # stop_training ended fit after epoch 1
    assert stop.seen[0][1] == names
    assert sorted(history.history) == names and len(history.history["generator_loss"]) == 2
    assert int(gan.step.numpy()) == 8  # 2 epochs of 4 batches
    with open(csv_path, encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["epoch"] for row in rows] == ["0", "1"]
    # the CSV holds each epoch's mean of the step values, as the history does
    logged = [float(row["generator_loss"]) for row in rows]
    np.testing.assert_allclose(logged, history.history["generator_loss"], rtol=1e-6)
    assert glob.glob(os.path.join(logs, "train", "events.out.tfevents.*"))
    changed = [not np.array_equal(a, b) for a, b in zip(before, gan.get_weights(), strict=True)]
    assert sum(changed) >= len(gan.generator.weights) + len(gan.discriminator.weights)


def test_early_stopping_watches_a_logged_metric():
    """min_delta=1e9: no epoch can improve on the first, so patience=1 stops after two."""
    gan = points_gan(with_parts=False)
    stopper = keras.callbacks.EarlyStopping("generator_loss", min_delta=1e9, patience=1, mode="min")
    history = gan.fit(points(), epochs=6, verbose=0, callbacks=[stopper])
    assert len(history.history["generator_loss"]) == 2 and stopper.stopped_epoch == 1


class Crash(keras.callbacks.Callback):
    """Raises at the end of epoch ``epoch``, like a machine going down after a save."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            raise RuntimeError("killed")


def test_backup_and_restore_resumes_a_killed_fit_exactly(tmp_path):
    """The step counter (the random stream), both optimizers, the EMA generator and the
    noise layers' random state (Dropout here) are saved with the GAN's Keras weights, so
    BackupAndRestore continues the exact run."""
    uninterrupted = points_gan(dropout=0.3)
    uninterrupted.fit(points(), epochs=4, verbose=0)
    backup = keras.callbacks.BackupAndRestore(str(tmp_path / "backup"))
    killed = points_gan(dropout=0.3)
    with pytest.raises(RuntimeError, match="killed"):
        killed.fit(points(), epochs=4, verbose=0, callbacks=[backup, Crash(1)])
    resumed = points_gan(dropout=0.3)  # a new process: fresh networks, same code
    history = resumed.fit(points(), epochs=4, verbose=0, callbacks=[backup])
    assert len(history.history["generator_loss"]) == 2  # epochs 2 and 3 only
    assert int(resumed.step.numpy()) == int(uninterrupted.step.numpy()) == 16
    for a, b in zip(resumed.get_weights(), uninterrupted.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    for optimizer in ("generator_optimizer", "discriminator_optimizer"):
        for a, b in zip(
            getattr(resumed, optimizer).variables,
            getattr(uninterrupted, optimizer).variables,
            strict=True,
        ):
            np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_fit_takes_labelled_batches_and_refuses_missing_labels():
    keras.utils.set_random_seed(0)
    noise, labels = keras.Input((4,)), keras.Input((), dtype="int32")
    embedded = keras.layers.Flatten()(keras.layers.Embedding(3, 4)(labels))
    generator = keras.Model(
        [noise, labels], keras.layers.Dense(2)(keras.layers.Concatenate()([noise, embedded]))
    )
    point, labels = keras.Input((2,)), keras.Input((), dtype="int32")
    embedded = keras.layers.Flatten()(keras.layers.Embedding(3, 2)(labels))
    discriminator = keras.Model(
        [point, labels], keras.layers.Dense(1)(keras.layers.Concatenate()([point, embedded]))
    )
    gan = GAN(generator, discriminator, num_classes=3)
    gan.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3), loss="hinge")
    values = tf.random.stateless_normal([32, 2], seed=[0, 1])
    classes = tf.range(32) % 3
    one_hot = tf.one_hot(classes, 3)  # keras-io's conditional GAN feeds one-hot labels
    history = gan.fit(
        tf.data.Dataset.from_tensor_slices((values, one_hot)).batch(8), epochs=1, verbose=0
    )
    assert np.isfinite(history.history["discriminator_loss"][0])
    assert gan.generate(6).shape == (6, 2)  # labels cycle 0, 1, 2, ...
    with pytest.raises(gan_tf.ConfigError, match="needs the real batch's labels"):
        gan.fit(tf.data.Dataset.from_tensor_slices(values).batch(8), epochs=1, verbose=0)


def test_generate_draws_reproducible_noise_from_a_seed():
    gan = points_gan()
    np.testing.assert_array_equal(gan.generate(5, seed=3), gan.generate(5, seed=3))
    assert not np.allclose(gan.generate(5, seed=3), gan.generate(5, seed=4))
    noise = tf.ones([2, 4])
    np.testing.assert_allclose(gan.generate(noise), gan.generator_ema(noise), atol=1e-6)


# --- the managed run -------------------------------------------------------------------


@pytest.fixture(scope="module")
def mnist_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("mnist_fit")
    write_mnist_idx(str(directory), train=64)
    return str(directory)


def _config(mnist_dir, **overrides):
    values = dict(
        model="dcgan", dataset="mnist", data_dir=mnist_dir, download=False, batch_size=8,
        latent_dim=8, steps_per_epoch=3, epochs=3, precision="float32",
    )  # fmt: skip
    return gan_tf.make_config(**{**values, **overrides})


class Recorder(keras.callbacks.Callback):
    """Records the hooks the managed run calls; stops where asked."""

    def __init__(self, stop_epoch=None, stop_batch=None):
        super().__init__()
        self.calls, self.stop_epoch, self.stop_batch = [], stop_epoch, stop_batch

    def on_train_begin(self, logs=None):
        self.calls.append("train_begin")

    def on_epoch_begin(self, epoch, logs=None):
        self.calls.append(f"epoch_begin {epoch}")
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        self.calls.append(f"batch_end {batch}")
        assert self.model is not None and "generator_loss" in logs
        if self.stop_batch == (self.epoch, batch):
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        self.calls.append(f"epoch_end {epoch}")
        if epoch == self.stop_epoch:
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        self.calls.append("train_end")


def test_train_runs_keras_callbacks_and_honours_stop_training(mnist_dir, tmp_path):
    run_dir, csv_path = str(tmp_path / "run"), str(tmp_path / "keras.csv")
    recorder = Recorder(stop_epoch=0)
    config = _config(mnist_dir, steps_per_call=1)  # a batch callback per step, as fit's
    summary = gan_tf.train(
        config, run_dir, verbose=0,
        callbacks=[keras.callbacks.CSVLogger(csv_path), recorder],
    )  # fmt: skip
    assert recorder.calls == [
        "train_begin", "epoch_begin 0", "batch_end 0", "batch_end 1", "batch_end 2",
        "epoch_end 0", "train_end",
    ]  # fmt: skip
    assert summary["stopped_early"] and summary["epoch"] == 1 and summary["step"] == 3
    with open(csv_path, encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["epoch"] for row in rows] == ["0"] and "diversity" in rows[0]
    # a callback inside an epoch: a step checkpoint, and the rerun continues from it
    recorder = Recorder(stop_batch=(1, 0))  # epoch 2 (index 1), after its first batch
    summary = gan_tf.train(config, run_dir, verbose=0, callbacks=[recorder])
    assert summary["stopped_early"] and summary["step"] == 4 and summary["epoch"] == 1
    assert recorder.calls[-2:] == ["batch_end 0", "train_end"]
    summary = gan_tf.train(config, run_dir, verbose=0)
    assert not summary["stopped_early"] and (summary["epoch"], summary["step"]) == (3, 9)
    with open(os.path.join(run_dir, "metrics.csv"), encoding="utf-8") as handle:
        assert [row["epoch"] for row in csv.DictReader(handle)] == ["1", "2", "3"]


def test_fit_and_the_managed_run_reach_the_same_weights(mnist_dir, tmp_path):
    """Same config, seed, batches and float32 on CPU: gan_tf.train and build_gan + fit
    apply the same updates (EMA and all), so the weights agree to float32 rounding."""
    config = _config(mnist_dir, epochs=2, ema=0.9, augment="flip")
    run_dir = str(tmp_path / "managed")
    gan_tf.train(config, run_dir, verbose=0)
    dataset = data.load_dataset("mnist", data_dir=mnist_dir, download=False)
    steps = config.epochs * config.steps_per_epoch
    gan = build_gan(config, dataset.image_shape, dataset.num_classes, total_steps=steps)
    for epoch in (1, 2):  # the managed run's batches: its data order, epoch by epoch
        batches = data.batches(dataset, config.batch_size, seed=config.seed, epoch=epoch)
        gan.fit(batches.take(config.steps_per_epoch), epochs=1, verbose=0)
    managed = build_gan(config, dataset.image_shape, dataset.num_classes, total_steps=steps)
    latest = tf.train.latest_checkpoint(os.path.join(run_dir, "checkpoints"))
    managed.checkpoint().restore(latest).expect_partial()
    assert int(gan.step.numpy()) == int(managed.step.numpy()) == steps
    for network in ("generator", "discriminator", "generator_ema"):
        for a, b in zip(
            getattr(gan, network).weights, getattr(managed, network).weights, strict=True
        ):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-7)
