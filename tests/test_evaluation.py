"""Evaluation runs: the Evaluator on real data, CAS, evaluate.py, --eval_every."""

import csv
import dataclasses
import json
import os
import subprocess
import sys

import imageio.v3 as iio
import numpy as np
import pytest
import tensorflow as tf
from real_data import requires_fashion_mnist

import gan_tf
from gan_tf import data, evaluation

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLASSIFIER_METRICS = "fd_classifier,kid_classifier,pr_classifier,is_classifier,coverage"
pytestmark = requires_fashion_mnist


def test_parse_metrics():
    assert evaluation.parse_metrics("fd_classifier, coverage,fd_classifier") == (
        "fd_classifier",
        "coverage",
    )
    with pytest.raises(ValueError, match="unknown metric.*fidd.*choose from: fd_classifier"):
        evaluation.parse_metrics("fidd")
    with pytest.raises(ValueError, match="none given"):
        evaluation.parse_metrics(" , ")


def test_class_cycle_gives_equal_shares():
    labels = evaluation.class_cycle(25, 10)
    np.testing.assert_array_equal(np.bincount(labels), [3] * 5 + [2] * 5)


@pytest.fixture(scope="module")
def fashion_train():
    train = data.load_dataset(
        "fashion_mnist", split="train", with_labels=True, max_examples=2000, download=False
    )
    return data.as_arrays(train)


@pytest.fixture(scope="module")
def evaluator():
    return evaluation.Evaluator(
        "fashion_mnist",
        CLASSIFIER_METRICS,
        num_real=1000,
        download=False,
        kid_subsets=20,
        kid_subset_size=500,
    )


def test_real_images_score_near_the_real_floor_and_noise_far_from_it(evaluator, fashion_train):
    images, _ = fashion_train
    real = evaluator(images[:1000])
    rng = np.random.default_rng(0)
    noise = evaluator(rng.integers(0, 256, (1000, 28, 28, 1), dtype=np.uint8))
    one_class = evaluator(np.repeat(images[:1], 1000, axis=0))
    assert real["classes_covered"] == 10 and real["class_kl"] < 0.05
    assert real["precision_classifier"] > 0.6 and real["recall_classifier"] > 0.6
    assert real["is_classifier"] > 7.0  # a good classifier on real data: close to 10 classes
    assert noise["fd_classifier"] > 20 * real["fd_classifier"]
    assert noise["kid_classifier"] > 20 * max(real["kid_classifier"], 1e-4)
    assert noise["precision_classifier"] < 0.1
    assert one_class["classes_covered"] == 1
    assert one_class["class_kl"] == pytest.approx(np.log(10), rel=1e-9)
    assert one_class["recall_classifier"] < 0.05
    assert one_class["is_classifier"] == pytest.approx(1.0, abs=1e-6)


