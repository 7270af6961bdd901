"""The colour path end to end on real pixels: train, resume and evaluate on emoji."""

import csv
import json
import os
import subprocess
import sys

import imageio.v3 as iio
import numpy as np
import pytest
from real_data import EMOJI_DIR, requires_emoji

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run(script, *args):
    return subprocess.run(
        [sys.executable, os.path.join(ROOT, "experiments", script), *args],
        capture_output=True,
        text=True,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
        timeout=600,
    )


@pytest.mark.slow  # ~45 s; parts in tests/test_data.py, eval/test_eval_features.py
@requires_emoji
def test_emoji_trains_resumes_and_is_scored_by_its_classifier(tmp_path):
    out = tmp_path / "run"
    common = ["--model=dcgan", "--dataset=emoji", f"--data_dir={EMOJI_DIR}", "--image_size=32"]
    common += [f"--output_dir={out}", "--batch_size=16", "--steps_per_epoch=3", "--verbose=0"]
    common += ["--augment=flip,translation", "--ada_target=0.6", "--ada_kimg=1"]
    result = run("train.py", *common, "--epochs=1")
    assert result.returncode == 0, result.stderr
    result = run("train.py", *common, "--epochs=2")
    assert result.returncode == 0, result.stderr
    with open(out / "metrics.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [(int(r["epoch"]), int(r["step"])) for r in rows] == [(1, 3), (2, 6)]
    assert all(0.0 <= float(r["augment_p"]) <= 1.0 for r in rows)
    grid = iio.imread(out / "samples" / "epoch_0002.png")
    assert grid.shape == (8 * 34 + 2, 8 * 34 + 2, 3)
    assert iio.imread(out / "progress.gif", index=None).shape[0] == 2
    result = run(
        "evaluate.py",
        f"--output_dir={out}",
        "--num_samples=100",
        "--num_real=100",
        "--kid_subset_size=50",
        "--kid_subsets=5",
    )
    assert result.returncode == 0, result.stderr
    record = json.loads((out / "eval.json").read_text())
    metrics = record["metrics"]
    assert record["protocol"]["classifier"]["network"] == "emoji_classifier"
    assert record["protocol"]["real_source"].startswith(EMOJI_DIR)
    assert np.isfinite(metrics["fd_classifier"]) and metrics["fd_classifier"] > 0
    assert 0 <= metrics["classes_covered"] <= 9


@requires_emoji
def test_r3gan_trains_from_the_command_line_with_r1_and_r2(tmp_path):
    out = tmp_path / "r3gan"
    result = run(
        "train.py",
        "--model=r3gan",
        "--dataset=emoji",
        f"--data_dir={EMOJI_DIR}",
        "--image_size=16",
        "--arch=width=16,min_width=8,cardinality=4,blocks=1",
        "--batch_size=8",
        "--steps_per_epoch=2",
        "--epochs=1",
        "--eval_every=0",
        "--precision=float32",
        f"--output_dir={out}",
        "--verbose=0",
    )
    assert result.returncode == 0, result.stderr
    with open(out / "config.json", encoding="utf-8") as handle:
        config = json.load(handle)
    assert (config["loss"], config["r1_weight"], config["r2_weight"]) == ("rpgan", 0.05, 0.05)
    with open(out / "metrics.csv", encoding="utf-8") as handle:
        row = next(csv.DictReader(handle))
    assert int(row["step"]) == 2
    for name in ("r1_penalty", "r2_penalty", "discriminator_loss", "generator_loss"):
        assert np.isfinite(float(row[name])) and float(row[name]) >= 0.0, name
    assert iio.imread(out / "samples" / "epoch_0001.png").shape[-1] == 3
