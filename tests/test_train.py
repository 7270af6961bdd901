"""The train loop in-process: exact resume, finished runs, truncation, divergence."""

import csv
import os

import numpy as np
import pytest
import tensorflow as tf
from fake_data import write_mnist_idx

from gan_tf import losses, make_config, train
from gan_tf.training import TrainingDivergedError, generate_images, restore_generator


@pytest.fixture(scope="module")
def mnist_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("mnist")
    write_mnist_idx(str(directory), train=64)
    return str(directory)


def config_for(mnist_dir, output_dir, **overrides):
    values = dict(
        model="gan",
        dataset="mnist",
        data_dir=mnist_dir,
        download=False,
        output_dir=str(output_dir),
        batch_size=16,
        latent_dim=8,
        epochs=2,
        log_every=2,
        grid_size=2,
        seed=3,
    )
    values.update(overrides)
    return make_config(**values)


def read_csv(path):
    with open(path, encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def checkpoint_weights(run_dir):
    generator, _ = restore_generator(str(run_dir))
    return [v.numpy() for v in generator.weights]


def test_resume_continues_exactly(mnist_dir, tmp_path):
    straight = train(config_for(mnist_dir, tmp_path / "straight", epochs=3), verbose=0)
    assert straight["step"] == 12 and straight["steps_per_epoch"] == 4

    first = train(config_for(mnist_dir, tmp_path / "resumed", epochs=2), verbose=0)
    assert first["epoch"] == 2 and first["step"] == 8
    second = train(config_for(mnist_dir, tmp_path / "resumed", epochs=3), verbose=0)
    assert second["start_epoch"] == 2 and second["epoch"] == 3 and second["step"] == 12

    rows = read_csv(tmp_path / "resumed" / "metrics.csv")
    assert [(int(r["epoch"]), int(r["step"])) for r in rows] == [(1, 4), (2, 8), (3, 12)]
    straight_rows = read_csv(tmp_path / "straight" / "metrics.csv")
    for resumed_row, straight_row in zip(rows, straight_rows, strict=True):
        for key in ("discriminator_loss", "generator_loss", "d_real", "d_fake"):
            assert float(resumed_row[key]) == pytest.approx(float(straight_row[key]), rel=1e-4)
    for a, b in zip(
        checkpoint_weights(tmp_path / "resumed"),
        checkpoint_weights(tmp_path / "straight"),
        strict=True,
    ):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    assert sorted(os.listdir(tmp_path / "resumed" / "samples")) == [
        "epoch_0001.png",
        "epoch_0002.png",
        "epoch_0003.png",
    ]


def test_finished_run_says_so_and_changes_nothing(mnist_dir, tmp_path, capsys):
    config = config_for(mnist_dir, tmp_path / "run", epochs=1)
    train(config, verbose=0)
    before = os.path.getmtime(tmp_path / "run" / "metrics.csv")
    summary = train(config, verbose=1)
    assert summary["already_finished"] and summary["step"] == 4
    assert "already trained to epoch 1" in capsys.readouterr().out
    assert len(read_csv(tmp_path / "run" / "metrics.csv")) == 1
    assert os.path.getmtime(tmp_path / "run" / "metrics.csv") >= before


def test_work_after_last_checkpoint_is_dropped_on_resume(mnist_dir, tmp_path):
    run = tmp_path / "run"
    train(config_for(mnist_dir, run, epochs=3, checkpoint_every=2, keep_checkpoints=5), verbose=0)
    # Simulate a crash after epoch 3's grid/CSV row but before its checkpoint was written.
    os.remove(run / "checkpoints" / "ckpt-3.index")
    with open(run / "checkpoints" / "checkpoint", "w", encoding="utf-8") as handle:
        handle.write('model_checkpoint_path: "ckpt-2"\nall_model_checkpoint_paths: "ckpt-2"\n')
    summary = train(config_for(mnist_dir, run, epochs=2, checkpoint_every=2), verbose=0)
    assert summary["already_finished"] and summary["start_epoch"] == 2
    assert [int(r["epoch"]) for r in read_csv(run / "metrics.csv")] == [1, 2]
    assert sorted(os.listdir(run / "samples")) == ["epoch_0001.png", "epoch_0002.png"]
    summary = train(config_for(mnist_dir, run, epochs=3, checkpoint_every=2), verbose=0)
    assert summary["start_epoch"] == 2 and summary["step"] == 12
    rows = read_csv(run / "metrics.csv")
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    steps = [int(r["step"]) for r in read_csv(run / "losses.csv")]
    assert steps == sorted(steps) and len(steps) == len(set(steps))


def test_resume_refuses_a_different_architecture(mnist_dir, tmp_path):
    train(config_for(mnist_dir, tmp_path / "run", epochs=1), verbose=0)
    with pytest.raises(ValueError, match="--latent_dim=8 \\(now 16\\)"):
        train(config_for(mnist_dir, tmp_path / "run", epochs=2, latent_dim=16), verbose=0)


def test_divergence_stops_with_a_clear_error(mnist_dir, tmp_path, monkeypatch):
    def nan_loss(*, fake_logits):
        return tf.reduce_mean(fake_logits) * np.nan

    pair = losses.LOSSES["non_saturating"]
    monkeypatch.setitem(losses.LOSSES, "non_saturating", pair._replace(generator_loss=nan_loss))
    with pytest.raises(TrainingDivergedError, match="generator_loss became nan at step 1"):
        train(config_for(mnist_dir, tmp_path / "run"), verbose=0)


def test_sampling_is_seeded(mnist_dir, tmp_path):
    train(config_for(mnist_dir, tmp_path / "run", epochs=1), verbose=0)
    generator, config = restore_generator(str(tmp_path / "run"))
    a = generate_images(generator, 7, config.latent_dim, seed=1, batch_size=3)
    b = generate_images(generator, 7, config.latent_dim, seed=1, batch_size=3)
    c = generate_images(generator, 7, config.latent_dim, seed=2, batch_size=3)
    assert a.shape == (7, 28, 28, 1) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    with pytest.raises(FileNotFoundError, match="not a gan_tf run"):
        restore_generator(str(tmp_path))
