"""gan_tf.run: the Python API for runs (train -> load_run -> sample/grid/export), exported
generators loaded by TensorFlow alone, and the animate/export scripts on the same runs."""

import json
import os
import subprocess
import sys

import imageio.v3 as iio
import numpy as np
import pytest
import tensorflow as tf
from fake_data import write_mnist_idx

import gan_tf
from gan_tf import animation, rundir, visualize
from gan_tf.build import build_networks
from gan_tf.errors import ConfigError, RunNotFoundError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A tiny dcgan run (with an EMA generator) and a tiny cgan run, one epoch each."""
    root = tmp_path_factory.mktemp("api_runs")
    write_mnist_idx(str(root / "mnist"), train=64)
    common = dict(
        dataset="mnist",
        data_dir=str(root / "mnist"),
        download=False,
        batch_size=16,
        steps_per_epoch=2,
        epochs=1,
        latent_dim=8,
        grid_size=2,
    )
    paths = {}
    for model, extra in (("dcgan", {"ema": 0.5}), ("cgan", {})):
        paths[model] = str(root / model)
        config = gan_tf.make_config(model=model, **common, **extra)
        summary = gan_tf.train(config, paths[model], verbose=0)
        assert summary["run_dir"] == paths[model] and summary["step"] == 2
    return paths


def test_train_resumes_and_load_run_samples_reproducibly(runs):
    with pytest.raises(ConfigError, match="unknown config field\\(s\\): output_dir"):
        gan_tf.make_config(model="dcgan", output_dir="ignored")  # the run dir is train's argument
    with open(os.path.join(runs["dcgan"], "config.json"), encoding="utf-8") as handle:
        saved = gan_tf.make_config(**json.load(handle))
    assert saved == rundir.load_config(runs["dcgan"])
    again = gan_tf.train(saved, runs["dcgan"], verbose=0)
    assert again["already_finished"] and again["epoch"] == 1 and again["changes"] == {}
    run = gan_tf.load_run(runs["dcgan"])
    assert (run.shape, run.num_classes, run.latent_dim, run.epoch) == ((28, 28, 1), None, 8, 1)
    assert "dcgan on mnist, 28x28x1, epoch 1" in repr(run)
    first, second = run.sample(6, seed=3), run.sample(6, seed=3)
    assert first.dtype == np.uint8 and first.shape == (6, 28, 28, 1)
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, run.sample(6, seed=4))
    grid = run.grid(rows=2, columns=3)
    assert grid.shape == (2 * 28 + 3 * 2, 3 * 28 + 4 * 2, 1)
    with pytest.raises(ConfigError, match="labels need a conditional run"):
        run.sample(2, labels=1)


def test_conditional_labels_are_honoured(runs):
    run = gan_tf.load_run(runs["cgan"])
    assert run.conditional and run.num_classes == 10
    np.testing.assert_array_equal(run.labels_for(12, None), np.arange(12) % 10)
    np.testing.assert_array_equal(run.labels_for(3, 7), [7, 7, 7])
    a = run.sample(3, labels=[1, 2, 3], seed=0)
    b = run.sample(3, labels=[1, 2, 9], seed=0)
    np.testing.assert_array_equal(a[:2], b[:2])  # same noise, same labels: same images
    assert not np.array_equal(a[2], b[2])  # only the changed label changes its image
    noise = tf.random.Generator.from_seed(0).normal([3, 8])
    expected = visualize.to_uint8(run.generate(noise, [1, 2, 3]))
    np.testing.assert_array_equal(a, expected)
    grid = run.grid(columns=2)  # one row per class
    assert grid.shape == (10 * 28 + 11 * 2, 2 * 28 + 3 * 2, 1)
    for bad, message in (
        ([1, 2], "got 2 labels for 3"),
        (10, r"label must be in \[0, 9\], got 10"),
        ([1, 12, -1], r"labels must be in \[0, 9\], got \[-1, 12\]"),
    ):
        with pytest.raises(ConfigError, match=message):
            run.sample(3, labels=bad)


def test_load_run_and_export_errors(runs, tmp_path):
    with pytest.raises(RunNotFoundError, match="not a gan_tf run"):
        gan_tf.load_run(str(tmp_path))
    run = gan_tf.load_run(runs["dcgan"])
    with pytest.raises(ConfigError, match="unknown format 'onnx'") as error:
        run.export(format="onnx")
    assert error.value.params == ("format",)
    with pytest.raises(ConfigError, match="must end in .keras"):
        run.export(str(tmp_path / "generator.h5"))
    assert not os.listdir(tmp_path)  # nothing written


LOADER = """
import json, sys
import numpy as np
import keras
import tensorflow as tf
out = {}
for name, path, conditional in json.loads(sys.argv[1]):
    noise = np.load(sys.argv[2])["noise"]
    labels = np.arange(len(noise), dtype=np.int32) % 10
    if path.endswith(".keras"):
        model = keras.models.load_model(path)
        images = model([noise, labels] if conditional else noise, training=False)
    else:
        serve = tf.saved_model.load(path).signatures["serving_default"]
        kwargs = {"noise": tf.constant(noise)}
        if conditional:
            kwargs["labels"] = tf.constant(labels)
        images = list(serve(**kwargs).values())[0]
    out[name] = np.asarray(images)
