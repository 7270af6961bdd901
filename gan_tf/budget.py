"""A training-time budget: ``--minutes=M`` picks the epochs whose steps take about M
minutes on this machine.

A recipe that decays the learning rate to 0 at the run's last step (the colour recipe,
``lr_decay=linear``) makes the run's length part of the recipe, and the same length
(26 epochs of the 64 px emoji) is 12 minutes on a Xeon with AMX and 20 on an AMD EPYC
in float32. With ``minutes`` set, the run's length is planned twice:

1. before the first step, :func:`resolve` times the run's own train step on a throwaway
   copy of the run's GAN fed the run's own batches (a few seconds after tracing) and
   sets ``epochs`` to the whole epochs that fit (:func:`epochs_for`);
2. after every epoch, the loop re-fits ``epochs`` to what is left of the budget at the
   pace it has kept itself so far (:func:`replan`): a CPU runs its first seconds in
   turbo and a shared machine slows down under load, so the first timing alone
   overshot by a quarter on the reference Xeon. The decay's length is a variable
   (:class:`gan_tf.build.Plan`), so a re-plan moves the learning rate by a fraction of
   a percent at that step.

A plan never exceeds ``max_epochs`` (when > 0): the colour recipe sets 64, the most
epochs its runs were measured to improve through; a machine fast enough for more
ends early rather than train the discriminator into memorising a small set. With
``widen`` (the colour recipe's, unless you set ``base_width``) such a machine first
times the networks at twice ``base_width`` (4x the FLOPs a step) and trains those
when at least :data:`MIN_WIDE_EPOCHS` epochs of them fit: the budget buys capacity
where more epochs would only overfit.

So a ``minutes`` run ends near its budget (or at ``max_epochs``), and its length and
learning-rate path depend on the machine's speed while it ran: its ``config.json`` (the epochs) and
``metrics.csv`` (the seconds) record what happened. To reproduce a run exactly, train
with ``epochs`` instead.

Evaluation, sample grids and checkpoints come on top, as they do in the seconds the
loop reports. The chosen ``epochs`` is saved with the run's config, so rerunning the
same command resumes the same schedule without timing again; a different ``minutes``
on resume times again and extends (or ends) the run as a different ``epochs`` would.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
import time

import tensorflow as tf

from gan_tf import data, distribute
from gan_tf.build import build_gan, initialize_from_data
from gan_tf.config import TrainConfig
from gan_tf.errors import ConfigError

__all__ = ["Timing", "epochs_for", "replan", "resolve", "saved_epochs", "time_step"]

WARMUP_CALLS = 3  # traced and untimed: the first calls build and warm the pipeline
TIMED_SECONDS = 4.0  # time steps until this much has passed ...
MIN_TIMED_CALLS, MAX_TIMED_CALLS = 5, 60  # ... within these bounds
MIN_PACED_STEPS = 20  # re-plan only once this process has paced this many steps
# the fewest epochs of the twice-as-wide networks worth training: at 25 epochs the 64 px
# emoji's base_width 32 ended at FD 0.91 and 1.08, where base_width 16 needs 64 for 0.98
# and 1.09 (docs/colour.md, runs 2, 4, E, F)
MIN_WIDE_EPOCHS = 25


@dataclasses.dataclass(frozen=True)
class Timing:
    """What :func:`resolve` measured: seconds per generator step (the median over
    ``calls`` timed calls) and the epochs chosen for ``minutes``."""

    minutes: float
    seconds_per_step: float
    calls: int
    steps_per_epoch: int
    epochs: int
    fitting: int = 0  # the epochs that fit, when max_epochs cut them to ``epochs``
    widened_from: int = 0  # the recipe's base_width, when widen doubled it

    def describe(self) -> str:
        steps = self.epochs * self.steps_per_epoch
        capped = (
            f", the most max_epochs allows where {self.fitting} would fit"
            if self.fitting > self.epochs
            else ""
        )
        wide = (
            f" at base_width={2 * self.widened_from} (twice {self.widened_from}, of which "
            "more than max_epochs epochs fit)"
            if self.widened_from
            else ""
        )
        return (
            f"--minutes={self.minutes:g}: a step takes {1000 * self.seconds_per_step:.0f} ms "
            f"here{wide} (median of {self.calls} timed calls), so epochs={self.epochs}{capped} "
            f"({steps:,} steps, ~{steps * self.seconds_per_step / 60:.1f} min of steps; "
            "evaluation and checkpoints come on top)"
        )


def epochs_for(
    minutes: float, seconds_per_step: float, steps_per_epoch: int, max_epochs: int = 0
) -> int:
    """The most whole epochs of ``steps_per_epoch`` steps at ``seconds_per_step`` that
    fit ``minutes`` (at least 1; all three are positive), and at most ``max_epochs``
    (0 = no limit)."""
    epoch_seconds = max(seconds_per_step * steps_per_epoch, 1e-9)
    return _capped(max(1, math.floor(60.0 * minutes / epoch_seconds + 1e-9)), max_epochs)


def _capped(epochs: int, max_epochs: int) -> int:
    return min(epochs, max_epochs) if max_epochs > 0 else epochs


def replan(
    minutes: float,
    spent_seconds: float,
    seconds_per_step: float,
    steps_per_epoch: int,
    epochs_done: int,
    max_epochs: int = 0,
) -> int:
    """The run's epochs after ``epochs_done`` of them took ``spent_seconds`` of
    training: those plus the whole epochs at ``seconds_per_step`` (the pace the loop
    kept; positive, as ``steps_per_epoch``) that fit what is left of ``minutes`` (none
    when nothing is left), at most ``max_epochs`` (0 = no limit) unless that many are
    done already."""
    left = 60.0 * minutes - spent_seconds
    if left <= 0:
        return epochs_done
    epoch_seconds = max(seconds_per_step * steps_per_epoch, 1e-9)
    planned = epochs_done + math.floor(left / epoch_seconds + 1e-9)
    return max(epochs_done, _capped(planned, max_epochs))


def saved_epochs(config: TrainConfig, saved: TrainConfig | None) -> TrainConfig:
    """``config`` with what the saved run's budget chose: the widths ``widen`` gave its
    networks (any ``minutes``: a trained network keeps its shape) and, for the same
    ``minutes``, its epochs (the same command rerun resumes the same schedule)."""
    if not config.minutes or saved is None:
        return config
    if config.widen and _same_but_width(config.arch, saved.arch):
        config = dataclasses.replace(config, arch=saved.arch)
    if saved.minutes == config.minutes:
        config = dataclasses.replace(config, epochs=saved.epochs)
    return config


def _same_but_width(arch: dict, other: dict) -> bool:
    widths = ("base_width", "d_base_width")
    return {k: v for k, v in arch.items() if k not in widths} == {
        k: v for k, v in other.items() if k not in widths
    }


def time_step(
    config: TrainConfig,
    dataset: data.ImageDataset,
    steps_per_epoch: int,
    strategy: tf.distribute.Strategy,
    spec,
    plug_state=None,
    networks=(None, None),
) -> tuple[float, int]:
    """Seconds per generator step of ``config``'s train step on ``dataset``, as
    ``(median seconds per step, timed calls)``: a throwaway GAN (built as the run's,
    in ``strategy``; your own ``networks`` are copied with ``keras.models.clone_model``)
    runs ``WARMUP_CALLS`` untimed calls, then calls of ``steps_per_call`` steps until
    ``TIMED_SECONDS`` have passed (``MIN_TIMED_CALLS`` to ``MAX_TIMED_CALLS`` calls).
    The run's own GAN and random state are untouched: it is built afterwards, from
    the seed."""
    import keras

    generator, discriminator = networks
    if generator is not None:
        with strategy.scope():
            generator = keras.models.clone_model(generator)
            discriminator = keras.models.clone_model(discriminator)
    gan = build_gan(
        config,
        dataset.image_shape,
        dataset.num_classes,
        total_steps=max(1, config.epochs) * steps_per_epoch,
        strategy=strategy,
        generator=generator,
        discriminator=discriminator,
        spec=spec,
    )
    initialize_from_data(gan.discriminator, dataset)
    batches = spec.training.batches(plug_state, dataset, config, 1)
    if batches is None:
        batches = data.batches(dataset, config.batch_size * config.n_critic, seed=config.seed)
    per_call = min(config.steps_per_call, steps_per_epoch)
    looped = config.steps_per_call > 1  # as the loop calls it
    iterator = iter(
        distribute.distribute_dataset(strategy, batches.repeat(), chunks=config.n_critic)
    )
    for _ in range(WARMUP_CALLS):
        _finished(gan.train_steps(iterator, per_call, looped))
    times, started = [], time.perf_counter()
    while len(times) < MAX_TIMED_CALLS and (
        len(times) < MIN_TIMED_CALLS or time.perf_counter() - started < TIMED_SECONDS
    ):
        begin = time.perf_counter()
        _finished(gan.train_steps(iterator, per_call, looped))
        times.append((time.perf_counter() - begin) / per_call)
    return statistics.median(times), len(times)


def _finished(outputs) -> None:
    """Waits for a train call: reads every output back, as the loop does."""
    for value in tf.nest.flatten(outputs):
        value.numpy()


def resolve(
    config: TrainConfig,
    dataset: data.ImageDataset,
    steps_per_epoch: int,
    strategy: tf.distribute.Strategy,
    spec,
    plug_state=None,
    networks=(None, None),
    resumed: bool = False,
) -> tuple[TrainConfig, Timing]:
    """``config`` with ``epochs`` fitted to ``config.minutes`` by :func:`time_step` (and
    ``base_width`` doubled where ``widen`` pays), and what was measured.
    ``resumed``: a run that already trained, whose networks (as :func:`saved_epochs`
    gave them) are kept, not widened again.

    Raises:
      ConfigError: ``minutes`` under a multi-worker strategy (each worker would time its
        own step; pass ``epochs`` instead).
    """
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        raise ConfigError(
            "minutes times the step on one host; under a multi-worker strategy pass epochs",
            "minutes",
            "strategy",
        )
    run = (dataset, steps_per_epoch, strategy, spec, plug_state, networks)
    seconds, calls = time_step(config, *run)
    fitting = epochs_for(config.minutes, seconds, steps_per_epoch)
    widened_from = 0
    if not resumed and _may_widen(config, fitting, networks):
        width = config.arch["base_width"]
        wide = _widened(config)
        wide_seconds, wide_calls = time_step(wide, *run)
        wide_fitting = epochs_for(config.minutes, wide_seconds, steps_per_epoch)
        if wide_fitting >= MIN_WIDE_EPOCHS:
            config, seconds, calls, fitting = wide, wide_seconds, wide_calls, wide_fitting
            widened_from = width
    epochs = _capped(fitting, config.max_epochs)
    timing = Timing(config.minutes, seconds, calls, steps_per_epoch, epochs, fitting, widened_from)
    return dataclasses.replace(config, epochs=epochs), timing


def _may_widen(config: TrainConfig, fitting: int, networks) -> bool:
    """Whether :func:`resolve` times twice the width: ``widen`` set, more than
    ``max_epochs`` fit, gan_tf's own networks with a ``base_width``."""
    return (
        config.widen
        and 0 < config.max_epochs < fitting
        and networks[0] is None
        and isinstance(config.arch.get("base_width"), int)
    )


def _widened(config: TrainConfig) -> TrainConfig:
    """``config`` with ``base_width`` (and a ``d_base_width`` of its own) doubled."""
    arch = {**config.arch, "base_width": 2 * config.arch["base_width"]}
    if arch.get("d_base_width"):
        arch["d_base_width"] *= 2
    return dataclasses.replace(config, arch=arch)
