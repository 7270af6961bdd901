"""TensorBoard beyond losses and grids: HParams of the config, learning rates, images per
second, and the profiler trace of --profile_steps."""

import glob
import os

import pytest
import tensorflow as tf
from fake_data import tiny_mnist_config, write_mnist_idx

import gan_tf
from gan_tf import summaries
from gan_tf.errors import ConfigError


def _events(run_dir):
    """``{tag: [(step, value), ...]}`` of the scalars, and the set of every tag."""
    scalars, tags = {}, set()
    for path in glob.glob(os.path.join(run_dir, "logs", "events.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                tags.add(value.tag)
                array = tf.make_ndarray(value.tensor) if value.HasField("tensor") else None
                if array is not None and array.ndim == 0 and array.dtype.kind == "f":
                    scalars.setdefault(value.tag, []).append((event.step, float(array)))
    return scalars, tags


def test_hparams_flatten_the_config_to_scalars():
    config = gan_tf.make_config(model="dcgan", dataset="fashion_mnist", d_learning_rate=None)
    values = summaries.hparams(config)
    assert values["model"] == "dcgan" and values["learning_rate"] == pytest.approx(1.2e-3)
    assert values["arch.base_width"] == 32 and values["d_learning_rate"] == ""
    assert values["ema"] == pytest.approx(0.999) and values["batch_size"] == 32
    assert all(isinstance(v, bool | int | float | str) for v in values.values())


@pytest.mark.parametrize("text", ["3,1", "2", "a,b", "1,2,3", "-1,4"])
def test_profile_steps_must_be_two_increasing_steps(text):
    with pytest.raises(ConfigError, match="profile_steps takes two train steps a,b"):
        gan_tf.make_config(profile_steps=text)


def test_throughput_counts_images_per_wall_second(monkeypatch):
    clock = iter([10.0, 12.0, 12.0])
    monkeypatch.setattr(summaries.time, "perf_counter", lambda: next(clock))
    rate = summaries.Throughput(images_per_step=64, step=100)  # t = 10 s
    assert rate.rate(110) == pytest.approx(10 * 64 / 2.0)  # t = 12 s
    assert rate.rate(110) is None  # no step since


def test_a_run_logs_hparams_learning_rates_throughput_and_a_profile(tmp_path):
    write_mnist_idx(str(tmp_path / "mnist"), train=64)  # 4 steps/epoch at batch 16
    config = tiny_mnist_config(
        str(tmp_path / "mnist"),
        log_every=2,
        learning_rate=3e-4,
        d_learning_rate=1e-4,
        lr_decay="linear",
        profile_steps="2,5",
    )
    run_dir = str(tmp_path / "run")
    gan_tf.train(config, run_dir, verbose=0)
    scalars, tags = _events(run_dir)
    generator = scalars["train/learning_rate_generator"]
    assert [step for step, _ in generator] == [2, 4, 6, 8]
    # linear decay to 0 over 8 steps, read after steps 2, 4, 6, 8
    assert [value for _, value in generator] == pytest.approx([2.25e-4, 1.5e-4, 0.75e-4, 0.0])
    assert scalars["train/learning_rate_discriminator"][0][1] == pytest.approx(0.75e-4)
    speeds = [value for _, value in scalars["train/images_per_second"]]
    assert len(speeds) == 4 and all(0 < value < 1e6 for value in speeds)
    assert "_hparams_/session_start_info" in tags
    traces = glob.glob(os.path.join(run_dir, "logs", "plugins", "profile", "*", "*.xplane.pb"))
    assert len(traces) == 1 and os.path.getsize(traces[0]) > 0
