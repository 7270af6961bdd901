"""gan_tf.evaluation in-process: the Evaluator on real data, CAS, evaluate_run (also on
your own networks), --eval_every. (evaluate.py end to end: tests/cli/test_evaluate_cli.py.)"""

import csv
import dataclasses
import json
import os

import imageio.v3 as iio
import numpy as np
import pytest
import tensorflow as tf
from fake_data import tiny_networks
from real_data import requires_fashion_mnist

import gan_tf
from gan_tf import data, evaluation
from gan_tf.errors import ConfigError

CLASSIFIER_METRICS = "fd_classifier,kid_classifier,pr_classifier,is_classifier,coverage"
pytestmark = requires_fashion_mnist


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
    with pytest.raises(ConfigError, match="reference is"):
        evaluator(np.zeros((10, 32, 32, 3), np.uint8))
    with pytest.raises(ConfigError, match="uint8"):
        evaluator(np.zeros((10, 28, 28, 1), np.float32))
    with pytest.raises(ConfigError, match="2-D toy"):
        evaluation.Evaluator("ring8")
    with pytest.raises(ConfigError, match="takes \\(28, 28, 1\\) images"):
        evaluation.Evaluator("fashion_mnist", "fd_classifier", image_size=32, download=False)


@pytest.mark.slow  # ~18 s (trains a CAS classifier): `make test-slow` (the suite budget)
def test_cas_is_at_chance_for_shuffled_labels(fashion_train):
    # (CAS of correctly labelled real images is checked in test_evaluate_samples_file_and_cgan_cas)
    images, labels = fashion_train
    cas = evaluation.Evaluator("fashion_mnist", "cas", num_real=1000, download=False, cas_epochs=3)
    shuffled = np.random.default_rng(0).permutation(labels[:1000])
    assert cas(images[:1000], shuffled)["cas"] < 0.3
    with pytest.raises(ConfigError, match="conditional"):
        cas(images)


def _tiny_run(run_dir, model="dcgan", epochs=1, networks=(None, None), **overrides):
    """Trains a tiny run in ``run_dir`` on 256 Fashion-MNIST images; returns its path."""
    config = gan_tf.make_config(
        model=model,
        dataset="fashion_mnist",
        download=False,
        max_examples=256,
        batch_size=32,
        steps_per_epoch=2,
        epochs=epochs,
        **overrides,
    )
    generator, discriminator = networks
    gan_tf.train(config, str(run_dir), verbose=0, generator=generator, discriminator=discriminator)
    return str(run_dir)


@pytest.mark.slow  # ~26 s (trains a CAS classifier): `make test-slow`
def test_evaluate_samples_file_and_cgan_cas(tmp_path, fashion_train):
    images, labels = fashion_train
    run_dir = _tiny_run(tmp_path / "cgan", model="cgan")
    samples = str(tmp_path / "real.npz")
    np.savez(samples, images=images[:1000], labels=labels[:1000])
    record = evaluation.evaluate_run(
        run_dir,
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
        run_dir, "cas", num_samples=200, num_real=200, cas_epochs=1, download=False
    )
    assert 0.0 <= sampled["metrics"]["cas"] <= 1.0
    assert sampled["protocol"]["cas"]["epochs"] == 1


