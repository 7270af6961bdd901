"""tf.distribute: MirroredStrategy over two logical CPUs (conftest), checkpoints and resume
under it, a two-process MultiWorkerMirroredStrategy run on localhost, and strategy errors."""

import csv
import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from conftest import CPU_DEVICES
from fake_data import write_mnist_idx

import gan_tf
from gan_tf import distribute
from gan_tf.build import build_gan
from gan_tf.errors import ConfigError
from gan_tf.rundir import restore_generator

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def mirrored():
    strategy = distribute.make_strategy("mirrored", devices=CPU_DEVICES)
    assert strategy.num_replicas_in_sync == 2
    return strategy


def _split(strategy, tensor):
    """A per-replica value: replica r holds the r-th contiguous half of ``tensor``."""
    half = tensor.shape[0] // 2
    return strategy.experimental_distribute_values_from_function(
        lambda context: tensor[
            context.replica_id_in_sync_group * half : (context.replica_id_in_sync_group + 1) * half
        ]
    )


def _assert_same_weights(a, b, rtol=2e-5, atol=2e-6):
    for left, right in zip(a.weights, b.weights, strict=True):
        np.testing.assert_allclose(left.numpy(), right.numpy(), rtol=rtol, atol=atol)


# BatchNorm is per replica under tf.distribute, so the exact comparison uses the
# BN-free toy MLPs: each variant's loss, penalty, clipping and label handling.
EQUIVALENCE_CASES = {
    "gan": dict(label_flip=0.2, instance_noise=0.1, ema=0.9),
    "cgan": {},
    "wgan": {},  # RMSprop, weight clipping, 5 critic steps
    "wgan_gp": dict(n_critic=2),  # gradient penalty, critic batches split across replicas
    # batch means inside the relativistic losses are global; R1 on each replica's share
    "gan-relativistic-r1": dict(loss="relativistic", r1_weight=2.0),
    # G's update on the fakes D's update saw: one generator pass kept on the tape
    "gan-reuse": dict(update="reuse", ema=0.9),
    # the matched feature means are global; the running weight averages are mirrored
    "gan-feature_matching-historical": dict(loss="feature_matching", historical_averaging=0.01),
}
# with `make test-slow` only: the critics' multi-step updates and one of the two losses with
# global batch statistics (gan-relativistic-r1 runs by default)
SLOW_EQUIVALENCE_CASES = ("wgan", "wgan_gp", "gan-feature_matching-historical")


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(name, marks=[pytest.mark.slow] if name in SLOW_EQUIVALENCE_CASES else [])
        for name in EQUIVALENCE_CASES
    ],
)
def test_mirrored_step_equals_single_device_step_on_the_global_batch(case, mirrored):
    model = case.split("-")[0]
    config = gan_tf.make_config(
        model=model,
        dataset="ring8",
        batch_size=16,
        precision="float32",  # compared to float32 rounding
        **EQUIVALENCE_CASES[case],
    )
    classes = 8 if model == "cgan" else None
    single = build_gan(config, (2,), classes)
    replicated = build_gan(config, (2,), classes, strategy=mirrored)
    _assert_same_weights(single.generator, replicated.generator, rtol=0, atol=0)
    rows = config.batch_size * config.n_critic
    real = tf.random.stateless_normal([rows, 2], seed=[1, 2])
    labels = tf.range(rows) % 8 if classes else None
    # the training loop's pipeline: global batches split across replicas
    batches = tf.data.Dataset.from_tensors((real, labels) if classes else real).repeat(2)
    iterator = iter(distribute.distribute_dataset(mirrored, batches, chunks=config.n_critic))
    for _ in range(2):
        expected = single.run_step(real, labels)
    got = replicated.train_steps(iterator, 2)  # one looped call, as --steps_per_call=2 runs
    got = {key: value[1:] for key, value in got.items()}  # the second step's
    # Adam normalises tiny gradients, so an all-reduced mean's rounding can move a
    # near-zero weight by ~3e-6; local batch means instead of global ones moved it 3.5e-4.
    atol = 1e-5 if "relativistic" in case or "feature_matching" in case else 2e-6
    raw_scores = {"d_real", "d_fake"} if "relativistic" in case else set()
    for key in single.metric_names:
        # A relativistic loss ignores the critic's last bias: its gradient is rounding
        # noise that Adam scales to ~1e-5, and mean raw scores shift by exactly it (the
        # bias-free d_real - d_fake is checked below to the usual tolerance).
        # The same noise moves the critic's weights by ~1e-5 after a step, and a gradient
        # penalty (the critic's input-gradient norm, ~2e-3 here) with them: CI saw R1
        # differ by 5e-6 in one of three clean-clone runs.
        loose = raw_scores | ({"r1_penalty", "r2_penalty"} if raw_scores else set())
        tolerance = {"abs": atol} if key in loose else {"rel": 1e-4, "abs": 1e-6}
        assert float(got[key][0]) == pytest.approx(float(expected[key]), **tolerance), key
    if raw_scores:
        gap, expected_gap = (
            float(values["d_real"]) - float(values["d_fake"])
            for values in ({k: v[0] for k, v in got.items()}, expected)
        )
        assert gap == pytest.approx(expected_gap, rel=1e-4, abs=1e-6)
    _assert_same_weights(single.generator, replicated.generator, atol=atol)
    if raw_scores:  # the last bias (that noise, Adam-sized: up to lr per step) is unidentified
        for left, right in zip(
            single.discriminator.weights[:-1], replicated.discriminator.weights[:-1], strict=True
        ):
            np.testing.assert_allclose(left.numpy(), right.numpy(), rtol=2e-5, atol=atol)
    else:
        _assert_same_weights(single.discriminator, replicated.discriminator, atol=atol)
    _assert_same_weights(single.sampling_generator, replicated.sampling_generator, atol=atol)
    assert int(replicated.step.numpy()) == 2
    if model == "wgan":  # clipped after every critic update, on every replica's copy
        for variable in replicated.discriminator.trainable_variables:
            for copy in mirrored.experimental_local_results(variable.value):
                assert float(tf.reduce_max(tf.abs(copy))) <= config.clip_value + 1e-7


