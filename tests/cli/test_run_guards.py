"""Runs that two processes, damaged run records or absurd sizes cannot break, end to end:
a second ``train`` on a running run is refused in one line while readers keep working,
a damaged ``config.json``/``run.json`` is one line in every command with nothing changed,
and old flag spellings (``--output_dir``, ``--num``, ``--epoch``) still work. (Sizes the
machine cannot hold and the hostile CIFAR-10 batch are in test_train_cli.py's concurrent
bad-flags batch.)"""

import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest
from fake_data import write_mnist_idx
from run_files import snapshot

import gan_tf

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FLAGS = dict(
    model="gan",
    dataset="mnist",
    download=False,
    batch_size=16,
    latent_dim=8,
    epochs=3,
    log_every=1,
    grid_size=2,
    precision="float32",
    seed=5,
)
# Trains like `experiments/train.py` with FLAGS, but pauses after epoch 1 until a file
# appears, so the test can act while the run is certainly in progress.
PAUSING_TRAINER = """
import os, sys, time
import gan_tf
run_dir, data_dir, paused, go = sys.argv[1:5]
flags = {flags!r}

class Pause:
    def on_epoch_end(self, run, epoch, logs):
        if epoch == 1:
            open(paused, "w").close()
            deadline = time.time() + 300
            while not os.path.exists(go) and time.time() < deadline:
                time.sleep(0.05)

config = gan_tf.make_config(data_dir=data_dir, **flags)
gan_tf.train(config, run_dir, verbose=0, callbacks=[Pause()])
"""


