"""Conditional GAN end to end: class-row grids out, sampled labels as requested.
(The conditional networks themselves: tests/models/test_conditioning.py.)"""

import os
import subprocess
import sys

import imageio.v3 as iio
import numpy as np
import pytest
import tensorflow as tf
from fake_data import write_mnist_idx

from gan_tf import make_config, train
from gan_tf.rundir import restore_generator

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def cgan_run(tmp_path_factory):
    """A one-epoch cgan run on IDX-format digits: (run directory, its config)."""
    root = tmp_path_factory.mktemp("cgan")
    write_mnist_idx(str(root / "data"), train=64)
    config = make_config(
        model="cgan",
        dataset="mnist",
        data_dir=str(root / "data"),
        download=False,
        epochs=1,
        batch_size=16,
        latent_dim=8,
        grid_size=4,
    )
    train(config, str(root / "run"), verbose=0)
    return root / "run", config


def test_class_row_grid_layout(cgan_run):
    out, config = cgan_run
    grid = iio.imread(out / "samples" / "epoch_0001.png")
    assert grid.shape == (10 * 30 + 2, 4 * 30 + 2)  # one row per class, 4 columns
    generator, _ = restore_generator(str(out))
    noise = tf.random.stateless_normal([4, 8], seed=[config.seed, 0x5EED])
    row = generator([noise, tf.fill([4], 7)], training=False).numpy()
    expected = np.clip(np.round((row[2, ..., 0] + 1) * 127.5), 0, 255)
    tile = grid[2 + 7 * 30 : 2 + 7 * 30 + 28, 2 + 2 * 30 : 2 + 2 * 30 + 28]
    np.testing.assert_allclose(tile, expected, atol=1)  # row 7, column 2 is class 7


@pytest.mark.slow  # ~25 s of subprocesses; the sample command: cli/test_train_cli.py (suite budget)
def test_sample_cli_writes_requested_labels(cgan_run, tmp_path):
    out, _ = cgan_run
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    script = os.path.join(ROOT, "experiments", "sample.py")

    def sample(*args):
        return subprocess.run(
            [sys.executable, script, f"--run_dir={out}", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )

    result = sample("--num_samples=12", f"--out={tmp_path / 'k.npz'}", "--label=3")
    assert result.returncode == 0, result.stderr
    arrays = np.load(tmp_path / "k.npz")
    assert arrays["images"].shape == (12, 28, 28, 1)
    np.testing.assert_array_equal(arrays["labels"], np.full(12, 3))
    result = sample("--num_samples=25", f"--out={tmp_path / 'all.npz'}", "--labels=all")
    assert result.returncode == 0, result.stderr
    np.testing.assert_array_equal(np.load(tmp_path / "all.npz")["labels"], np.arange(25) % 10)
    result = sample("--num_samples=5", f"--out={tmp_path / 'bad.npz'}", "--label=10")
    assert result.returncode == 2 and "--label must be in [0, 9]" in result.stderr
    assert not (tmp_path / "bad.npz").exists()


def test_cgan_on_unlabelled_data_fails_clearly(tmp_path):
    config = make_config(model="cgan", dataset="celeb_a")
    with pytest.raises(ValueError, match="no class labels"):
        train(config, str(tmp_path / "x"), verbose=0)