def test_mirrored_loss_is_the_mean_over_the_global_batch(mirrored):
    """Per-replica means scaled by 1/replicas: one replica fed the whole batch twice
    must match one device on it (a sum over replicas would double the step)."""
    config = gan_tf.make_config(model="gan", dataset="ring8", batch_size=8, precision="float32")
    single = build_gan(config, (2,))
    replicated = build_gan(config, (2,), strategy=mirrored)
    real = tf.random.stateless_normal([8, 2], seed=[3, 4])
    before = [w.numpy().copy() for w in single.discriminator.trainable_weights]
    single.run_step(tf.concat([real, real], 0))
    replicated.run_step(_split(mirrored, tf.concat([real, real], 0)))
    _assert_same_weights(single.discriminator, replicated.discriminator)
    moved = [
        float(np.abs(w.numpy() - b).max())
        for w, b in zip(single.discriminator.trainable_weights, before, strict=True)
    ]
    assert max(moved) > 1e-5  # the step did change the weights


@pytest.mark.parametrize("model", ["dcgan", "cgan"])
def test_mirrored_trains_image_models(model, mirrored):
    """Batch-norm image models: a mirrored step runs and changes both networks."""
    config = gan_tf.make_config(model=model, batch_size=8)
    classes = 10 if model == "cgan" else None
    gan = build_gan(config, (28, 28, 1), classes, strategy=mirrored)
    before = [w.numpy().copy() for w in gan.generator.trainable_weights]
    real = tf.random.stateless_uniform([8, 28, 28, 1], seed=[5, 6], minval=-1, maxval=1)
    args = (_split(mirrored, real),)
    if classes:
        args += (_split(mirrored, tf.range(8) % 10),)
    out = gan.run_step(*args)
    assert all(np.isfinite(float(value)) for value in out.values())
    assert any(
        not np.allclose(w.numpy(), b)
        for w, b in zip(gan.generator.trainable_weights, before, strict=True)
    )


