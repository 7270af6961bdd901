"""gan_tf.training: the loop in-process. Exact resume, finished runs, work after the last
checkpoint dropped, divergence, fields changed on resume, refused architecture changes,
your own networks and callbacks."""

import csv
import json
import os
import sys
import types

import numpy as np
import pytest
import tensorflow as tf
from fake_data import tiny_mnist_config, tiny_networks, write_mnist_idx
from run_files import snapshot

import gan_tf
from gan_tf import distribute, losses, rundir
from gan_tf.build import with_precision
from gan_tf.errors import ConfigError, TrainingDivergedError

METRIC_KEYS = ("discriminator_loss", "generator_loss", "d_real", "d_fake")
LOG_KEYS = sorted(("step", "seconds", "diversity", *METRIC_KEYS))


@pytest.fixture(scope="module")
def mnist_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("mnist")
    write_mnist_idx(str(directory), train=64)  # 4 steps/epoch at batch 16
    return str(directory)


def config_for(mnist_dir, **overrides):
    return tiny_mnist_config(mnist_dir, **{"log_every": 2, "seed": 3, **overrides})


def train(config, run_dir, verbose=0, **kwargs):
    return gan_tf.train(config, str(run_dir), verbose=verbose, **kwargs)


def read_csv(path):
    with open(path, encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def checkpoint_weights(run_dir):
    generator, _ = rundir.restore_generator(str(run_dir))
    return [v.numpy() for v in generator.weights]


def checkpoint_learning_rates(run_dir):
    """(generator, discriminator) learning rates stored in the latest checkpoint."""
    reader = tf.train.load_checkpoint(os.path.join(run_dir, "checkpoints"))
    return tuple(
        float(reader.get_tensor(f"{name}_optimizer/_learning_rate/.ATTRIBUTES/VARIABLE_VALUE"))
        for name in ("generator", "discriminator")
    )


@pytest.fixture(scope="module")
def straight(mnist_dir, tmp_path_factory):
    """Three epochs without interruption: the reference of the resume tests."""
    run_dir = tmp_path_factory.mktemp("straight") / "run"
    summary = train(config_for(mnist_dir, epochs=3), run_dir)
    assert summary["step"] == 12 and summary["steps_per_epoch"] == 4
    return run_dir


def assert_same_metrics(rows, reference_rows):
    assert len(rows) == len(reference_rows)
    for row, reference in zip(rows, reference_rows, strict=True):
        assert int(row["step"]) == int(reference["step"])
        for key in METRIC_KEYS:
            assert float(row[key]) == pytest.approx(float(reference[key]), rel=1e-4, abs=1e-6)


def test_resume_continues_exactly(mnist_dir, tmp_path, straight):
    run_dir = tmp_path / "resumed"
    first = train(config_for(mnist_dir, epochs=2), run_dir)
    assert first["epoch"] == 2 and first["step"] == 8 and first["start_epoch"] == 0
    second = train(config_for(mnist_dir, epochs=3), run_dir)
    assert (second["start_epoch"], second["epoch"], second["step"]) == (2, 3, 12)
    assert second["changes"] == {"epochs": (2, 3)}

    rows = read_csv(run_dir / "metrics.csv")
    assert [(int(r["epoch"]), int(r["step"])) for r in rows] == [(1, 4), (2, 8), (3, 12)]
    assert_same_metrics(rows, read_csv(straight / "metrics.csv"))
    for a, b in zip(checkpoint_weights(run_dir), checkpoint_weights(straight), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    assert sorted(os.listdir(run_dir / "samples")) == [
        "epoch_0001.png",
        "epoch_0002.png",
        "epoch_0003.png",
    ]


def test_finished_run_says_so_and_changes_nothing(mnist_dir, tmp_path, capsys):
    run_dir = tmp_path / "run"
    config = config_for(mnist_dir, epochs=1)
    train(config, run_dir)
    kept = ("metrics.csv", "losses.csv", "config.json", "run.json")
    before = {name: (run_dir / name).read_bytes() for name in kept}
    checkpoints = sorted(os.listdir(run_dir / "checkpoints"))
    index = (run_dir / "checkpoints" / "ckpt-1.index").read_bytes()
    grid = (run_dir / "samples" / "epoch_0001.png").read_bytes()
    capsys.readouterr()

    summary = train(config, run_dir, verbose=1)
    out = capsys.readouterr().out
    assert summary["already_finished"] and summary["changes"] == {}
    assert (summary["start_epoch"], summary["epoch"], summary["step"]) == (1, 1, 4)
    assert summary["metrics"] is None
    assert "already trained to epoch 1" in out
    assert "Changed on resume" not in out and "Epoch " not in out  # no epoch ran
    for name in kept:
        assert (run_dir / name).read_bytes() == before[name], name
    assert sorted(os.listdir(run_dir / "checkpoints")) == checkpoints
    assert (run_dir / "checkpoints" / "ckpt-1.index").read_bytes() == index
    assert os.listdir(run_dir / "samples") == ["epoch_0001.png"]
    assert (run_dir / "samples" / "epoch_0001.png").read_bytes() == grid


def test_work_after_last_checkpoint_is_redone_exactly(mnist_dir, tmp_path, straight):
    run_dir = tmp_path / "run"
    config = config_for(mnist_dir, epochs=3, checkpoint_every=2, keep_checkpoints=5)
    train(config, run_dir)
    assert rundir.checkpoint_epoch(str(run_dir)) == 3  # the last epoch always saves
    # A crash after epoch 3's grid and CSV rows but before its checkpoint was written.
    os.remove(run_dir / "checkpoints" / "ckpt-3.index")
    with open(run_dir / "checkpoints" / "checkpoint", "w", encoding="utf-8") as handle:
        handle.write('model_checkpoint_path: "ckpt-2"\nall_model_checkpoint_paths: "ckpt-2"\n')
    assert rundir.checkpoint_epoch(str(run_dir)) == 2

    summary = train(config, run_dir)  # the same config: a plain resume
    assert summary["start_epoch"] == 2 and summary["step"] == 12
    assert summary["changes"] == {} and not summary["already_finished"]
    rows = read_csv(run_dir / "metrics.csv")
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]  # epoch 3's old row was dropped
    assert_same_metrics(rows, read_csv(straight / "metrics.csv"))  # and redone exactly
    steps = [int(r["step"]) for r in read_csv(run_dir / "losses.csv")]
    assert steps == [2, 4, 6, 8, 10, 12]  # a row every 2 steps, none twice
    assert sorted(os.listdir(run_dir / "samples")) == [
        "epoch_0001.png",
        "epoch_0002.png",
        "epoch_0003.png",
    ]
    assert rundir.checkpoint_epoch(str(run_dir)) == 3


def test_divergence_stops_with_a_clear_error_and_keeps_the_checkpoint(
    mnist_dir, tmp_path, monkeypatch
):
    run_dir = tmp_path / "run"
    train(config_for(mnist_dir, epochs=1), run_dir)
    metrics = (run_dir / "metrics.csv").read_bytes()

    def nan_loss(*, real_logits=None, fake_logits):
        return tf.reduce_mean(fake_logits) * np.nan

    pair = losses.LOSSES["non_saturating"]
    monkeypatch.setitem(losses.LOSSES, "non_saturating", pair._replace(generator_loss=nan_loss))
    with pytest.raises(
        TrainingDivergedError, match=r"generator_loss became nan at step 5 \(epoch 2\)"
    ):
        train(config_for(mnist_dir, epochs=2), run_dir)
    assert rundir.checkpoint_epoch(str(run_dir)) == 1
    assert (run_dir / "metrics.csv").read_bytes() == metrics

    monkeypatch.undo()  # the loss is healthy again: rerunning resumes from epoch 1
    summary = train(config_for(mnist_dir, epochs=2), run_dir)
    assert summary["start_epoch"] == 1 and summary["step"] == 8
    assert np.isfinite(summary["metrics"]["generator_loss"])


def test_resume_applies_changed_learning_rates(mnist_dir, tmp_path, capsys):
    run_dir = tmp_path / "run"
    train(config_for(mnist_dir, epochs=1, learning_rate=2e-4), run_dir)
    assert checkpoint_learning_rates(run_dir) == pytest.approx((2e-4, 2e-4), rel=1e-6)
    capsys.readouterr()

    changed = config_for(mnist_dir, epochs=2, learning_rate=1e-3, d_learning_rate=5e-4)
    summary = train(changed, run_dir, verbose=1)
    out = capsys.readouterr().out
    assert summary["start_epoch"] == 1 and summary["step"] == 8
    assert summary["changes"] == {
        "epochs": (1, 2),
        "learning_rate": (2e-4, 1e-3),
        "d_learning_rate": (None, 5e-4),
    }
    assert out.count("learning_rate 0.0002 -> 0.001") == 1
    assert out.count("d_learning_rate None -> 0.0005") == 1
    assert out.count("Changed on resume") == 1 and "from epoch 2" in out
    generator_rate, discriminator_rate = checkpoint_learning_rates(run_dir)
    assert generator_rate == pytest.approx(1e-3, rel=1e-6)
    assert discriminator_rate == pytest.approx(5e-4, rel=1e-6)
    saved = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
    assert (saved["learning_rate"], saved["d_learning_rate"], saved["epochs"]) == (1e-3, 5e-4, 2)
    assert rundir.load_config(str(run_dir)) == with_precision(changed)  # auto resolved

    # control: the same config again changes nothing and reports no change
    again = train(changed, run_dir, verbose=1)
    out = capsys.readouterr().out
    assert again["changes"] == {} and again["already_finished"]
    assert "Changed on resume" not in out
    assert checkpoint_learning_rates(run_dir) == pytest.approx((1e-3, 5e-4), rel=1e-6)


@pytest.fixture(scope="module")
def finished_runs(mnist_dir, tmp_path_factory):
    """One-epoch gan and dcgan runs (default architectures) the refusal tests must not touch."""
    root = tmp_path_factory.mktemp("finished")
    runs = {}
    for model in ("gan", "dcgan"):
        runs[model] = root / model
        train(config_for(mnist_dir, model=model, epochs=1, steps_per_epoch=1), runs[model])
    return runs


REFUSED = {
    "latent_dim": ("gan", dict(latent_dim=16)),
    "arch": ("dcgan", dict(arch={"base_width": 16})),
    "model": ("gan", dict(model="dcgan")),
}


@pytest.mark.parametrize("field", REFUSED)
def test_resume_refuses_architecture_changes_and_writes_nothing(field, mnist_dir, finished_runs):
    model, overrides = REFUSED[field]
    run_dir = finished_runs[model]
    saved = config_for(mnist_dir, model=model, epochs=1, steps_per_epoch=1)
    changed = config_for(
        mnist_dir, **{"model": model, "epochs": 2, "steps_per_epoch": 1, **overrides}
    )
    assert rundir.load_config(str(run_dir)) == with_precision(saved)
    old, new = getattr(saved, field), getattr(changed, field)
    assert old != new
    before = snapshot(run_dir)
    with pytest.raises(ConfigError) as error:
        train(changed, run_dir)
    assert f"{field}={old} (now {new})" in str(error.value)
    assert field in error.value.params
    assert snapshot(run_dir) == before  # config.json (and everything else) byte-identical
    with pytest.raises(ConfigError, match=f"{field}="):
        rundir.resume_changes(changed, str(run_dir))


def test_registered_run_refuses_your_own_networks(mnist_dir, finished_runs):
    run_dir = finished_runs["gan"]
    generator, discriminator = tiny_networks()
    before = snapshot(run_dir)
    with pytest.raises(ConfigError, match="trained with the registered model's networks"):
        train(
            config_for(mnist_dir, epochs=2, steps_per_epoch=1),
            run_dir,
            generator=generator,
            discriminator=discriminator,
        )
    assert snapshot(run_dir) == before


class Recorder(gan_tf.Callback):
    def __init__(self):
        self.calls, self.shapes, self.samples, self.generators = [], [], {}, []

    def on_epoch_end(self, run, epoch, logs):
        self.calls.append((epoch, sorted(logs)))
        images = run.sample(4, seed=0)
        self.shapes.append(images.shape)
        self.samples[epoch] = images
        self.generators.append(run.gan.generator)
        assert run.epoch == epoch  # the epoch's checkpoint is written before callbacks


def test_your_own_networks_train_resume_and_load(mnist_dir, tmp_path):
    run_dir = tmp_path / "own"
    generator, discriminator = tiny_networks()
    recorder = Recorder()
    summary = train(
        config_for(mnist_dir, epochs=2),
        run_dir,
        generator=generator,
        discriminator=discriminator,
        callbacks=[recorder],
    )
    assert summary["step"] == 8
    assert recorder.calls == [(1, LOG_KEYS), (2, LOG_KEYS)]
    assert recorder.shapes == [(4, 28, 28, 1)] * 2
    assert all(network is generator for network in recorder.generators)  # the live network
    assert not np.array_equal(recorder.samples[1], recorder.samples[2])  # it trained
    for name in ("samples/epoch_0001.png", "samples/epoch_0002.png", "progress.gif"):
        assert os.path.exists(run_dir / name), name
    assert rundir.checkpoint_epoch(str(run_dir)) == 2
    assert {"ckpt-1.index", "ckpt-2.index"} <= set(os.listdir(run_dir / "checkpoints"))
    info = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    assert info["custom_networks"] is True and info["shape"] == [28, 28, 1]

    # resuming needs networks of the same architecture (fresh ones are restored into)
    before = snapshot(run_dir)
    with pytest.raises(ConfigError, match="trained with your own networks"):
        train(config_for(mnist_dir, epochs=3), run_dir)
    assert snapshot(run_dir) == before
    generator, discriminator = tiny_networks()
    summary = train(
        config_for(mnist_dir, epochs=3),
        run_dir,
        generator=generator,
        discriminator=discriminator,
        callbacks=[recorder],
    )
    assert summary["start_epoch"] == 2 and summary["step"] == 12
    assert recorder.calls[2:] == [(3, LOG_KEYS)]

    with pytest.raises(ConfigError, match=r"load_run\(run_dir, generator="):
        gan_tf.load_run(str(run_dir))
    run = gan_tf.load_run(str(run_dir), generator=tiny_networks()[0])
    assert run.epoch == 3
    np.testing.assert_array_equal(run.sample(4, seed=0), recorder.samples[3])


def test_log_output_names_the_devices_and_is_plain_lines(mnist_dir, tmp_path, capsys):
    """stdout is not a terminal here (as in a log file): no progress-bar control
    characters, one line per log_every steps, and the devices are named first."""
    config = config_for(mnist_dir, epochs=1, log_every=2)
    train(config, tmp_path / "run", verbose=1)
    out = capsys.readouterr().out
    assert "\r" not in out and "\x1b" not in out and "\x08" not in out
    lines = out.splitlines()
    assert lines[0].startswith("Devices: CPU (")
    precision, reason = distribute.auto_precision(distribute.detect_hardware())
    assert lines[0].endswith(
        f"strategy default (one device), 1 replica; precision {precision} (auto: {reason})"
    )
    steps = [line for line in lines if line.startswith("epoch 1 step ")]
    assert [line.split(":")[0] for line in steps] == ["epoch 1 step 2/4", "epoch 1 step 4/4"]
    assert "discriminator_loss " in steps[0] and "generator_loss " in steps[0]


def test_a_notebook_kernel_gets_the_live_progress_bar(mnist_dir, tmp_path, capsys, monkeypatch):
    """In Jupyter/Colab (an ipykernel process, stdout not a terminal) the bar of fit."""
    monkeypatch.setitem(sys.modules, "ipykernel", types.ModuleType("ipykernel"))
    assert gan_tf.training.live_display()
    train(config_for(mnist_dir, epochs=1, log_every=2), tmp_path / "run", verbose=1)
    out = capsys.readouterr().out
    assert "4/4" in out and "discriminator_loss:" in out  # Keras' Progbar, at the last step
    assert not [line for line in out.splitlines() if line.startswith("epoch 1 step ")]
    monkeypatch.delitem(sys.modules, "ipykernel")
    assert not gan_tf.training.live_display()  # pytest's captured stdout: plain lines


def test_auto_precision_is_recorded_and_kept_on_resume(mnist_dir, tmp_path, monkeypatch, capsys):
    """precision=auto (the default) is resolved once, written to config.json as the
    concrete policy, and a resume on other hardware keeps it instead of re-deciding."""
    monkeypatch.setattr(
        distribute, "detect_hardware", lambda strategy=None: distribute.Hardware("GPU", (7, 5))
    )
    config = config_for(mnist_dir, epochs=1)
    assert config.precision == "auto"
    run_dir = tmp_path / "run"
    train(config, run_dir, verbose=1)
    assert "precision mixed_float16 (auto: GPU compute capability 7.5" in capsys.readouterr().out
    assert rundir.load_config(str(run_dir)).precision == "mixed_float16"

    monkeypatch.setattr(  # the same command on a bfloat16 machine
        distribute, "detect_hardware", lambda strategy=None: distribute.Hardware("GPU", (8, 0))
    )
    summary = train(config_for(mnist_dir, epochs=2), run_dir, verbose=1)
    out = capsys.readouterr().out
    assert "precision mixed_float16 (auto: kept from the run's start)" in out
    assert summary["changes"] == {"epochs": (1, 2)} and summary["epoch"] == 2
    assert rundir.load_config(str(run_dir)).precision == "mixed_float16"