def test_evaluator_protocol_and_input_checks(evaluator):
    protocol = evaluator.protocol(1000)
    assert protocol["num_real"] == 1000 and protocol["real_split"] == "test"
    assert protocol["classifier"]["network"] == "fashion_mnist_classifier"
    assert protocol["kid"]["subsets"] == 20 and protocol["kid"]["subset_size"] == 500
    assert protocol["precision_recall"] == {"k": 3}
    with pytest.raises(ValueError, match="reference is"):
        evaluator(np.zeros((10, 32, 32, 3), np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        evaluator(np.zeros((10, 28, 28, 1), np.float32))
    with pytest.raises(ValueError, match="2-D toy"):
        evaluation.Evaluator("ring8")
    with pytest.raises(ValueError, match="takes \\(28, 28, 1\\) images"):
        evaluation.Evaluator("fashion_mnist", "fd_classifier", image_size=32, download=False)


def test_cas_is_at_chance_for_shuffled_labels(fashion_train):
    # (CAS of correctly labelled real images is checked in test_evaluate_samples_file_and_cgan_cas)
    images, labels = fashion_train
    cas = evaluation.Evaluator("fashion_mnist", "cas", num_real=1000, download=False, cas_epochs=3)
    shuffled = np.random.default_rng(0).permutation(labels[:1000])
    assert cas(images[:1000], shuffled)["cas"] < 0.3
    with pytest.raises(ValueError, match="conditional"):
        cas(images)


def _tiny_run(tmp_path, model="dcgan", epochs=1, **overrides):
    config = gan_tf.make_config(
        model=model,
        dataset="fashion_mnist",
        download=False,
        output_dir=str(tmp_path / model),
        max_examples=256,
        batch_size=32,
        steps_per_epoch=2,
        epochs=epochs,
        **overrides,
    )
    gan_tf.train(config, verbose=0)
    return config


def test_evaluate_cli_writes_every_metric_and_the_protocol(tmp_path):
    config = _tiny_run(tmp_path)
    result = subprocess.run(
        [
            sys.executable,
            os.path.join(ROOT, "experiments", "evaluate.py"),
            f"--output_dir={config.output_dir}",
            f"--metrics={CLASSIFIER_METRICS}",
            "--num_samples=300",
            "--num_real=300",
            "--kid_subsets=10",
            "--kid_subset_size=100",
            "--nodownload",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    record = json.load(open(os.path.join(config.output_dir, "eval.json"), encoding="utf-8"))
    expected = {
        "fd_classifier",
        "kid_classifier",
        "kid_std_classifier",
        "precision_classifier",
        "recall_classifier",
        "is_classifier",
        "is_std_classifier",
        "classes_covered",
        "class_kl",
        "class_histogram",
    }
    assert set(record["metrics"]) == expected
    assert record["epoch"] == 1 and record["model"] == "dcgan"
    protocol = record["protocol"]
    assert protocol["num_generated"] == 300 and protocol["num_real"] == 300
    assert protocol["real_split"] == "test" and protocol["kid"]["subset_size"] == 100
    assert protocol["classifier"]["test_accuracy"] > 0.9
    assert sum(record["metrics"]["class_histogram"]) == pytest.approx(1.0)
    assert record["metrics"]["fd_classifier"] > 0
    assert "fd_classifier" in result.stdout


def test_evaluate_cli_bad_metric_fails_cleanly(tmp_path):
    run_dir = tmp_path / "run"
    result = subprocess.run(
        [
            sys.executable,
            os.path.join(ROOT, "experiments", "evaluate.py"),
            f"--output_dir={run_dir}",
            "--metrics=fd_classifier,bogus",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("error: unknown metric(s) bogus in --metrics; choose from:")
    assert not run_dir.exists()


@pytest.mark.slow  # ~26 s (trains a CAS classifier): `make test-slow`
def test_evaluate_samples_file_and_cgan_cas(tmp_path, fashion_train):
    images, labels = fashion_train
    config = _tiny_run(tmp_path, model="cgan")
    samples = str(tmp_path / "real.npz")
    np.savez(samples, images=images[:1000], labels=labels[:1000])
    record = evaluation.evaluate_run(
        config.output_dir,
        "fd_classifier,cas",
        samples=samples,
        num_real=500,
        cas_epochs=8,  # 64 steps of batch 128: batch norm statistics settle
        download=False,
    )
    assert record["samples"] == samples
    assert record["metrics"]["fd_classifier"] < 5.0
    assert record["metrics"]["cas"] > 0.7  # real labelled images: CAS of real data
    sampled = evaluation.evaluate_run(
        config.output_dir, "cas", num_samples=200, num_real=200, cas_epochs=1, download=False
    )
    assert 0.0 <= sampled["metrics"]["cas"] <= 1.0
    assert sampled["protocol"]["cas"]["epochs"] == 1


def _weights(run_dir):
    reader = tf.train.load_checkpoint(
        tf.train.latest_checkpoint(os.path.join(run_dir, "checkpoints"))
    )
    names = sorted(n for n in reader.get_variable_to_shape_map() if n.startswith("generator/"))
    return [reader.get_tensor(n) for n in names]


def test_eval_every_logs_metrics_without_changing_training(tmp_path):
    evaluated = _tiny_run(
        tmp_path / "a",
        epochs=3,
        eval_every=2,
        eval_samples=200,
        eval_metrics="fd_classifier,coverage",
    )
    plain = _tiny_run(tmp_path / "b", epochs=3)
    rows = list(csv.DictReader(open(os.path.join(evaluated.output_dir, "metrics.csv"))))
    assert [row["fd_classifier"] != "" for row in rows] == [False, True, True]  # epochs 2 and 3
    assert all(float(row["classes_covered"]) >= 1 for row in rows[1:])
    picture = iio.imread(os.path.join(evaluated.output_dir, "metrics.png"))
    assert picture.ndim == 3 and picture.shape[1] > picture.shape[0]
    tags = set()
    for path in tf.io.gfile.glob(os.path.join(evaluated.output_dir, "logs", "events.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            tags.update(value.tag for value in event.summary.value)
    assert {"eval/fd_classifier", "eval/classes_covered"} <= tags
    for a, b in zip(_weights(evaluated.output_dir), _weights(plain.output_dir), strict=True):
        np.testing.assert_array_equal(a, b)


def test_eval_flags_are_validated():
    with pytest.raises(ValueError, match="--eval_every does not apply to the 2-D toy"):
        gan_tf.make_config(dataset="ring8", eval_every=1)
    with pytest.raises(ValueError, match="unknown metric"):
        gan_tf.make_config(eval_every=1, eval_metrics="fd")
    with pytest.raises(ValueError, match="--eval_samples"):
        gan_tf.make_config(eval_every=1, eval_samples=10)
    assert dataclasses.asdict(gan_tf.make_config())["eval_every"] == 0