def command(name, *args):
    """Starts ``gan-tf <name>`` (as ``experiments/<name>.py``)."""
    return subprocess.Popen(
        [sys.executable, os.path.join(ROOT, "experiments", f"{name}.py"), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
    )


def finish(process, timeout=300):
    stdout, stderr = process.communicate(timeout=timeout)
    return process.returncode, stdout, stderr


def train_flags(data_dir, run_dir, **overrides):
    values = {**FLAGS, **overrides}
    flags = [
        f"--{k}={v}" if not isinstance(v, bool) else f"--{'' if v else 'no'}{k}"
        for k, v in values.items()
    ]
    return [*flags, f"--data_dir={data_dir}", f"--output_dir={run_dir}", "--verbose=0"]


def one_error_line(stderr):
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    return lines[0]


@pytest.fixture(scope="module")
def mnist_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("mnist")
    write_mnist_idx(str(directory), train=160, test=128)  # 10 steps an epoch at batch 16
    return str(directory)


@pytest.fixture(scope="module")
def finished_run(mnist_dir, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("finished") / "run"
    config = gan_tf.make_config(data_dir=mnist_dir, **{**FLAGS, "epochs": 1})
    gan_tf.train(config, str(run_dir), verbose=0)
    return run_dir


@pytest.mark.slow  # tests/test_runlock.py checks the lock between processes by default
def test_a_second_train_on_a_running_run_is_refused_while_readers_keep_working(mnist_dir, tmp_path):
    run_dir, paused, go = tmp_path / "run", tmp_path / "paused", tmp_path / "go"
    first = subprocess.Popen(
        [
            sys.executable,
            "-c",
            PAUSING_TRAINER.format(flags=FLAGS),
            str(run_dir),
            mnist_dir,
            str(paused),
            str(go),
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.time() + 240
        while not paused.exists() and first.poll() is None and time.time() < deadline:
            time.sleep(0.1)
        assert paused.exists(), first.stderr.read() if first.poll() is not None else "timeout"
        started = time.time()
        second = command("train", *train_flags(mnist_dir, run_dir))
        reader = command("sample", f"--run_dir={run_dir}", "--num_samples=8", "--checkpoint=latest")
        code, _, stderr = finish(second)
        refused_after = time.time() - started
        line = one_error_line(stderr)
        assert code == 1
        assert line.startswith(f"error: {run_dir} is being trained by process {first.pid} ")
        assert f"kill {first.pid}" in line and "--output_dir" in line
        code, stdout, stderr = finish(reader)  # reading a running run needs no lock
        assert code == 0, stderr
        assert "of epoch 1" in stdout and (run_dir / "samples.npz").exists()
    finally:
        go.touch()
        first.wait(timeout=300)
    assert first.returncode == 0
    with open(run_dir / "metrics.csv", encoding="utf-8") as handle:
        epochs = [line.split(",")[0] for line in handle.read().splitlines()[1:]]
    assert epochs == ["1", "2", "3"]  # exactly one row per epoch
    assert not (run_dir / ".lock").exists()  # a clean exit removes the lock file
    print(f"second train refused {refused_after:.1f} s after it started")
    assert refused_after < 60  # TensorFlow's start-up; the lock is taken before any data


@pytest.mark.slow  # ~16 s of subprocesses; in-process: tests/test_rundir.py (suite budget)
def test_a_damaged_config_is_one_line_in_every_command_and_changes_nothing(
    finished_run, mnist_dir, tmp_path
):
    run_dir, record = tmp_path / "run", "config.json"
    shutil.copytree(finished_run, run_dir)
    text = (run_dir / record).read_text()
    (run_dir / record).write_text(text[: len(text) // 2])  # a truncated copy
    before = snapshot(run_dir)
    commands = {
        "train": train_flags(mnist_dir, run_dir, epochs=2),
        "sample": [f"--run_dir={run_dir}", "--num_samples=4"],
        "evaluate": [f"--run_dir={run_dir}", "--num_samples=16", "--num_real=16"],
        "export": [f"--run_dir={run_dir}"],
    }
    started = {name: command(name, *args) for name, args in commands.items()}
    for name, process in started.items():
        code, _, stderr = finish(process)
        line = one_error_line(stderr)
        assert code == 1, (name, stderr)
        assert line.startswith(f"error: {run_dir / record} is damaged (not valid JSON: "), line
        assert "restore it from a copy" in line, line
        if name == "train":
            assert "--restart" in line
    assert snapshot(run_dir) == before  # nothing in the run changed


@pytest.mark.parametrize("content", ['{"shape": [28, 28', "[]", '{"num_classes": 10}', "\udcff"])
def test_a_damaged_run_json_stops_training_and_loading_and_changes_nothing(
    finished_run, mnist_dir, tmp_path, content
):
    run_dir = tmp_path / "run"
    shutil.copytree(finished_run, run_dir)
    (run_dir / "run.json").write_bytes(content.encode("utf-8", "surrogateescape"))
    before = snapshot(run_dir)
    config = gan_tf.make_config(data_dir=mnist_dir, **{**FLAGS, "epochs": 2})
    for attempt in (
        lambda: gan_tf.train(config, str(run_dir), verbose=0),
        lambda: gan_tf.load_run(str(run_dir)),
    ):
        with pytest.raises(gan_tf.RunCorruptError) as caught:
            attempt()
        message = str(caught.value)
        assert message.startswith(f"{run_dir / 'run.json'} is damaged (") and "\n" not in message
        assert "restore it from a copy, or train again with restart" in message
    assert snapshot(run_dir) == before


def test_restart_moves_a_run_with_a_damaged_config_aside(finished_run, mnist_dir, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(finished_run, run_dir)
    (run_dir / "config.json").write_text("{not json")
    config = gan_tf.make_config(data_dir=mnist_dir, **FLAGS)
    summary = gan_tf.train(config, str(run_dir), verbose=0, restart=True)
    assert summary["moved_to"] == str(tmp_path / "run.moved-1") and summary["epoch"] == 3
    assert (tmp_path / "run.moved-1" / "config.json").read_text() == "{not json"
    assert json.loads((run_dir / "config.json").read_text())["epochs"] == 3
    assert not (tmp_path / "run.moved-1" / ".lock").exists() and not (run_dir / ".lock").exists()


@pytest.mark.slow  # ~21 s of subprocesses: `make test-slow` (the suite budget)
def test_old_flag_spellings_and_tilde_paths_work_with_one_note_each(finished_run, tmp_path):
    code, stdout, stderr = finish(
        command("sample", f"--output_dir={finished_run}", "--num=3", "--epoch=1")
    )
    assert code == 0, stderr
    assert stderr.strip().splitlines() == [
        "note: --output_dir is now --run_dir (the old spelling still works)",
        "note: --num is now --num_samples (the old spelling still works)",
        "note: --epoch is now --checkpoint (the old spelling still works)",
    ]
    assert np.load(finished_run / "samples_epoch_1.npz")["images"].shape == (3, 28, 28, 1)
    assert "of epoch 1 to" in stdout
    # ~ in the run and the output path (a new folder), with gif's old frame-time spelling
    shutil.copytree(finished_run, tmp_path / "run")
    result = subprocess.run(
        [sys.executable, os.path.join(ROOT, "experiments", "make_gif.py")]
        + ["--run_dir=~/run", "--out=~/gifs/p.gif", "--seconds_per_frame=0.2"],
        capture_output=True,
        text=True,
        env=dict(os.environ, HOME=str(tmp_path), TF_CPP_MIN_LOG_LEVEL="3"),
        cwd=tmp_path,
        timeout=300,
    )
    assert result.returncode == 0 and result.stderr.strip() == (
        "note: --seconds_per_frame is now --frame_seconds (the old spelling still works)"
    ), result.stderr
    assert (tmp_path / "gifs" / "p.gif").stat().st_size > 0
    assert not (tmp_path / "~").exists()  # no literal "~" folder


def test_sample_accepts_the_newest_and_best_spellings(finished_run):
    run = gan_tf.load_run(str(finished_run), checkpoint="Latest")
    assert run.epoch == 1
    images = run.sample(2, seed=0)
    assert images.shape == (2, 28, 28, 1) and np.isfinite(images.astype(np.float32)).all()
    with pytest.raises(gan_tf.RunNotFoundError, match="has no best checkpoint"):
        gan_tf.load_run(str(finished_run), checkpoint="BEST")