def _toy_config(**overrides):
    values = dict(
        model="gan",
        dataset="ring8",
        max_examples=256,
        batch_size=32,
        log_every=2,
        precision="float32",  # compared with a one-device run to float32 rounding
    )
    return gan_tf.make_config(**{**values, **overrides})


def _rows(path):
    with open(path, encoding="utf-8") as handle:
        return [
            {k: v for k, v in row.items() if k not in ("seconds",)}
            for row in csv.DictReader(handle)
        ]


def test_mirrored_run_checkpoints_resumes_and_matches_one_device(tmp_path, mirrored):
    gan_tf.train(_toy_config(epochs=2), str(tmp_path / "straight"), verbose=0, strategy=mirrored)
    gan_tf.train(_toy_config(epochs=1), str(tmp_path / "resumed"), verbose=0, strategy=mirrored)
    summary = gan_tf.train(
        _toy_config(epochs=2), str(tmp_path / "resumed"), verbose=0, strategy=mirrored
    )
    assert summary["start_epoch"] == 1 and summary["step"] == 16
    losses = _rows(tmp_path / "straight" / "losses.csv")
    assert len(losses) == 8  # 8 steps/epoch, a row every 2 steps
    resumed = _rows(tmp_path / "resumed" / "losses.csv")
    for a, b in zip(losses, resumed, strict=True):
        for key in a:
            assert float(b[key]) == pytest.approx(float(a[key]), rel=1e-5, abs=1e-7), key
    # the same run on one device: the same numbers (no batch norm in the toy MLPs)
    gan_tf.train(_toy_config(epochs=2), str(tmp_path / "single"), verbose=0)
    for a, b in zip(losses, _rows(tmp_path / "single" / "losses.csv"), strict=True):
        for key in a:
            assert float(b[key]) == pytest.approx(float(a[key]), rel=1e-3, abs=1e-5), key
    # a mirrored checkpoint restores without any strategy
    generator, _ = restore_generator(str(tmp_path / "straight"))
    single_generator, _ = restore_generator(str(tmp_path / "single"))
    noise = tf.random.stateless_normal([64, 2], seed=[7, 8])
    np.testing.assert_allclose(
        generator(noise).numpy(), single_generator(noise).numpy(), rtol=1e-3, atol=1e-4
    )
    assert not [p for p in os.listdir(tmp_path / "straight" / "checkpoints") if p.startswith(".")]


@pytest.mark.slow  # the one-device SIGTERM resume and the mirrored resume run by default
def test_mirrored_sigterm_mid_epoch_then_resume_equals_the_straight_run(
    tmp_path, mirrored, monkeypatch
):
    """SIGTERM under MirroredStrategy: a step checkpoint mid-epoch, and the resume
    continues in the same data order to the same losses and weights."""
    import signal

    from gan_tf.errors import TrainingInterrupted
    from gan_tf.watchdog import Watchdog

    config = _toy_config(epochs=2)
    gan_tf.train(config, str(tmp_path / "straight"), verbose=0, strategy=mirrored)
    check_step = Watchdog.check_step

    def signalled(self, values, step, epoch):
        if step == 11:
            os.kill(os.getpid(), signal.SIGTERM)
        return check_step(self, values, step, epoch)

    monkeypatch.setattr(Watchdog, "check_step", signalled)
    with pytest.raises(TrainingInterrupted, match=r"^SIGTERM at step 11 \(epoch 2, batch 3\)"):
        gan_tf.train(config, str(tmp_path / "resumed"), verbose=0, strategy=mirrored)
    monkeypatch.undo()
    summary = gan_tf.train(config, str(tmp_path / "resumed"), verbose=0, strategy=mirrored)
    assert (summary["start_epoch"], summary["step"]) == (1, 16)
    losses = _rows(tmp_path / "straight" / "losses.csv")
    resumed = _rows(tmp_path / "resumed" / "losses.csv")
    assert [row["step"] for row in resumed] == [row["step"] for row in losses]
    for a, b in zip(losses, resumed, strict=True):
        for key in a:
            assert float(b[key]) == pytest.approx(float(a[key]), rel=1e-5, abs=1e-7), key
    straight, _ = restore_generator(str(tmp_path / "straight"))
    generator, _ = restore_generator(str(tmp_path / "resumed"))
    _assert_same_weights(generator, straight)