def test_run_evaluate_scores_its_own_generator(tmp_path):
    """Run.evaluate hands its generator to evaluate_run: runs trained with your own
    networks evaluate too, and the numbers are the Evaluator's on run.sample(seed=0)."""
    run_dir = _tiny_run(tmp_path / "own", model="gan", latent_dim=8, networks=tiny_networks())
    with pytest.raises(ConfigError, match=r"load_run\(run_dir, generator="):
        evaluation.evaluate_run(run_dir, "fd_classifier", download=False)
    assert not os.path.exists(os.path.join(run_dir, "eval.json"))
    run = gan_tf.load_run(run_dir, generator=tiny_networks()[0])
    record = run.evaluate("fd_classifier,coverage", num_samples=200, num_real=200, download=False)
    assert record["epoch"] == 1 and record["model"] == "gan"
    assert record["protocol"]["num_generated"] == 200 and record["protocol"]["num_real"] == 200
    with open(os.path.join(run_dir, "eval.json"), encoding="utf-8") as handle:
        assert json.load(handle)["metrics"] == record["metrics"]
    evaluator = evaluation.Evaluator(
        "fashion_mnist", "fd_classifier,coverage", num_real=200, download=False
    )
    expected = evaluator(run.sample(200, seed=0))
    assert record["metrics"]["fd_classifier"] == pytest.approx(expected["fd_classifier"], rel=1e-6)
    assert record["metrics"]["classes_covered"] == expected["classes_covered"]
    # another generator (all weights 0: flat grey images) is scored when passed
    flat = tiny_networks()[0]
    flat.set_weights([np.zeros_like(w) for w in flat.get_weights()])
    other = evaluation.evaluate_run(
        run_dir,
        "fd_classifier",
        generator=flat,
        num_samples=200,
        num_real=200,
        download=False,
        output=str(tmp_path / "other.json"),
    )
    flat_images = np.full((200, 28, 28, 1), 128, np.uint8)  # to_uint8(0.0)
    assert other["metrics"]["fd_classifier"] == pytest.approx(
        evaluator(flat_images)["fd_classifier"], rel=1e-5
    )
    assert other["metrics"]["fd_classifier"] != pytest.approx(
        record["metrics"]["fd_classifier"], rel=1e-2
    )


def test_mean_of_draws_averages_each_metric_and_its_spread():
    draws = [{"fd": 1.0, "classes_covered": 9, "class_histogram": [1, 3]}]
    draws.append({"fd": 3.0, "classes_covered": 10, "class_histogram": [3, 5]})
    means, spreads = evaluation.mean_of_draws(draws)
    assert means == {"fd": 2.0, "classes_covered": 9.5, "class_histogram": [2.0, 4.0]}
    assert spreads["fd"] == pytest.approx(1.4142136, rel=1e-6)  # sqrt(((1-2)^2+(3-2)^2)/1)
    assert spreads["classes_covered"] == pytest.approx(0.7071068, rel=1e-6)
    assert "class_histogram" not in spreads
    assert evaluation.mean_of_draws(draws[:1])[1] == {"fd": 0.0, "classes_covered": 0.0}


