"""Runs that survive damage, divergence and preemption (issue 15): damaged checkpoints
fall back to an intact one, a run without one is refused (``restart`` moves it
aside), failed writes stop with one error and keep the last checkpoint, SIGTERM and
Ctrl-C save mid-epoch and the resume equals an uninterrupted run, the watchdog
stops, warns and rolls back, and the best checkpoint survives rotation. The kill -9
rounds are ``slow`` (``make test-slow``)."""

import csv
import json
import os
import random
import resource
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf
from fake_data import tiny_mnist_config, write_mnist_idx

import gan_tf
from gan_tf import losses, rundir
from gan_tf.errors import (
    CheckpointError,
    RunWriteError,
    TrainingDivergedError,
    TrainingInterrupted,
)
from gan_tf.watchdog import Watchdog

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
METRIC_KEYS = ("discriminator_loss", "generator_loss", "d_real", "d_fake")


@pytest.fixture(scope="module")
def mnist_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("mnist")
    write_mnist_idx(str(directory), train=160, test=128)  # 10 steps/epoch at batch 16
    return str(directory)


def config_for(mnist_dir, **overrides):
    return tiny_mnist_config(
        mnist_dir, **{"log_every": 1, "precision": "float32", "seed": 5, **overrides}
    )


def script_scores(monkeypatch, scores):
    """--eval_every's evaluations return these fd_classifier values in turn."""
    from gan_tf import training

    values = iter(scores)

    class Scripted:
        metrics = ("fd_classifier",)

    monkeypatch.setattr(training, "_make_evaluator", lambda config, dataset: Scripted())
    monkeypatch.setattr(
        training, "evaluate_generator", lambda *args: {"fd_classifier": next(values)}
    )


def train(config, run_dir, verbose=0, **kwargs):
    return gan_tf.train(config, str(run_dir), verbose=verbose, **kwargs)


