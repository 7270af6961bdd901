"""The command line end to end: train, resume, sample, GIF, and bad flags."""

import csv
import os
import subprocess
import sys

import imageio.v3 as iio
import numpy as np
import pytest
from fake_data import RunsCode, write_cifar10, write_mnist_idx
from real_data import EMOJI_DIR, requires_emoji

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run(script, *args, env_home=None):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run(
        [sys.executable, os.path.join(ROOT, "experiments", script), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


@pytest.fixture(scope="module")
def mnist_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("mnist_cli")
    write_mnist_idx(str(directory), train=64)
    return str(directory)


def test_train_resume_sample_and_gif(mnist_dir, tmp_path):
    out = str(tmp_path / "run")
    common = [
        f"--data_dir={mnist_dir}",
        "--dataset=mnist",
        "--model=dcgan",
        "--nodownload",
        f"--output_dir={out}",
        "--batch_size=16",
        "--steps_per_epoch=2",
        "--log_every=1",
        "--verbose=0",
    ]
    result = run("train.py", *common, "--epochs=2")
    assert result.returncode == 0, result.stderr
    for name in (
        "config.json",
        "metrics.csv",
        "losses.csv",
        "losses.png",
        "progress.gif",
        "checkpoints/checkpoint",
        "samples/epoch_0001.png",
        "samples/epoch_0002.png",
    ):
        assert os.path.exists(os.path.join(out, name)), name
    assert any(
        name.startswith("events.out.tfevents") for name in os.listdir(os.path.join(out, "logs"))
    )
    grid = iio.imread(os.path.join(out, "samples", "epoch_0002.png"))
    assert grid.shape == (8 * 30 + 2, 8 * 30 + 2)  # 8x8 tiles of 28 px with 2 px padding, gray
    gif = iio.imread(os.path.join(out, "progress.gif"), index=None)
    assert gif.shape[0] == 2 and gif.shape[1:3] == grid.shape

    result = run("train.py", *common, "--epochs=3", "--learning_rate=1e-3", "--verbose=1")
    assert result.returncode == 0, result.stderr
    changed = [line for line in result.stdout.splitlines() if line.startswith("Changed on resume")]
    assert changed == [
        "Changed on resume: epochs 2 -> 3, learning_rate 0.0012 -> 0.001 from epoch 3"
    ]
    with open(os.path.join(out, "metrics.csv"), encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [(int(r["epoch"]), int(r["step"])) for r in rows] == [(1, 2), (2, 4), (3, 6)]
    assert iio.imread(os.path.join(out, "progress.gif"), index=None).shape[0] == 3

    # (a rerun of a finished run: tests/test_training.py, in-process)
    result = run("train.py", *common, "--epochs=4", "--latent_dim=16")
    assert result.returncode == 2 and "--latent_dim=100 (now 16)" in result.stderr

    samples = str(tmp_path / "samples.npz")
    result = run(
        "sample.py",
        f"--run_dir={out}",
        "--num_samples=50",
        f"--out={samples}",
        f"--grid={tmp_path / 'grid.png'}",
        "--batch_size=20",
    )
    assert result.returncode == 0, result.stderr
    images = np.load(samples)["images"]
    assert images.shape == (50, 28, 28, 1) and images.dtype == np.uint8
    assert images.std() > 0
    assert iio.imread(tmp_path / "grid.png").shape == (7 * 30 + 2, 7 * 30 + 2)  # 49 of 50

    # an earlier checkpoint, written into the run directory by default
    result = run("sample.py", f"--run_dir={out}", "--num_samples=50", "--checkpoint=1")
    assert result.returncode == 0, result.stderr
    assert "of epoch 1 to" in result.stdout
    early = np.load(os.path.join(out, "samples_epoch_1.npz"))["images"]
    assert early.shape == images.shape and np.abs(early.astype(int) - images).mean() > 1
    result = run("sample.py", f"--run_dir={out}", "--checkpoint=9")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "no checkpoint of epoch 9 (kept: 1, 2, 3)" in result.stderr.strip().splitlines()[-1]

    os.remove(os.path.join(out, "progress.gif"))
    result = run("make_gif.py", f"--run_dir={out}")
    assert result.returncode == 0, result.stderr
    assert iio.imread(os.path.join(out, "progress.gif"), index=None).shape[0] == 3


BAD_FLAGS = [  # the default run's share; MORE_BAD_FLAGS run with `make test-slow` (each
    # command is a fresh TensorFlow process, ~6 CPU-seconds; the config errors among them are
    # also checked in-process: tests/test_config.py, test_data.py, test_distribute.py)
    (["--dataset=emoji", "--data_dir={empty}"], 1, "dataset 'emoji' not found"),
    (["--dataset=emoji", "--data_dir={empty}/typo"], 1, "--data_dir=/"),
    (
        ["--dataset=mnist", "--data_dir={mnist}", "--image_size=50"],
        2,
        "DCGAN cannot build an image of side 50",
    ),
    (["--dataset=folder:{empty}"], 1, "no PNG/JPEG images"),
    (  # refused before anything is decoded or built: ~376 GiB of activations
        ["--dataset=folder:{empty}", "--image_size=1024", "--batch_size=512"],
        2,
        "GiB free; pass a smaller --image_size or --batch_size, or --nocheck_memory if you",
    ),
    (  # a data_batch_1 whose pickle asks to run a command (see below)
        ["--dataset=cifar10", "--data_dir={hostile}"],
        1,
        "data_batch_1 is corrupt (it asks to run {system}, which a CIFAR-10 batch never does:",
    ),
]
MORE_BAD_FLAGS = [
    (["--model=resnet"], 2, "unknown --model 'resnet'; choose one of: cgan, dcgan, gan"),
    (["--arch=width=3"], 2, "--arch: dcgan has no knob width; its knobs are: base_width=64"),
    (["--loss=hinge", "--label_smoothing=0.1"], 2, "--label_smoothing applies to cross-entropy"),
    (["--dataset=mnist", "--data_dir={mnist}", "--batch_size=1000"], 2, "larger than the 64"),
    (["--strategy=multi_worker", "--dataset=ring8"], 2, "needs the TF_CONFIG environment"),
    (["--background=pink"], 2, "--background 'pink' is not a colour"),
    (
        ["--dataset=cifar10", "--data_dir={empty}"],
        1,
        "put the raw files in --data_dir and pass --nodownload",
    ),
    (["--dataset=imagenet"], 2, "unknown --dataset 'imagenet'"),
    (["--arch=base_width"], 2, "--arch takes key=value"),
    (["--epochs=0"], 2, "--epochs must be a positive integer"),
    (["--batch_size=-1"], 2, "--batch_size must be a positive integer"),
    (["--dataset=mnist", "--data_dir={empty}", "--nodownload"], 1, "dataset 'mnist' not found"),
    (["--strategy=tpu", "--dataset=ring8"], 2, "--strategy=tpu found no TPU"),
    (["--dataset=folder:{empty}", "--image_size=8192"], 2, "--image_size must be 8 to 1024 px"),
]


@pytest.mark.parametrize(
    "bad_flags", [BAD_FLAGS, pytest.param(MORE_BAD_FLAGS, marks=pytest.mark.slow)]
)
def test_bad_flags_fail_cleanly(bad_flags, tmp_path, mnist_dir):
    """Every bad command: one error line, its exit code, no traceback, nothing created
    (and the hostile CIFAR-10 batch runs nothing). The commands run concurrently (each
    is a fresh TensorFlow process)."""
    import pickle

    empty = tmp_path / "empty"
    empty.mkdir()
    hostile, marker = tmp_path / "cifar", tmp_path / "MARKER"
    write_cifar10(str(hostile))
    batch = hostile / "cifar-10-batches-py" / "data_batch_1"
    batch.write_bytes(pickle.dumps(RunsCode(os.system, f"touch '{marker}'")))
    places = dict(
        empty=empty, mnist=mnist_dir, hostile=hostile, system=f"{os.system.__module__}.system"
    )
    env = {key: value for key, value in os.environ.items() if key != "TF_CONFIG"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    processes = []
    for index, (args, _, _) in enumerate(bad_flags):
        args = [a.format(**places) for a in args]
        command = [sys.executable, os.path.join(ROOT, "experiments", "train.py"), *args]
        command += [f"--output_dir={tmp_path / f'out{index}'}", "--nodownload"]
        processes.append(
            subprocess.Popen(
                command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
        )
    for index, (process, (_, code, fragment)) in enumerate(zip(processes, bad_flags, strict=True)):
        _, stderr = process.communicate(timeout=300)
        assert process.returncode == code, stderr
        lines = [line for line in stderr.splitlines() if line.strip()]
        assert lines[-1].startswith("error: ") and fragment.format(**places) in lines[-1], stderr
        assert "Traceback" not in stderr
        assert not (tmp_path / f"out{index}").exists(), "a bad command must create nothing"
    assert not marker.exists()  # the hostile pickle's command never ran (in BAD_FLAGS)


def test_sample_without_a_run_fails_cleanly(tmp_path):
    result = run("sample.py", f"--run_dir={tmp_path}", f"--out={tmp_path / 's.npz'}")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith("error: ")
    assert "Traceback" not in result.stderr and not (tmp_path / "s.npz").exists()


# each repeats test_variants' coverage through a subprocess (~15 s); dcgan's command line
# runs by default (test_train_resume_sample_and_gif)
@pytest.mark.slow
@pytest.mark.parametrize("model", ["gan", "cgan", "wgan", "wgan_gp"])
def test_every_model_trains_from_the_command_line(model, mnist_dir, tmp_path):
    out = tmp_path / model
    args = [
        f"--model={model}",
        "--dataset=mnist",
        f"--data_dir={mnist_dir}",
        "--nodownload",
        f"--output_dir={out}",
        "--batch_size=8",
        "--epochs=1",
        "--steps_per_epoch=1",
        "--verbose=0",
    ]
    result = run("train.py", *args)
    assert result.returncode == 0, result.stderr
    with open(out / "metrics.csv", encoding="utf-8") as handle:
        row = next(csv.DictReader(handle))
    assert int(row["step"]) == 1
    assert ("gradient_penalty" in row) == (model == "wgan_gp")
    assert iio.imread(out / "samples" / "epoch_0001.png").ndim == 2


@pytest.mark.parametrize(
    "flags, expected",
    [
        pytest.param(  # one process for several flags; ~22 s, so `make test-slow`
            [
                "--loss=relativistic",
                "--r1_weight=10",
                "--pack=2",
                "--latent_distribution=uniform",
                "--arch=base_width=16,max_width=32,upsample=nearest",
            ],
            {
                "loss": "relativistic",
                "r1_weight": 10.0,
                "pack": 2,
                "latent_distribution": "uniform",
                "arch": {"base_width": 16, "max_width": 32, "upsample": "nearest"},
            },
            marks=pytest.mark.slow,
        ),
        pytest.param(  # issue 28's other options at once; in-process coverage in
            # tests/test_unroll.py, test_parts.py, test_losses.py, models/test_dcgan.py
            [
                "--unroll=2",
                "--label_smoothing=0.1",
                "--fake_label_smoothing=0.1",
                "--replay=0.5",
                "--optimizer=sgd",
                "--momentum=0.5",
                "--arch=hidden_noise=0.1,norm=instance,generator_norm=instance",
            ],
            {
                "unroll": 2,
                "fake_label_smoothing": 0.1,
                "replay": 0.5,
                "optimizer": "sgd",
                "arch": {"hidden_noise": 0.1, "norm": "instance", "generator_norm": "instance"},
            },
            marks=pytest.mark.slow,
        ),
        pytest.param(  # every Improved Techniques flag at once (issue 16); in-process
            # coverage in tests/test_gan.py, so through a subprocess with `make test-slow`
            [
                "--loss=feature_matching",
                "--historical_averaging=0.001",
                "--arch=minibatch_discrimination=100,minibatch_stddev=4,generator_norm=virtual,"
                "attention=14",
            ],
            {
                "loss": "feature_matching",
                "historical_averaging": 0.001,
                "arch": {
                    "minibatch_discrimination": 100,
                    "minibatch_stddev": 4,
                    "generator_norm": "virtual",
                    "attention": 14,
                },
            },
            marks=pytest.mark.slow,
        ),
    ],
    ids=["relativistic_r1_pack_arch", "unroll_and_knobs", "improved_techniques"],
)
def test_new_options_train_from_the_command_line(flags, expected, mnist_dir, tmp_path):
    import json

    out = tmp_path / "run"
    args = ["--dataset=mnist", f"--data_dir={mnist_dir}", "--nodownload", f"--output_dir={out}"]
    args += ["--batch_size=8", "--epochs=1", "--steps_per_epoch=2", "--verbose=0", *flags]
    result = run("train.py", *args)
    assert result.returncode == 0, result.stderr
    config = json.loads((out / "config.json").read_text())
    for key, value in expected.items():
        if isinstance(value, dict):
            assert {k: config[key][k] for k in value} == value
        else:
            assert config[key] == value
    with open(out / "metrics.csv", encoding="utf-8") as handle:
        row = next(csv.DictReader(handle))
    assert ("r1_penalty" in row) == ("r1_weight" in expected)
    assert all(np.isfinite(float(row[k])) for k in ("discriminator_loss", "generator_loss"))


@pytest.mark.slow  # ~40 s; the CIFAR-10 reader's formats: tests/test_data.py (suite budget)
@requires_emoji
def test_cifar10_format_run_on_real_colour_pixels(tmp_path):
    """Real emoji, resized to 32x32, written in CIFAR-10's pickle format: the cifar10
    path trains on real colour pixels end to end."""
    from gan_tf import data

    emoji = data.load_dataset("emoji", data_dir=EMOJI_DIR, image_size=32, max_examples=120)
    write_cifar10(str(tmp_path / "cifar"), per_batch=20, pixels=data.as_arrays(emoji)[0])
    out = tmp_path / "run"
    args = ["--model=dcgan", "--dataset=cifar10", f"--data_dir={tmp_path / 'cifar'}"]
    args += ["--nodownload", f"--output_dir={out}", "--batch_size=16", "--epochs=1"]
    result = run("train.py", *args, "--verbose=1")
    assert result.returncode == 0, result.stderr
    assert "(100 examples 32x32x3 from" in result.stdout
    grid = iio.imread(out / "samples" / "epoch_0001.png")
    assert grid.shape == (8 * 34 + 2, 8 * 34 + 2, 3)  # colour tiles of 32 px, 2 px padding
    with open(out / "metrics.csv", encoding="utf-8") as handle:
        row = next(csv.DictReader(handle))
    assert int(row["step"]) == 6 and np.isfinite(float(row["generator_loss"]))
