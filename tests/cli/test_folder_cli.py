"""Your own labelled folder end to end: train_classifier.py on its sub-folders, train.py
with --eval_every scored by that classifier, evaluate.py picking it up from the run."""

import csv
import json
import os
import subprocess
import sys

import pytest
from fake_data import write_image_folder
from real_data import requires_emoji, write_emoji_folder

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def script(name, *args):
    result = subprocess.run(
        [sys.executable, os.path.join(ROOT, "experiments", name), *args],
        capture_output=True,
        text=True,
        timeout=600,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
    )
    return result.returncode, result.stdout, result.stderr


@pytest.mark.slow  # ~45 s; the folder classifier in-process: tests/test_evaluation_folders.py
@requires_emoji
def test_own_folder_classifier_scores_training_and_evaluate(tmp_path):
    folder = write_emoji_folder(str(tmp_path / "mine"), 60)
    dataset = f"--dataset=folder:{folder}"

    code, _, err = script("train_classifier.py", dataset, "--out=mine.h5")
    assert code == 2 and err.count("\n") == 1 and "--out must end in .weights.h5" in err
    weights = str(tmp_path / "mine.weights.h5")
    code, out, err = script("train_classifier.py", dataset, f"--out={weights}", "--epochs=4")
    assert code == 0, err
    assert "test accuracy" in out and os.path.exists(weights)
    assert json.load(open(weights[: -len(".weights.h5")] + ".json"))["num_classes"] == 3

    run_dir = str(tmp_path / "run")
    code, _, err = script(
        "train.py",
        "--model=dcgan",
        dataset,
        "--image_size=32",
        "--arch=base_width=16,max_width=64",
        "--batch_size=16",
        "--epochs=1",
        "--steps_per_epoch=2",
        "--eval_every=1",
        "--eval_samples=100",
        f"--classifier_weights={weights}",
        f"--output_dir={run_dir}",
        "--verbose=0",
    )
    assert code == 0, err
    (row,) = list(csv.DictReader(open(os.path.join(run_dir, "metrics.csv"))))
    assert float(row["fd_classifier"]) > 0 and 1 <= float(row["classes_covered"]) <= 3

    code, out, err = script(
        "evaluate.py", f"--run_dir={run_dir}", "--num_samples=60", "--num_real=15"
    )
    assert code == 0, err
    record = json.load(open(os.path.join(run_dir, "eval.json")))
    assert record["protocol"]["classifier"]["weights"] == weights
    assert set(record["metrics"]) >= {"fd_classifier", "kid_classifier", "classes_covered"}


def test_a_folder_with_undecodable_files_trains_and_says_which_it_skipped(tmp_path):
    """One text file named .jpg among the images: skipped before training, with one
    line naming it, instead of a tf.data error mid-epoch."""
    folder = tmp_path / "pets"
    write_image_folder(str(folder), per_class=10)
    (folder / "dogs" / "notes.jpg").write_text("not an image\n")
    run_dir = str(tmp_path / "run")
    code, out, err = script(
        "train.py",
        "--model=gan",
        f"--dataset=folder:{folder}",
        "--image_size=16",
        "--batch_size=8",
        "--epochs=1",
        "--steps_per_epoch=1",
        f"--output_dir={run_dir}",
        "--verbose=0",
    )
    assert code == 0 and "Traceback" not in err, err
    skipped = [line for line in out.splitlines() if "skipped" in line]
    assert skipped == [
        f"dataset 'folder:{folder}': skipped 1 of 18 image files under {folder} that cannot "
        "be decoded (truncated, or not PNG/JPEG): dogs/notes.jpg"
    ]
    with open(os.path.join(run_dir, "metrics.csv"), encoding="utf-8") as handle:
        assert next(csv.DictReader(handle))["step"] == "1"
