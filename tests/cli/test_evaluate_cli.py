"""experiments/evaluate.py end to end: eval.json with every metric and its protocol, and
one-line errors with the right exit codes."""

import json
import os
import subprocess
import sys

import pytest
from real_data import requires_fashion_mnist

import gan_tf

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLASSIFIER_METRICS = "fd_classifier,kid_classifier,pr_classifier,is_classifier,coverage"


def evaluate(*args):
    return subprocess.Popen(
        [sys.executable, os.path.join(ROOT, "experiments", "evaluate.py"), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
    )


def finish(process):
    stdout, stderr = process.communicate(timeout=300)
    return process.returncode, stdout, stderr


@requires_fashion_mnist
def test_evaluate_writes_every_metric_and_the_protocol(tmp_path):
    run_dir = str(tmp_path / "dcgan")
    config = gan_tf.make_config(
        model="dcgan",
        dataset="fashion_mnist",
        download=False,
        max_examples=256,
        batch_size=32,
        steps_per_epoch=2,
        epochs=1,
    )
    gan_tf.train(config, run_dir, verbose=0)
    code, stdout, stderr = finish(
        evaluate(
            f"--run_dir={run_dir}",
            f"--metrics={CLASSIFIER_METRICS}",
            "--num_samples=300",
            "--num_real=300",
            "--kid_subsets=10",
            "--kid_subset_size=100",
            "--nodownload",
        )
    )
    assert code == 0, stderr
    with open(os.path.join(run_dir, "eval.json"), encoding="utf-8") as handle:
        record = json.load(handle)
    assert set(record["metrics"]) == {
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
    assert record["epoch"] == 1 and record["model"] == "dcgan"
    # dcgan's fast recipe keeps an EMA generator, and samples come from it
    assert record["samples"] == "ema generator" and record["run_dir"] == run_dir
    protocol = record["protocol"]
    assert protocol["num_generated"] == 300 and protocol["num_real"] == 300
    assert protocol["real_split"] == "test" and protocol["kid"]["subset_size"] == 100
    assert protocol["classifier"]["test_accuracy"] > 0.9
    assert sum(record["metrics"]["class_histogram"]) == pytest.approx(1.0, abs=1e-6)
    assert record["metrics"]["fd_classifier"] > 0
    assert 1 <= record["metrics"]["classes_covered"] <= 10
    assert "dcgan epoch 1 (latest checkpoint, ema generator):" in stdout
    assert "fd_classifier" in stdout and "card: fashion_mnist_classifier" in stdout
    card = record["cards"]["fd_classifier"]
    assert card["checkpoint"]["which"] == "latest" and card["checkpoint"]["epoch"] == 1
    assert card["features"]["weights_sha256"] == gan_tf.eval.cache.file_digest(
        gan_tf.eval.features.shipped_classifier_path("fashion_mnist")
    )
    assert card["image_shape"] == [28, 28, 1] and card["num_real"] == 300
    assert f"wrote {run_dir}/eval.json" in stdout
    repeated = str(tmp_path / "repeated.json")
    code, stdout, stderr = finish(
        evaluate(
            f"--run_dir={run_dir}",
            "--metrics=fd_classifier",
            "--num_samples=300",
            "--num_real=300",
            "--repeats=2",
            f"--out={repeated}",
            "--nodownload",
        )
    )
    assert code == 0, stderr
    with open(repeated, encoding="utf-8") as handle:
        twice = json.load(handle)
    first, second = (draw["fd_classifier"] for draw in twice["draws"])
    assert first == pytest.approx(record["metrics"]["fd_classifier"], rel=1e-5)  # seed 0
    assert twice["metrics"]["fd_classifier"] == pytest.approx((first + second) / 2, rel=1e-6)
    assert "(latest checkpoint, ema generator, mean ± sd of 2 draws):" in stdout
    mean, spread = twice["metrics"]["fd_classifier"], twice["metrics_std"]["fd_classifier"]
    assert f"fd_classifier          {mean:.5g} ± {spread:.2g}" in stdout


def test_evaluate_errors_are_one_line_with_exit_codes(tmp_path):
    """Usage errors exit 2, a missing run exits 1; neither shows a traceback nor writes."""
    run_dir = tmp_path / "run"
    processes = {
        "bad_metric": evaluate(f"--run_dir={run_dir}", "--metrics=fd_classifier,bogus"),
        "no_run_dir": evaluate("--metrics=fd_classifier"),
        "not_a_run": evaluate(f"--run_dir={run_dir}", "--metrics=fd_classifier"),
    }
    results = {name: finish(process) for name, process in processes.items()}
    expected = {
        "bad_metric": (
            2,
            "error: unknown metric(s) bogus in --metrics; choose from: fd_classifier",
        ),
        "no_run_dir": (2, "error: --run_dir is required"),
        "not_a_run": (1, f"error: {run_dir} is not a gan_tf run"),
    }
    for name, (code, start) in expected.items():
        returncode, _, stderr = results[name]
        assert returncode == code, (name, stderr)
        assert len(stderr.strip().splitlines()) == 1, (name, stderr)
        assert stderr.startswith(start), (name, stderr)
    assert not run_dir.exists()