def test_repeats_score_draws_of_successive_seeds(tmp_path):
    """repeats=3 scores run.sample(seed=0, 1, 2) and reports their mean and spread."""
    run_dir = _tiny_run(tmp_path / "own", model="gan", latent_dim=8, networks=tiny_networks())
    run = gan_tf.load_run(run_dir, generator=tiny_networks()[0])
    record = run.evaluate("fd_classifier", num_samples=200, num_real=200, repeats=3, download=False)
    evaluator = evaluation.Evaluator("fashion_mnist", "fd_classifier", num_real=200, download=False)
    each = [evaluator(run.sample(200, seed=seed))["fd_classifier"] for seed in range(3)]
    assert len(set(each)) == 3  # three different draws
    assert [d["fd_classifier"] for d in record["draws"]] == pytest.approx(each, rel=1e-6)
    assert record["metrics"]["fd_classifier"] == pytest.approx(np.mean(each), rel=1e-6)
    assert record["metrics_std"]["fd_classifier"] == pytest.approx(np.std(each, ddof=1), rel=1e-5)
    assert record["repeats"] == 3 and record["protocol"]["num_generated"] == 200
    samples = str(tmp_path / "s.npz")
    np.savez(samples, images=run.sample(10, seed=0))
    with pytest.raises(ConfigError, match="repeats must be >= 1 and 1 with a samples file"):
        evaluation.evaluate_run(run_dir, "fd_classifier", samples=samples, repeats=2)
    with pytest.raises(ConfigError, match="repeats must be >= 1"):
        run.evaluate("fd_classifier", num_samples=200, repeats=0, download=False)


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
    with open(os.path.join(evaluated, "metrics.csv"), encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["fd_classifier"] != "" for row in rows] == [False, True, True]  # epochs 2 and 3
    assert all(float(row["classes_covered"]) >= 1 for row in rows[1:])
    picture = iio.imread(os.path.join(evaluated, "metrics.png"))
    assert picture.ndim == 3 and picture.shape[1] > picture.shape[0]
    tags = set()
    for path in tf.io.gfile.glob(os.path.join(evaluated, "logs", "events.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            tags.update(value.tag for value in event.summary.value)
    assert {"eval/fd_classifier", "eval/classes_covered"} <= tags
    for a, b in zip(_weights(evaluated), _weights(plain), strict=True):
        np.testing.assert_array_equal(a, b)


def test_eval_flags_are_validated():
    with pytest.raises(ConfigError, match="eval_every does not apply to the 2-D toy") as error:
        gan_tf.make_config(dataset="ring8", eval_every=1)
    assert error.value.params == ("eval_every",)
    with pytest.raises(ConfigError, match="unknown metric.* in eval_metrics"):
        gan_tf.make_config(eval_every=1, eval_metrics="fd")
    with pytest.raises(ConfigError, match="eval_samples must be an integer >= 100, got 10"):
        gan_tf.make_config(eval_every=1, eval_samples=10)
    assert dataclasses.asdict(gan_tf.make_config())["eval_every"] == 0


def test_default_metrics_use_a_shipped_classifier_else_inception():
    for dataset in ("fashion_mnist", "mnist_5k", "emoji"):  # their classifiers ship
        assert evaluation.default_metrics(dataset) == evaluation.DEFAULT_METRICS
    for dataset in ("cifar10", "celeb_a", "folder:/data/faces"):
        assert evaluation.default_metrics(dataset) == ("fid", "kid", "pr")
        # a classifier you trained (train_classifier.py) makes its metrics the default
        assert evaluation.default_metrics(dataset, "c.weights.h5") == evaluation.DEFAULT_METRICS


@pytest.mark.slow  # ~19 s; the metric's parts: eval/test_augmentation.py (suite budget)
def test_the_augmentation_metric_scores_labelled_samples_and_draws_both_matrices(tmp_path):
    """The wiring (the metric's numbers: tests/eval/test_augmentation.py): real test
    images with their labels stand in for a conditional generator's samples."""
    evaluator = evaluation.Evaluator(
        "fashion_mnist", "augmentation", num_real=64, augmentation_real=64, download=False
    )
    test = data.load_dataset("fashion_mnist", split="test", with_labels=True, download=False)
    images, labels = data.as_arrays(data.user.select(test, with_labels=True, max_examples=128))
    values = evaluator(images[64:], labels[64:])
    assert set(values) == {"augmentation_real", "augmentation_mixed", "augmentation_gain"}
    assert 0 <= values["augmentation_real"] <= 1 and 0 <= values["augmentation_mixed"] <= 1
    gain = values["augmentation_mixed"] - values["augmentation_real"]
    assert values["augmentation_gain"] == pytest.approx(gain, abs=1e-9)
    card = evaluator.cards(64)["augmentation"]["augmentation"]
    assert card["real_train"].startswith("first 64 of") and card["steps"] == 5
    assert card["tested_on"] == "64 real images (test split)"
    picture = iio.imread(evaluator.save_confusion(str(tmp_path / "confusion.png")))
    assert picture.ndim == 3 and picture.shape[1] > picture.shape[0]  # two side by side
    with pytest.raises(ConfigError, match="augmentation needs labelled samples"):
        evaluator(images[64:])


def test_the_modes_metric_reads_each_channel_of_stacked_mnist():
    """Real stacks: the classifier's modes match the true digits' (the shipped MNIST
    classifier errs on ~1% of digits); one repeated stack is one mode."""
    evaluator = evaluation.Evaluator("stacked_mnist_5k", "modes", num_real=100, feature_cache=False)
    real = data.load_dataset("stacked_mnist_5k", with_labels=True, max_examples=3000)
    images, modes = data.as_arrays(real)
    results = evaluator(images)
    true = len(np.unique(modes))
    assert abs(results["modes_covered"] - true) <= 0.03 * true
    counts = np.bincount(modes, minlength=1000)
    from gan_tf.eval import mode_histogram_kl

    assert results["mode_kl"] == pytest.approx(mode_histogram_kl(counts), abs=0.03)
    collapsed = evaluator(np.repeat(images[:1], 200, axis=0))
    assert collapsed["modes_covered"] == 1
    assert collapsed["mode_kl"] == pytest.approx(np.log(1000), rel=1e-9)
    card = evaluator.cards(3000)["modes"]
    assert card["features"]["network"].startswith("mnist_classifier")
    assert card["modes"]["papers_num_generated"] == 26_000
    assert evaluation.default_metrics("stacked_mnist_5k") == ("modes",)
    with pytest.raises(ConfigError, match="needs 28x28x3 images"):
        evaluator(np.zeros((10, 32, 32, 3), np.uint8))