def read_csv(path):
    with open(path, encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def weights(run_dir, checkpoint=None):
    """Every variable of a checkpoint (networks, optimizers, step, RNG) by name."""
    path = rundir.find_checkpoint(str(run_dir), checkpoint)
    reader = tf.train.load_checkpoint(path)
    names = [
        name
        for name in reader.get_variable_to_shape_map()
        if not name.startswith(("save_counter", "progress", "_CHECKPOINTABLE"))
    ]
    return {name: reader.get_tensor(name) for name in names}


def assert_same_run(run_dir, reference):
    """The same checkpointed state, the same epoch rows and the same loss rows (each step
    once) as the uninterrupted ``reference``."""
    ours, theirs = weights(run_dir), weights(reference)
    assert ours.keys() == theirs.keys()
    for name in ours:
        np.testing.assert_allclose(ours[name], theirs[name], rtol=1e-5, atol=1e-6, err_msg=name)
    for name, key in (("metrics.csv", "epoch"), ("losses.csv", "step")):
        rows, expected = read_csv(run_dir / name), read_csv(reference / name)
        assert [int(r[key]) for r in rows] == [int(r[key]) for r in expected], name
        for row, other in zip(rows, expected, strict=True):
            for metric in METRIC_KEYS:
                assert float(row[metric]) == pytest.approx(float(other[metric]), rel=1e-5)


@pytest.fixture(scope="module")
def straight(mnist_dir, tmp_path_factory):
    """Two epochs without interruption: the reference."""
    run_dir = tmp_path_factory.mktemp("straight") / "run"
    summary = train(config_for(mnist_dir, checkpoint_every_steps=3), run_dir)
    assert (summary["step"], summary["steps_per_epoch"]) == (20, 10)
    return run_dir


@pytest.fixture(scope="module")
def three_epochs(mnist_dir, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("three") / "run"
    train(config_for(mnist_dir, epochs=3), run_dir)
    return run_dir


def copy_run(source, target):
    import shutil

    shutil.copytree(source, target)
    return target


# ---------------------------------------------------------------------- preemption


def test_sigterm_mid_epoch_saves_and_the_resume_equals_an_uninterrupted_run(
    mnist_dir, tmp_path, straight, monkeypatch
):
    check_step = Watchdog.check_step

    def signalled(self, values, step, epoch):  # SIGTERM arrives while step 13 is logged
        if step == 13:
            os.kill(os.getpid(), signal.SIGTERM)
        return check_step(self, values, step, epoch)

    monkeypatch.setattr(Watchdog, "check_step", signalled)
    run_dir = tmp_path / "run"
    config = config_for(mnist_dir, checkpoint_every_steps=3)
    with pytest.raises(TrainingInterrupted) as caught:
        train(config, run_dir)
    assert str(caught.value).startswith("SIGTERM at step 13 (epoch 2, batch 3): saved a checkpoint")
    assert "rerun the same command" in str(caught.value)
    assert rundir.find_checkpoint(str(run_dir)).endswith(os.path.join("steps", "ckpt-13"))
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # the handler is gone again
    monkeypatch.undo()

    summary = train(config, run_dir, verbose=1)
    assert (summary["start_epoch"], summary["step"]) == (1, 20)
    assert_same_run(run_dir, straight)


def test_a_crash_after_a_step_checkpoint_loses_only_the_steps_after_it(
    mnist_dir, tmp_path, straight, monkeypatch, capsys
):
    """As kill -9 right after the step-6 checkpoint: the rerun continues mid-epoch, in
    the same data order, with the same random numbers."""

    class Crash(Exception):
        pass

    save_step = rundir.Checkpoints.save_step

    def crash_after_step_6(self, epoch, step):
        path = save_step(self, epoch, step)
        if step == 6:
            raise Crash
        return path

    monkeypatch.setattr(rundir.Checkpoints, "save_step", crash_after_step_6)
    run_dir = tmp_path / "run"
    config = config_for(mnist_dir, checkpoint_every_steps=3)
    with pytest.raises(Crash):
        train(config, run_dir)
    monkeypatch.undo()
    capsys.readouterr()
    train(config, run_dir, verbose=1)
    assert "Resuming" in capsys.readouterr().out
    assert_same_run(run_dir, straight)


@pytest.mark.slow  # ~29 s each of subprocesses; in-process: test_sigterm_mid_epoch_saves_...
@pytest.mark.parametrize("signame", ["SIGTERM", "SIGINT"])
def test_signals_stop_the_command_with_one_line_and_the_rerun_finishes(
    signame, mnist_dir, tmp_path
):
    run_dir = str(tmp_path / "run")
    command = [
        sys.executable,
        os.path.join(ROOT, "experiments", "train.py"),
        "--model=dcgan",
        "--dataset=mnist",
        f"--data_dir={mnist_dir}",
        "--nodownload",
        "--batch_size=16",
        "--epochs=200",
        "--log_every=1",
        "--precision=float32",
        f"--output_dir={run_dir}",
        "--verbose=1",
    ]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    losses_csv = os.path.join(run_dir, "losses.csv")
    deadline = time.time() + 120
    while not (os.path.exists(losses_csv) and len(read_csv(losses_csv)) >= 3):
        assert process.poll() is None and time.time() < deadline, process.communicate()
        time.sleep(0.2)
    process.send_signal(getattr(signal, signame))
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 1
    assert len(stderr.strip().splitlines()) == 1, stderr
    assert stderr.startswith(f"error: {signame} at step "), stderr
    step = int(stderr.split(" at step ")[1].split()[0])
    assert rundir.checkpoint_epoch(run_dir) is not None
    saved = weights(tmp_path / "run")
    assert int(saved["step/.ATTRIBUTES/VARIABLE_VALUE"]) == step
    rerun = subprocess.run(
        [*command[:-1], "--verbose=0", "--epochs=1"], capture_output=True, text=True, env=env
    )
    assert rerun.returncode == 0, rerun.stderr
    rows = read_csv(os.path.join(run_dir, "metrics.csv"))
    assert [int(r["epoch"]) for r in rows][-1] >= 1
    steps = [int(r["step"]) for r in read_csv(losses_csv)]
    assert steps == list(range(1, len(steps) + 1))  # every step once


# ------------------------------------------------------------ damaged run directories


def _truncate(path):
    with open(path, "rb") as handle:
        data = handle.read()
    with open(path, "wb") as handle:
        handle.write(data[: len(data) // 2])


def _flip(path):
    with open(path, "r+b") as handle:
        handle.seek(os.path.getsize(path) // 2)
        byte = handle.read(1)
        handle.seek(-1, 1)
        handle.write(bytes([byte[0] ^ 0xFF]))


DAMAGE = {
    "truncated_data": lambda prefix: _truncate(prefix + ".data-00000-of-00001"),
    "missing_index": lambda prefix: os.remove(prefix + ".index"),
    "flipped_byte": lambda prefix: _flip(prefix + ".data-00000-of-00001"),
    "missing_data": lambda prefix: os.remove(prefix + ".data-00000-of-00001"),
}


@pytest.mark.parametrize(
    "damage",
    [  # a damaged index and damaged data run by default, the other two with `make test-slow`
        pytest.param(
            name, marks=[pytest.mark.slow] if name in ("truncated_data", "missing_data") else []
        )
        for name in sorted(DAMAGE)
    ],
)
def test_a_damaged_latest_checkpoint_falls_back_to_an_intact_one(
    damage, mnist_dir, tmp_path, three_epochs, capsys
):
    run_dir = copy_run(three_epochs, tmp_path / "run")
    DAMAGE[damage](str(run_dir / "checkpoints" / "ckpt-3"))
    capsys.readouterr()
    summary = train(config_for(mnist_dir, epochs=3), run_dir)  # warns even when quiet
    err = capsys.readouterr().err
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "skipped damaged checkpoint(s) ckpt-3" in warnings[0]
    assert "resuming from ckpt-2" in warnings[0]
    assert summary["start_epoch"] == 2 and summary["step"] == 30
    kept = os.listdir(run_dir / "checkpoints" / "damaged")
    assert kept and all(name.startswith("ckpt-3.") for name in kept)  # moved, not deleted
    assert_same_run(run_dir, three_epochs)
    train(config_for(mnist_dir, epochs=4), run_dir)  # rotation goes on: ckpt-1 leaves
    state = (run_dir / "checkpoints" / "checkpoint").read_text()
    assert os.sep not in state  # relative names: the run directory may move
    indexes = sorted(p for p in os.listdir(run_dir / "checkpoints") if p.endswith(".index"))
    assert indexes == ["ckpt-2.index", "ckpt-3.index", "ckpt-4.index"]


def test_a_run_without_an_intact_checkpoint_is_refused_and_restart_moves_it_aside(
    mnist_dir, tmp_path, three_epochs
):
    run_dir = copy_run(three_epochs, tmp_path / "run")
    for epoch in (1, 2, 3):
        prefix = run_dir / "checkpoints" / f"ckpt-{epoch}"
        _truncate(str(prefix) + ".data-00000-of-00001")
    before = {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()}
    config = config_for(mnist_dir, epochs=3)
    with pytest.raises(CheckpointError) as caught:
        train(config, run_dir)
    message = str(caught.value)
    assert message.startswith(f"{run_dir} holds no intact checkpoint (damaged: ckpt-1, ckpt-2")
    assert "new output_dir" in message and "restart" in message
    assert caught.value.params == ("output_dir", "restart")
    assert {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()} == before

    summary = train(config, run_dir, restart=True)
    moved = summary["moved_to"]
    assert moved == f"{run_dir}.moved-1" and summary["start_epoch"] == 0
    for path, content in before.items():  # every old file, unchanged, in the new place
        assert (type(run_dir)(moved) / path.relative_to(run_dir)).read_bytes() == content
    assert summary["step"] == 30


def test_a_run_whose_checkpoints_vanished_is_refused(mnist_dir, tmp_path, three_epochs):
    import shutil

    run_dir = copy_run(three_epochs, tmp_path / "run")
    shutil.rmtree(run_dir / "checkpoints")
    with pytest.raises(CheckpointError, match="files of a run that saved checkpoints"):
        train(config_for(mnist_dir, epochs=3), run_dir)
    assert len(read_csv(run_dir / "metrics.csv")) == 3  # nothing overwritten


def test_a_run_killed_before_its_first_checkpoint_starts_over(mnist_dir, tmp_path):
    """Nothing was checkpointed, so nothing is lost: the rerun starts from step 0."""
    run_dir = tmp_path / "run"
    train(config_for(mnist_dir, epochs=1), run_dir)
    import shutil

    shutil.rmtree(run_dir / "checkpoints")
    info = json.loads((run_dir / "run.json").read_text())
    del info["last_checkpoint"]
    (run_dir / "run.json").write_text(json.dumps(info))
    summary = train(config_for(mnist_dir, epochs=1), run_dir)
    assert (summary["start_epoch"], summary["step"]) == (0, 10)


# ---------------------------------------------------------------------- write failures


class _FileSizeLimit:
    """A callback that makes every later write beyond ``limit`` bytes fail (EFBIG),
    as a full disk would, from the end of epoch ``epoch`` on."""

    def __init__(self, epoch, limit):
        self.epoch, self.limit = epoch, limit
        self.saved = resource.getrlimit(resource.RLIMIT_FSIZE)

    def on_epoch_end(self, run, epoch, logs):
        if epoch == self.epoch:
            resource.setrlimit(resource.RLIMIT_FSIZE, (self.limit, self.saved[1]))

    def lift(self):
        resource.setrlimit(resource.RLIMIT_FSIZE, self.saved)


def test_a_failed_checkpoint_write_stops_with_one_error_and_keeps_the_last(mnist_dir, tmp_path):
    run_dir = tmp_path / "run"
    config = config_for(mnist_dir, epochs=3)
    limit = _FileSizeLimit(epoch=1, limit=100_000)  # pictures and CSVs fit, checkpoints do not
    try:
        with pytest.raises(RunWriteError) as caught:
            train(config, run_dir, callbacks=[limit])
    finally:
        limit.lift()
    message = str(caught.value)
    assert message.startswith(f"could not write a checkpoint in {run_dir} (File too large); ")
    assert "free disk space or fix the permissions" in message and "\n" not in message
    assert rundir.checkpoint_epoch(str(run_dir)) == 1
    rundir.read_checkpoint(rundir.find_checkpoint(str(run_dir)))  # intact: reads back
    summary = train(config, run_dir)
    assert (summary["start_epoch"], summary["step"]) == (1, 30)
    assert [int(r["epoch"]) for r in read_csv(run_dir / "metrics.csv")] == [1, 2, 3]


class _FillDisk:
    """A callback that fills the file system of ``path`` up to ``leave`` free bytes at
    the end of epoch ``epoch`` (a real ENOSPC for every later write that needs more)."""

    def __init__(self, path, epoch, leave=2048):
        self.path, self.epoch, self.leave = path, epoch, leave

    def on_epoch_end(self, run, epoch, logs):
        if epoch == self.epoch:
            stats = os.statvfs(os.path.dirname(self.path))
            with open(self.path, "wb") as handle:
                handle.write(b"\0" * max(stats.f_bavail * stats.f_frsize - self.leave, 0))

    def free(self):
        os.remove(self.path)


class _NoSpaceForCheckpoints:
    """Where no tmpfs can be mounted: a callback after which every checkpoint save fails
    as TensorFlow's does on a full disk (``ResourceExhaustedError ...; No space left on
    device``), leaving a partial temporary file behind."""

    def __init__(self, monkeypatch, epoch):
        self.monkeypatch, self.epoch = monkeypatch, epoch

    def on_epoch_end(self, run, epoch, logs):
        if epoch != self.epoch:
            return

        def save(manager, checkpoint_number=None, **kwargs):
            temp = f"{manager.directory}/ckpt-{checkpoint_number}_temp"
            os.makedirs(temp, exist_ok=True)
            with open(f"{temp}/part-00000-of-00001.data-00000-of-00001", "wb") as handle:
                handle.write(b"\0" * 1000)  # what a write cut short leaves
            raise tf.errors.ResourceExhaustedError(
                None, None, f"{temp}/part-00000-of-00001.data; No space left on device"
            )

        self.monkeypatch.setattr(tf.train.CheckpointManager, "save", save)

    def free(self):
        self.monkeypatch.undo()


@pytest.fixture
def full_disk(tmp_path, monkeypatch):
    """``(run_dir, callback)``: a run directory on a 256 MiB tmpfs and a callback that
    fills it after epoch 1 (root only); where mounting is not allowed, a run directory
    whose checkpoint saves fail with TensorFlow's ENOSPC error after epoch 1."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256m", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        yield mount / "run", _NoSpaceForCheckpoints(monkeypatch, epoch=1)
        return
    yield mount / "run", _FillDisk(str(mount / "filler"), epoch=1)
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_disk_that_fills_up_after_epoch_1_stops_with_one_line_and_the_rerun_finishes(
    mnist_dir, full_disk
):
    run_dir, filler = full_disk
    config = config_for(mnist_dir, epochs=2)
    with pytest.raises(RunWriteError) as caught:
        train(config, run_dir, callbacks=[filler])
    message = str(caught.value)  # the TensorBoard logs on a real tmpfs, the checkpoint if faked
    assert message.startswith("could not write ") and f" in {run_dir} (No space left" in message
    assert "free disk space" in message and "\n" not in message
    assert rundir.checkpoint_epoch(str(run_dir)) == 1
    rundir.read_checkpoint(rundir.find_checkpoint(str(run_dir)))  # intact: reads back
    filler.free()
    summary = train(config, run_dir)
    assert (summary["start_epoch"], summary["step"]) == (1, 20)
    assert [int(r["epoch"]) for r in read_csv(run_dir / "metrics.csv")] == [1, 2]
    assert [int(r["step"]) for r in read_csv(run_dir / "losses.csv")] == list(range(1, 21))


def test_write_failures_name_the_reason_and_typed_errors_pass_through():
    import errno

    with pytest.raises(RunWriteError) as caught:
        with rundir.writing("losses.csv", "RUN"):
            raise OSError(errno.ENOSPC, "No space left on device", "RUN/losses.csv")
    assert str(caught.value).startswith("could not write losses.csv in RUN (No space left on")
    with pytest.raises(RunWriteError, match=r"in RUN \(File too large\); free disk space"):
        with rundir.writing("a checkpoint", "RUN", tensorflow=True):
            raise tf.errors.UnknownError(
                None, None, "{{function_node SaveV2}} RUN/ckpt-2_temp; File too large [Op:SaveV2]"
            )
    with pytest.raises(gan_tf.errors.DataNotFoundError):  # not a write failure
        with rundir.writing("epoch 1's picture", "RUN"):
            raise gan_tf.errors.DataNotFoundError("no data")
    with pytest.raises(tf.errors.InvalidArgumentError):  # a model's error keeps its traceback
        with rundir.writing("epoch 1's picture", "RUN"):
            raise tf.errors.InvalidArgumentError(None, None, "bad shape")


def test_a_csv_cut_short_by_a_failed_write_is_repaired_on_resume(tmp_path):
    path = str(tmp_path / "losses.csv")
    for step in (1, 2, 3):
        rundir.append_csv(path, {"epoch": 1, "step": step, "loss": 0.5})
    for cut in ("1,4,0.2", "1,4"):  # no final newline; a missing cell
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(cut)
        rundir.truncate_csv(path, 10, column="step")
        assert [r["step"] for r in read_csv(path)] == ["1", "2", "3"]
    rundir.truncate_csv(path, 2, column="step")
    assert [r["step"] for r in read_csv(path)] == ["1", "2"]


# ---------------------------------------------------------------------------- watchdog


def test_exploding_losses_stop_the_run_and_are_recorded(mnist_dir, tmp_path):
    run_dir = tmp_path / "run"
    train(config_for(mnist_dir, epochs=1), run_dir)
    metrics = (run_dir / "metrics.csv").read_bytes()
    with pytest.raises(TrainingDivergedError) as caught:
        train(config_for(mnist_dir, epochs=2, learning_rate=1e8), run_dir)
    assert "(epoch 2); stopped: lower learning_rate, or rerun with on_divergence=rollback" in str(
        caught.value
    )
    events = json.loads((run_dir / "run.json").read_text())["events"]
    assert len(events) == 1 and events[0]["kind"] in ("exploding_loss", "nonfinite")
    assert events[0]["action"] == "stop" and 11 <= events[0]["step"] <= 20
    texts = [
        tf.make_ndarray(value.tensor).item().decode()
        for path in tf.io.gfile.glob(str(run_dir / "logs" / "events.*"))
        for event in tf.compat.v1.train.summary_iterator(path)
        for value in event.summary.value
        if value.tag == "watchdog"
    ]
    assert len(texts) == 1 and texts[0].startswith(events[0]["kind"] + ": ")
    assert (run_dir / "metrics.csv").read_bytes() == metrics
    assert rundir.checkpoint_epoch(str(run_dir)) == 1


@pytest.mark.slow  # ~15 s; the rollback itself: test_rollback_restores_the_last_good_checkpoint_...
def test_warn_goes_on_and_rollback_gives_up_after_three(mnist_dir, tmp_path):
    run_dir = tmp_path / "run"
    train(config_for(mnist_dir, epochs=1), run_dir)
    reference = copy_run(run_dir, tmp_path / "copy")
    warned = train(
        config_for(mnist_dir, epochs=2, divergence_loss=1e-3, on_divergence="warn"), run_dir
    )
    assert warned["epoch"] == 2  # trained on
    assert [e["kind"] for e in warned["events"]] == ["exploding_loss"]  # reported once

    with pytest.raises(TrainingDivergedError, match=r"stopped \(after 3 rollbacks\)"):
        train(
            config_for(mnist_dir, epochs=2, learning_rate=1e8, on_divergence="rollback"),
            reference,
        )
    events = json.loads((reference / "run.json").read_text())["events"]
    assert [e["action"] for e in events] == ["rollback"] * 3 + ["stop"]
    assert {e["checkpoint"] for e in events[:3]} == {os.path.join("checkpoints", "ckpt-1")}


def test_rollback_restores_the_last_good_checkpoint_and_halves_the_learning_rates(
    mnist_dir, tmp_path, monkeypatch
):
    """A loss that explodes once, at the 15th step: the run goes back to the step-12
    checkpoint, continues with half the learning rates and finishes."""
    calls = tf.Variable(0, dtype=tf.int64)
    pair = losses.LOSSES["non_saturating"]

    def spiking_loss(*, real_logits=None, fake_logits):
        calls.assign_add(1)
        spike = tf.cast(tf.equal(calls, 15), tf.float32) * 1e9
        return pair.generator_loss(real_logits=real_logits, fake_logits=fake_logits) + spike

    monkeypatch.setitem(losses.LOSSES, "non_saturating", pair._replace(generator_loss=spiking_loss))
    run_dir = tmp_path / "run"
    config = config_for(mnist_dir, on_divergence="rollback", checkpoint_every_steps=4)
    summary = train(config, run_dir)
    assert summary["epoch"] == 2 and summary["step"] == 20
    [event] = summary["events"]
    assert (event["kind"], event["step"], event["action"]) == ("exploding_loss", 15, "rollback")
    assert event["checkpoint"] == os.path.join("checkpoints", "steps", "ckpt-12")
    saved = weights(run_dir)
    for name in ("generator", "discriminator"):
        rate = saved[f"{name}_optimizer/_learning_rate/.ATTRIBUTES/VARIABLE_VALUE"]
        assert float(rate) == pytest.approx(config.learning_rate / 2, rel=1e-6)
    steps = [int(r["step"]) for r in read_csv(run_dir / "losses.csv")]
    assert steps == list(range(1, 21))  # the rolled-back steps 13-15 were redone, once
    assert [int(r["epoch"]) for r in read_csv(run_dir / "metrics.csv")] == [1, 2]


def test_a_worsening_metric_rolls_back_to_the_best_checkpoint(mnist_dir, tmp_path, monkeypatch):
    """Scripted scores 5, 4, 6, 7 (worse twice in a row), then 3, 3, 3: the run goes back
    to the best checkpoint (epoch 2), halves the learning rates and finishes."""
    script_scores(monkeypatch, [5.0, 4.0, 6.0, 7.0, 3.0, 3.0, 3.0])
    run_dir = tmp_path / "run"
    config = config_for(mnist_dir, epochs=5, eval_every=1, worse_evals=2, on_divergence="rollback")
    summary = train(config, run_dir)
    [event] = summary["events"]
    assert (event["kind"], event["epoch"], event["since"]) == ("metric_worse", 4, 21)
    assert event["checkpoint"] == os.path.join("checkpoints", "ckpt-2")  # = best/ckpt-2
    rows = read_csv(run_dir / "metrics.csv")
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3, 4, 5]
    assert [float(r["fd_classifier"]) for r in rows] == [5.0, 4.0, 3.0, 3.0, 3.0]
    assert json.loads((run_dir / rundir.BEST_FILE).read_text())["epoch"] == 3
    rate = weights(run_dir)["generator_optimizer/_learning_rate/.ATTRIBUTES/VARIABLE_VALUE"]
    assert float(rate) == pytest.approx(config.learning_rate / 2, rel=1e-6)


# -------------------------------------------------------------------------- best model


def test_the_best_evaluation_keeps_its_checkpoint_through_rotation(mnist_dir, tmp_path):
    run_dir = tmp_path / "run"
    config = config_for(
        mnist_dir,
        epochs=4,
        keep_checkpoints=1,
        eval_every=1,
        eval_samples=100,
        eval_metrics="fd_classifier",
        worse_evals=0,
    )
    train(config, run_dir)
    rows = read_csv(run_dir / "metrics.csv")
    scores = [float(r["fd_classifier"]) for r in rows]
    best_epoch = int(np.argmin(scores)) + 1
    record = json.loads((run_dir / rundir.BEST_FILE).read_text())
    assert (record["epoch"], record["metric"]) == (best_epoch, "fd_classifier")
    assert record["value"] == pytest.approx(min(scores), rel=1e-6)
    assert sorted(os.listdir(run_dir / "checkpoints" / "best")) == [
        "checkpoint",
        f"ckpt-{best_epoch}.data-00000-of-00001",
        f"ckpt-{best_epoch}.index",
    ]
    assert rundir.checkpoint_epoch(str(run_dir)) == 4
    best = gan_tf.load_run(str(run_dir), checkpoint="best")
    assert best.epoch == best_epoch
    evaluated = gan_tf.evaluation.evaluate_run(
        str(run_dir),
        "fd_classifier",
        checkpoint="best",
        num_samples=100,
        num_real=100,
        download=False,
        output=str(tmp_path / "best_eval.json"),
    )
    assert evaluated["epoch"] == best_epoch
    path = best.export(str(tmp_path / "best.keras"))
    assert os.path.getsize(path) > 0
    result = subprocess.run(
        [sys.executable, os.path.join(ROOT, "experiments", "sample.py")]
        + [f"--run_dir={run_dir}", "--checkpoint=best", "--num_samples=8"],
        capture_output=True,
        text=True,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
    )
    assert result.returncode == 0, result.stderr
    assert f"of epoch {best_epoch} to {run_dir / 'samples_best.npz'}" in result.stdout


@pytest.mark.slow  # ~45 s (a classifier for the real scoring); the best checkpoint's own
# bookkeeping is test_the_best_evaluation_keeps_its_checkpoint_through_rotation, by default
def test_the_best_checkpoints_eval_json_names_the_best_epoch(mnist_dir, tmp_path, monkeypatch):
    """Scripted scores 3 then 5: the best checkpoint is epoch 1 of 2. Run.evaluate and
    evaluate_run (one implementation) score it and name it, not the newest (epoch 2)."""
    script_scores(monkeypatch, [3.0, 5.0])
    run_dir = tmp_path / "run"
    train(config_for(mnist_dir, epochs=2, eval_every=1, worse_evals=0), run_dir)
    best = gan_tf.load_run(str(run_dir), checkpoint="best")
    arguments = dict(num_samples=50, num_real=50, download=False)
    record = best.evaluate("fd_classifier", **arguments)
    written = json.loads((run_dir / "eval.json").read_text())
    assert record["epoch"] == written["epoch"] == 1
    card = written["cards"]["fd_classifier"]["checkpoint"]
    assert (card["epoch"], card["which"], card["generator"]) == (1, "best", "generator")
    assert card["path"].endswith(os.path.join("checkpoints", "best", "ckpt-1"))
    assert card["step"] == written["checkpoint"]["step"] > 0
    newest = gan_tf.evaluation.evaluate_run(str(run_dir), "fd_classifier", **arguments)
    assert newest["epoch"] == 2 and newest["checkpoint"]["which"] == "latest"
    assert newest["checkpoint"]["step"] == 2 * card["step"]
    # the same generator and checkpoint: the CLI path and Run.evaluate agree exactly
    again = gan_tf.evaluation.evaluate_run(
        str(run_dir), "fd_classifier", checkpoint="best", **arguments
    )
    assert again["metrics"] == record["metrics"]


def test_best_needs_eval_every(mnist_dir, three_epochs):
    with pytest.raises(gan_tf.errors.RunNotFoundError, match="no best checkpoint.*eval_every"):
        gan_tf.load_run(str(three_epochs), checkpoint="best")
    result = subprocess.run(
        [sys.executable, os.path.join(ROOT, "experiments", "evaluate.py")]
        + [f"--run_dir={three_epochs}", "--checkpoint=best", "--metrics=fd_classifier"],
        capture_output=True,
        text=True,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
    )
    assert result.returncode == 1
    assert result.stderr == (
        f"error: {three_epochs} has no best checkpoint; runs keep one when trained with "
        "eval_every\n"  # evaluate has no --eval_every flag: the name stays as it is
    )


# ------------------------------------------------------------------------ kill -9 rounds


def logged_steps(run_dir):
    """Rows in ``run_dir``'s losses.csv (one per step at --log_every=1); 0 before it exists."""
    try:
        with open(run_dir / "losses.csv", encoding="utf-8") as handle:
            return max(handle.read().count("\n") - 1, 0)
    except FileNotFoundError:
        return 0


def run_until(command, env, stop):
    """Start ``command`` and SIGKILL it the first time ``stop(seconds)`` is true; returns
    (killed, process). The process may finish on its own first."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env
    )
    while process.poll() is None:
        if stop(time.perf_counter() - started):
            process.kill()
            process.wait()
            return True, process
        time.sleep(0.01)
    return False, process


@pytest.mark.slow  # ~2-4 min: `make test-slow`
def test_kill_9_at_random_moments_then_rerun_until_done_equals_an_uninterrupted_run(
    mnist_dir, tmp_path
):
    """The command is killed with SIGKILL at random moments and rerun until it
    finishes; no epoch is lost or repeated and the result equals a run never killed.

    The moments are drawn from the run's own progress, not from wall time, so the
    number of kills does not depend on how loaded the machine is: a kill lands either
    during start-up (a random fraction of the reference run's start-up) or right after a
    random step that lies ahead of the last kill and at least four steps before the end."""
    flags = [
        "--model=dcgan",
        "--dataset=mnist",
        f"--data_dir={mnist_dir}",
        "--nodownload",
        "--batch_size=16",
        "--epochs=8",
        "--log_every=1",
        "--checkpoint_every_steps=4",
        "--precision=float32",
        "--seed=2",
        "--verbose=0",
    ]
    total = 80  # 10 steps an epoch
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    script = os.path.join(ROOT, "experiments", "train.py")
    reference = tmp_path / "reference"
    first_step = []

    def note_start_up(seconds):
        if not first_step and logged_steps(reference):
            first_step.append(seconds)
        return False

    killed, done = run_until(
        [sys.executable, script, *flags, f"--output_dir={reference}"], env, note_start_up
    )
    assert not killed and done.returncode == 0, done.stderr.read()
    assert logged_steps(reference) == total and first_step
    start_up = first_step[0]
    run_dir = tmp_path / "killed"
    command = [sys.executable, script, *flags, f"--output_dir={run_dir}"]
    chooser = random.Random(15)
    kinds, reached = [], 0
    while reached + 1 <= total - 4 and len(kinds) < 6:
        if chooser.random() < 1 / 3:  # during start-up (or restore), before any step
            deadline = chooser.uniform(0.1, 0.9) * start_up
            kind = "start-up"
        else:
            deadline = float("inf")
            kind = "training"
        target = chooser.randint(reached + 1, total - 4)  # stale rows are <= reached
        killed, process = run_until(
            command,
            env,
            lambda seconds, t=target, d=deadline: seconds > d or logged_steps(run_dir) >= t,
        )
        assert killed, f"the run finished before its kill at step {target}"
        kinds.append(kind)
        reached = max(reached, logged_steps(run_dir))
    killed, process = run_until(command, env, lambda seconds: False)
    assert process.returncode == 0, process.stderr.read()
    assert len(kinds) >= 4 and "training" in kinds, kinds
    print(f"kill -9 rounds: {kinds}, then one to the end")
    assert_same_run(run_dir, reference)
    assert sorted(os.listdir(run_dir / "samples")) == [f"epoch_{e:04d}.png" for e in range(1, 9)]
