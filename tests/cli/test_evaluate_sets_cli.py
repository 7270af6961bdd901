"""Scoring anything: ``gan-tf sample --png_dir`` writes lossless PNGs, ``gan-tf evaluate
--real=A --fake=B`` scores two sets with the reference FID network and prints its
protocol card; bad input is one line and a non-zero exit."""

import json
import os
import re
import subprocess
import sys

import imageio.v3 as iio
import numpy as np
import pytest
from fake_data import write_mnist_idx

import gan_tf

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WEIGHTS = os.path.join(ROOT, "tests", "eval", "fixtures", "fid_random_weights.pth")


def start(script, *args, **env):
    return subprocess.Popen(
        [sys.executable, os.path.join(ROOT, "experiments", script), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", **env),
    )


def finish(process):
    stdout, stderr = process.communicate(timeout=300)
    return process.returncode, stdout, stderr


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("mnist")
    write_mnist_idx(str(data_dir), train=64)
    run_dir = tmp_path_factory.mktemp("run") / "gan"
    config = gan_tf.make_config(
        model="gan",
        dataset="mnist",
        data_dir=str(data_dir),
        download=False,
        batch_size=16,
        latent_dim=8,
        epochs=1,
        grid_size=2,
        precision="float32",
    )
    gan_tf.train(config, str(run_dir), verbose=0)
    return str(run_dir)


@pytest.mark.slow  # ~33 s: `make test-slow` (suite budget; errors stay in the default run)
def test_png_dir_then_two_set_scoring_with_a_card(run_dir, tmp_path):
    pngs, other = tmp_path / "pngs", tmp_path / "other"
    code, stdout, stderr = finish(
        start("sample.py", f"--run_dir={run_dir}", "--num_samples=12", f"--png_dir={pngs}")
    )
    assert code == 0, stderr
    names = sorted(os.listdir(pngs))
    assert names == [f"{i:06d}.png" for i in range(12)] and f"PNGs to {pngs}" in stdout
    assert not os.path.exists(os.path.join(run_dir, "samples.npz"))  # PNGs instead
    expected = gan_tf.load_run(run_dir).sample(12, seed=0)
    written = np.stack([iio.imread(pngs / name) for name in names])[..., None]
    np.testing.assert_array_equal(written, expected)  # lossless
    np.savez(tmp_path / "other.npz", images=gan_tf.load_run(run_dir).sample(12, seed=1))
    score = [f"--fid_weights={WEIGHTS}", "--kid_subset_size=6", "--kid_subsets=5", "--pr_k=2"]
    code, stdout, stderr = finish(
        start(
            "evaluate.py",
            f"--real={pngs}",
            f"--fake={tmp_path / 'other.npz'}",
            f"--out={other}.json",
            *score,
        )
    )
    assert code == 0, stderr
    values = dict(line.split() for line in stdout.splitlines() if len(line.split()) == 2)
    assert "card: Inception 2015-12-05" in stdout and "resize pytorch_fid" in stdout
    assert "12 real (all) vs 12 generated" in stdout
    itself = gan_tf.evaluation.evaluate_sets(
        str(pngs), str(pngs), "fid,pr", fid_weights=WEIGHTS, pr_k=2, feature_cache=False
    )["metrics"]
    assert abs(itself["fid"]) < 1e-3 * float(values["fid"]) and itself["precision"] == 1.0
    record = json.loads(open(f"{other}.json").read())
    assert record["metrics"]["fid"] == pytest.approx(float(values["fid"]), rel=1e-4)
    card = record["cards"]["fid"]
    assert card["features"]["weights_sha256"] == gan_tf.eval.cache.file_digest(WEIGHTS)
    assert (card["num_real"], card["num_generated"], card["image_shape"]) == (12, 12, [28, 28, 1])
    assert card["real_source"] == f"folder {pngs}" and card["gan_tf_version"]
    assert set(record["cards"]) == {"fid", "kid", "pr"}


def test_bad_input_is_one_line_and_nothing_written(run_dir, tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x.png").write_bytes(b"")
    cases = {
        "fake missing": (start("evaluate.py", f"--real={tmp_path}"), 2, "both --real and --fake"),
        "empty folder": (
            start("evaluate.py", f"--real={tmp_path / 'empty'}", f"--fake={tmp_path / 'empty'}"),
            2,
            "holds 0 PNG/JPEG images",
        ),
        "no weights offline": (
            start(
                "evaluate.py",
                f"--run_dir={run_dir}",
                "--metrics=fid",
                "--nodownload",
                "--num_samples=20",
                "--num_real=20",
                KERAS_HOME=str(tmp_path / "keras"),
            ),
            1,
            "FID Inception weights are not in .* --fid_weights=PATH",
        ),
        "png_dir not empty": (
            start("sample.py", f"--run_dir={run_dir}", f"--png_dir={tmp_path / 'full'}"),
            2,
            "--png_dir=.* is not empty",
        ),
    }
    for name, (process, expected_code, message) in cases.items():
        code, stdout, stderr = finish(process)
        lines = [line for line in stderr.splitlines() if line.strip()]
        assert code == expected_code, (name, stderr)
        assert len(lines) == 1 and "Traceback" not in stderr, (name, stderr)
        assert re.search(message, lines[0]), (name, lines[0])
    assert os.listdir(tmp_path / "full") == ["x.png"]
    assert not os.path.exists(os.path.join(run_dir, "eval.json"))


def test_a_run_scored_with_fid_names_the_weights_and_the_resize(run_dir, tmp_path):
    record = gan_tf.load_run(run_dir).evaluate(
        "fid,is",
        fid_weights=WEIGHTS,
        fid_resize="ttur",
        num_samples=12,
        num_real=12,
        download=False,
        output=str(tmp_path / "eval.json"),
    )
    assert record["metrics"]["fid"] > 0 and record["metrics"]["is"] >= 1.0
    card = json.loads((tmp_path / "eval.json").read_text())["cards"]["fid"]
    assert card["features"]["weights"] == WEIGHTS and card["features"]["resize"] == "ttur"
    assert "no half-pixel centres" in card["features"]["resize_protocol"]
    assert card["checkpoint"]["which"] == "latest" and card["checkpoint"]["epoch"] == 1
    assert card["real_split"] == "test" and card["num_generated"] == 12
