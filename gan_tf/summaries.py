"""What a run adds to TensorBoard beyond the losses and grids: the run's config as HParams,
the learning rates and images per second of every log window, and a profiler trace of
the train steps ``--profile_steps=a,b``.

Tags (in ``RUN/logs``): ``train/learning_rate_generator``,
``train/learning_rate_discriminator``, ``train/images_per_second`` (real images the
discriminator saw per wall-clock second of the window, data loading included); the
HParams dashboard lists every config field; the Profile tab (the
``tensorboard-plugin-profile`` package) shows the trace.
"""

from __future__ import annotations

import dataclasses
import time

import tensorflow as tf

from gan_tf.config import TrainConfig, profile_range


def hparams(config: TrainConfig) -> dict[str, bool | int | float | str]:
    """The config as HParams values (``arch`` as ``arch.KNOB``; unset fields as ``""``)."""
    values = {}
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        if isinstance(value, dict):
            values.update({f"{field.name}.{key}": _scalar(v) for key, v in value.items()})
        else:
            values[field.name] = _scalar(value)
    return values


def _scalar(value) -> bool | int | float | str:
    if value is None:
        return ""
    return value if isinstance(value, bool | int | float | str) else str(value)


def write_hparams(writer, config: TrainConfig, run_dir: str) -> None:
    """Records the run's config in the HParams dashboard (one session per run)."""
    from tensorboard.plugins.hparams import api as hp

    with writer.as_default():
        hp.hparams(hparams(config), trial_id=run_dir)
    writer.flush()


def learning_rates(gan) -> dict[str, float]:
    """The generator's and discriminator's learning rates now (a schedule at its step)."""
    return {
        f"learning_rate_{name}": float(tf.convert_to_tensor(optimizer.learning_rate))
        for name, optimizer in (
            ("generator", gan.generator_optimizer),
            ("discriminator", gan.discriminator_optimizer),
        )
    }


class Throughput:
    """Images per second between log windows (wall time, the input pipeline included)."""

    def __init__(self, images_per_step: int, step: int):
        self.images_per_step = images_per_step
        self.restart(step)

    def restart(self, step: int) -> None:
        self.step, self.time = step, time.perf_counter()

    def rate(self, step: int) -> float | None:
        """Images per second since the last call (or restart); ``None`` for no steps."""
        now = time.perf_counter()
        steps, seconds = step - self.step, now - self.time
        self.step, self.time = step, now
        if steps <= 0 or seconds <= 0:
            return None
        return steps * self.images_per_step / seconds


class Profiler:
    """Starts TensorFlow's profiler once the run reaches train step ``a`` of
    ``profile_steps`` and stops it at step ``b``, writing the trace into ``logdir``."""

    def __init__(self, profile_steps: str, logdir: str):
        self.range, self.logdir = profile_range(profile_steps), logdir
        self.running = self.done = False

    def after(self, step: int) -> None:
        """Call after the train step(s) that brought the run to ``step``."""
        if self.range is None or self.done:
            return
        first, last = self.range
        if not self.running and first <= step < last:
            tf.profiler.experimental.start(self.logdir)
            self.running = True
        elif self.running and step >= last:
            self.stop()

    def stop(self) -> None:
        if self.running:
            tf.profiler.experimental.stop()
            self.running, self.done = False, True