assert "gan_tf" not in sys.modules
np.savez(sys.argv[3], **out)
"""


def test_exported_generators_load_with_tensorflow_alone(runs, tmp_path):
    noise = np.random.default_rng(0).standard_normal((5, 8)).astype(np.float32)
    np.savez(tmp_path / "noise.npz", noise=noise)
    artifacts, expected = [], {}
    for model, path in runs.items():
        run = gan_tf.load_run(path)
        labels = np.arange(5) % 10 if run.conditional else None
        expected[model] = run.generate(noise, labels)
        for fmt in ("keras", "saved_model"):
            written = run.export(format=fmt)
            artifacts.append((f"{model}_{fmt}", written, run.conditional))
    assert os.path.exists(os.path.join(runs["dcgan"], "export", "generator.keras"))
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            LOADER,
            json.dumps(artifacts),
            str(tmp_path / "noise.npz"),
            str(tmp_path / "out.npz"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    loaded = np.load(tmp_path / "out.npz")
    for name, _, _ in artifacts:
        model = name.split("_")[0]
        assert loaded[name].shape == (5, 28, 28, 1)
        # precision=auto trains these in bfloat16 on a CPU with AVX512_BF16 or AMX: a value
        # on a rounding boundary of the last bfloat16 layer may flip (seen: 1 of 3,920
        # pixels off by 1.5e-5 at 2.1e-3), so per pixel two bfloat16 steps, and on average
        # far less
        np.testing.assert_allclose(loaded[name], expected[model], rtol=1e-2, atol=2e-5)
        assert np.abs(loaded[name] - expected[model]).mean() < 1e-6
        assert loaded[name].min() >= -1.0 and loaded[name].max() <= 1.0
    # the dcgan run kept an EMA: that generator, not the raw one, was exported
    config = gan_tf.load_run(runs["dcgan"]).config
    raw, _ = build_networks(config, (28, 28, 1))
    latest = tf.train.latest_checkpoint(os.path.join(runs["dcgan"], "checkpoints"))
    tf.train.Checkpoint(generator=raw).restore(latest).expect_partial()
    assert not np.allclose(raw(noise, training=False).numpy(), expected["dcgan"], atol=1e-4)


def _cli(script, *args):
    return subprocess.Popen(
        [sys.executable, os.path.join(ROOT, "experiments", script), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
    )


def test_trained_run_animates_to_a_gif(runs, tmp_path):
    frames = animation.latent_walk(gan_tf.load_run(runs["dcgan"]), points=3, steps=2, count=4)
    assert frames.shape == (6, 2 * 28 + 3 * 2, 2 * 28 + 3 * 2, 1) and frames.dtype == np.uint8
    assert not np.array_equal(frames[0], frames[1])
    gif = str(tmp_path / "walk.gif")
    assert visualize.write_gif(frames, gif) == 6
    assert iio.imread(gif, index=None).shape == (6, 62, 62, 3)


@pytest.mark.slow  # ~55 s of subprocesses; in-process: the two tests above (suite budget)
def test_animate_and_export_scripts(runs, tmp_path):
    commands = {
        "classes": _cli(
            "animate.py",
            f"--run_dir={runs['cgan']}",
            "--mode=classes",
            "--classes=0,3,7",
            "--steps=2",
            "--count=4",
        ),
        "unconditional": _cli("animate.py", f"--run_dir={runs['dcgan']}", "--mode=classes"),
        "export": _cli(
            "export.py",
            f"--run_dir={runs['cgan']}",
            "--format=saved_model",
            f"--out={tmp_path / 'sm'}",
        ),
        "bad_format": _cli("export.py", f"--run_dir={runs['cgan']}", "--format=onnx"),
    }
    results = {name: (p, *p.communicate(timeout=300)) for name, p in commands.items()}
    process, stdout, stderr = results["classes"]
    assert process.returncode == 0, stderr
    morph = iio.imread(os.path.join(runs["cgan"], "animations", "classes.gif"), index=None)
    assert morph.shape == (3 * 2, 62, 62, 3)
    assert "wrote 6 frames" in stdout
    process, _, stderr = results["export"]
    assert process.returncode == 0, stderr
    assert os.path.exists(tmp_path / "sm" / "saved_model.pb")
    for name, fragment in (("unconditional", "need a conditional run"), ("bad_format", "onnx")):
        process, _, stderr = results[name]
        lines = [line for line in stderr.splitlines() if line.strip()]
        assert process.returncode == 2 and lines[-1].startswith("error: ") and fragment in lines[-1]
        assert "Traceback" not in stderr