def test_strategy_errors(tmp_path, mirrored, monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ConfigError, match="needs the TF_CONFIG environment variable"):
        distribute.make_strategy("multi_worker")
    with pytest.raises(ConfigError, match="unknown strategy 'gpus'; choose one of: default"):
        gan_tf.make_config(strategy="gpus")
    with pytest.raises(ConfigError, match="tpu=x needs strategy=tpu") as error:
        gan_tf.make_config(tpu="x")
    assert error.value.params == ("tpu", "strategy")
    odd = _toy_config(batch_size=31)
    with pytest.raises(ConfigError, match="does not split evenly over the 2 replicas of Mirrored"):
        gan_tf.train(odd, str(tmp_path / "odd"), verbose=0, strategy=mirrored)
    assert not os.path.exists(tmp_path / "odd")  # nothing written


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("localhost", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def _train_two_workers(run_dir, data_dir, epochs):
    workers = [f"localhost:{port}" for port in _free_ports(2)]
    command = [
        sys.executable,
        os.path.join(ROOT, "experiments", "train.py"),
        "--model=dcgan",
        "--dataset=mnist",
        f"--data_dir={data_dir}",
        "--nodownload",
        f"--output_dir={run_dir}",
        "--strategy=multi_worker",
        "--batch_size=8",
        "--steps_per_epoch=3",
        f"--epochs={epochs}",
        "--grid_size=2",
        "--verbose=0",
    ]
    processes = []
    for index in range(2):
        config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
        env = dict(os.environ, TF_CONFIG=json.dumps(config), TF_CPP_MIN_LOG_LEVEL="3")
        processes.append(
            subprocess.Popen(
                command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
        )
    try:
        outputs = [process.communicate(timeout=300) for process in processes]
    finally:
        for process in processes:
            process.kill()
    for process, (_, stderr) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, stderr[-3000:]


@pytest.mark.slow  # 33 s: CI runs it in `make colab-versions` (the suite budget)
def test_two_worker_multi_worker_mirrored_run_and_resume(tmp_path):
    """Two processes on localhost train DCGAN together; only the chief writes files;
    rerunning both with more epochs resumes from the chief's checkpoint."""
    data_dir = tmp_path / "mnist"
    write_mnist_idx(str(data_dir), train=64)
    run_dir = tmp_path / "run"
    _train_two_workers(run_dir, data_dir, epochs=1)
    checkpoints = sorted(os.listdir(run_dir / "checkpoints"))
    assert checkpoints == ["checkpoint", "ckpt-1.data-00000-of-00001", "ckpt-1.index"]
    reader = tf.train.load_checkpoint(str(run_dir / "checkpoints" / "ckpt-1"))
    assert reader.get_tensor("step/.ATTRIBUTES/VARIABLE_VALUE") == 3
    assert os.path.exists(run_dir / "samples" / "epoch_0001.png")
    _train_two_workers(run_dir, data_dir, epochs=2)
    reader = tf.train.load_checkpoint(str(run_dir / "checkpoints" / "ckpt-2"))
    assert reader.get_tensor("step/.ATTRIBUTES/VARIABLE_VALUE") == 6  # continued, not restarted
    assert reader.get_tensor("epoch/.ATTRIBUTES/VARIABLE_VALUE") == 2
    assert os.path.exists(run_dir / "samples" / "epoch_0002.png")
    assert not [p for p in os.listdir(run_dir / "checkpoints") if p.startswith(".")]
    with open(run_dir / "losses.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["epoch"] for row in rows] == ["1", "2"]  # one row per epoch, chief only


def test_float16_overflow_on_one_replica_skips_the_step_everywhere(mirrored):
    """Keras' LossScaleOptimizer checks only the first replica's (unreduced) gradients;
    the step must still be skipped when another replica overflows, not turn into NaN."""
    config = gan_tf.make_config(
        model="gan", dataset="ring8", batch_size=16, precision="mixed_float16"
    )
    gan = build_gan(config, (2,), strategy=mirrored)
    scale = float(gan.discriminator_optimizer.dynamic_scale.numpy())
    before = [w.numpy().copy() for w in gan.discriminator.trainable_weights]
    finite = tf.random.stateless_normal([8, 2], seed=[5, 5])
    real = tf.concat([finite, tf.fill([8, 2], 6.0e4)], 0)  # float16 overflow on replica 1 only
    gan.run_step(_split(mirrored, real))
    for weight, old in zip(gan.discriminator.trainable_weights, before, strict=True):
        np.testing.assert_array_equal(weight.numpy(), old)  # skipped, not NaN
    assert float(gan.discriminator_optimizer.dynamic_scale.numpy()) == scale / 2


def test_the_device_line_names_strategy_replicas_and_precision():
    strategy = tf.distribute.MirroredStrategy(CPU_DEVICES)
    line = distribute.describe_devices(strategy, "mixed_float16")
    assert line.startswith("Devices: CPU (") and " threads)" in line
    assert line.endswith("strategy MirroredStrategy, 2 replicas; precision mixed_float16")


@pytest.mark.parametrize(
    "hardware, expected",
    [
        (distribute.Hardware("GPU", (7, 5)), "mixed_float16"),
        (distribute.Hardware("GPU", (7, 0)), "mixed_float16"),
        (distribute.Hardware("GPU", (8, 0)), "mixed_bfloat16"),
        (distribute.Hardware("GPU", (8, 9)), "mixed_bfloat16"),
        (distribute.Hardware("GPU", (9, 0)), "mixed_bfloat16"),
        (distribute.Hardware("GPU", (6, 0)), "float32"),
        (
            distribute.Hardware("CPU", cpu_flags=frozenset({"avx512f", "avx512_bf16"})),
            "mixed_bfloat16",
        ),
        (
            distribute.Hardware("CPU", cpu_flags=frozenset({"avx512f", "amx_bf16"})),
            "mixed_bfloat16",
        ),
        (distribute.Hardware("CPU", cpu_flags=frozenset({"avx2", "avx512f", "fma"})), "float32"),
        (distribute.Hardware("CPU"), "float32"),
        (distribute.Hardware("TPU"), "mixed_bfloat16"),
    ],
    ids=[
        "T4",
        "V100",
        "A100",
        "RTX4090",
        "H100",
        "P100",
        "cpu-avx512bf16",
        "cpu-amx",
        "cpu-no-bf16",
        "cpu-unknown",
        "TPU",
    ],
)
def test_auto_precision_per_device(hardware, expected):
    precision, reason = distribute.auto_precision(hardware)
    assert precision == expected
    assert reason  # printed at start: says why
    if hardware.kind == "GPU":
        major, minor = hardware.compute_capability
        assert f"compute capability {major}.{minor}" in reason


def test_detect_hardware_reads_this_machine(tmp_path):
    """Without accelerators it is the CPU with /proc/cpuinfo's flags; the explicit
    precisions pass through resolve_precision unchanged."""
    hardware = distribute.detect_hardware()
    assert hardware.kind == ("GPU" if tf.config.list_physical_devices("GPU") else "CPU")
    if hardware.kind == "CPU" and os.path.exists("/proc/cpuinfo"):
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            flags = next(line for line in handle if line.startswith("flags")).split(":")[1].split()
        assert hardware.cpu_flags == frozenset(flags)
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor : 0\nflags\t\t: fpu avx2 amx_bf16\n")
    assert distribute._cpu_flags(str(cpuinfo)) == frozenset({"fpu", "avx2", "amx_bf16"})
    assert distribute._cpu_flags(str(tmp_path / "missing")) == frozenset()
    for precision in ("float32", "mixed_bfloat16", "mixed_float16"):
        assert distribute.resolve_precision(precision)[0] == precision
    assert distribute.resolve_precision("auto") == distribute.auto_precision(hardware)
