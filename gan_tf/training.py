"""The training loop: data -> train steps -> logs, pictures, evaluation, checkpoints.

:func:`train` runs a :class:`~gan_tf.config.TrainConfig` in a run directory (its
layout and resume rules: :mod:`gan_tf.rundir`), with the variant's networks or
your own, and calls your callbacks after every epoch.
"""

from __future__ import annotations

import dataclasses
import math
import os
import sys
import time

import keras
import numpy as np
import tensorflow as tf

from gan_tf import data, distribute, evaluation, rundir, sampling, visualize
from gan_tf.build import build_gan
from gan_tf.config import TrainConfig
from gan_tf.errors import ConfigError, TrainingDivergedError
from gan_tf.eval import toy_mode_metrics
from gan_tf.eval.names import OUTPUT_NAMES
from gan_tf.models import get_model
from gan_tf.run import Run
from gan_tf.train_step import GAN

__all__ = ["Callback", "train"]

TOY_SAMPLES = 2500  # points per epoch scatter and mode metrics
EVAL_NOISE_SEED = 0xE7A1  # stateless seed of the --eval_every samples
# metrics.csv columns drawn in metrics.png (those present in the run)
PLOTTED_METRICS = (*OUTPUT_NAMES, "modes_covered", "high_quality")
TOY_LIMITS = {"ring8": 3.0, "grid25": 6.0}


class Callback:
    """Called by :func:`train` on the chief after every epoch, once the epoch's
    picture, metrics row and (if due) checkpoint are written. Subclass it, or pass
    any object with an ``on_epoch_end`` method.
    """

    def on_epoch_end(self, run: Run, epoch: int, logs: dict) -> None:
        """``run``: a :class:`~gan_tf.run.Run` on the live generator (``run.sample``,
        ``run.grid``, ``run.evaluate``; ``run.gan`` is the training
        :class:`~gan_tf.train_step.GAN`); ``logs``: the epoch's metrics row."""


class _EpochPicture:
    """Writes the per-epoch picture (and, for toys, the mode metrics) from fixed noise."""

    def __init__(self, config: TrainConfig, gan: GAN, dataset: data.ImageDataset):
        self.config, self.gan, self.dataset = config, gan, dataset
        self.toy = data.is_toy(config.dataset)
        self.labels = None
        if self.toy:
            self.noise = sampling.fixed_noise(config.seed, config.latent_dim, TOY_SAMPLES)
            if gan.conditional:
                self.labels = tf.range(TOY_SAMPLES) % gan.num_classes
            self.real = np.stack(
                [
                    np.asarray(x[0] if isinstance(x, tuple) else x)
                    for x in dataset.examples.take(TOY_SAMPLES)
                ]
            )
        elif gan.conditional:  # one row per class, the same noise down each column
            self.noise, self.labels = sampling.class_rows(
                sampling.fixed_noise(config.seed, config.latent_dim, config.grid_size),
                gan.num_classes,
            )
        else:
            self.noise = sampling.fixed_noise(config.seed, config.latent_dim, config.grid_size**2)

    @property
    def metric_names(self) -> tuple[str, ...]:
        return ("modes_covered", "high_quality") if self.toy else ()

    def write(self, path: str, epoch: int) -> tuple[np.ndarray, dict]:
        """Writes the picture to ``path``; returns it as uint8 and the epoch metrics."""
        samples = self.gan.generate(self.noise, self.labels).numpy()
        if self.toy:
            centers, std = data.toy_modes(self.config.dataset)
            metrics = toy_mode_metrics(samples, centers, std)
            title = (
                f"{self.config.model} epoch {epoch}: {metrics['modes_covered']}/"
                f"{len(centers)} modes, {metrics['high_quality']:.0%} high quality"
            )
            visualize.scatter_plot(
                self.real, samples, path, limit=TOY_LIMITS[self.config.dataset], title=title
            )
            import imageio.v3 as iio

            return iio.imread(path)[..., :3], metrics
        rows = self.gan.num_classes if self.gan.conditional else self.config.grid_size
        grid = visualize.image_grid(visualize.to_uint8(samples), rows=rows)
        visualize.save_image(grid, path)
        return grid, {}


def _finish(run_dir: str) -> int:
    frames = visualize.epoch_grids(run_dir)
    if frames:
        visualize.make_gif(frames, os.path.join(run_dir, "progress.gif"))
    losses_csv = os.path.join(run_dir, "losses.csv")
    if os.path.exists(losses_csv):
        visualize.plot_losses(losses_csv, os.path.join(run_dir, "losses.png"))
    metrics_csv = os.path.join(run_dir, "metrics.csv")
    if os.path.exists(metrics_csv):
        visualize.plot_metrics(metrics_csv, os.path.join(run_dir, "metrics.png"), PLOTTED_METRICS)
    return len(frames)


def _print(verbose: int, message: str) -> None:
    if verbose:
        print(message, flush=True)


def _load_data(config: TrainConfig) -> tuple[data.ImageDataset, int]:
    """The run's dataset and its generator steps per epoch (each takes n_critic batches)."""
    spec = get_model(config.model)
    dataset = data.load_dataset(
        config.dataset,
        data_dir=config.data_dir,
        with_labels=spec.conditional,
        max_examples=config.max_examples,
        image_size=config.image_size,
        download=config.download,
        background=config.background,
    )
    examples_per_step = config.batch_size * config.n_critic
    steps_per_epoch = dataset.num_examples // examples_per_step
    if steps_per_epoch == 0:
        raise ConfigError(
            f"batch_size={config.batch_size} x n_critic={config.n_critic} is larger than the "
            f"{dataset.num_examples} examples of '{dataset.name}'; lower batch_size or raise "
            "max_examples",
            "batch_size",
            "n_critic",
            "max_examples",
        )
    if config.steps_per_epoch:
        steps_per_epoch = min(steps_per_epoch, config.steps_per_epoch)
    return dataset, steps_per_epoch


def train(
    config: TrainConfig,
    output_dir: str,
    *,
    generator: keras.Model | None = None,
    discriminator: keras.Model | None = None,
    callbacks=(),
    verbose: int = 1,
    strategy=None,
) -> dict:
    """Trains (or resumes) the run that ``config`` describes in ``output_dir``.

    Nothing is written before the config is checked against the directory and the
    data has loaded. The run resumes from its latest checkpoint; fields that may
    change on resume (learning rates, epochs, logging, evaluation...) take effect
    and are reported; with ``epochs`` at or below the checkpointed epoch it reports
    that the run is finished and returns. Under ``multi_worker`` every worker
    trains and only the chief writes files.

    Args:
      config: a :class:`TrainConfig` (see :func:`gan_tf.config.make_config`).
      output_dir: the run directory (see :mod:`gan_tf.rundir`).
      generator, discriminator: your own Keras networks instead of the variant's
        (both or neither; see :func:`gan_tf.build.build_gan` for the signatures).
        ``config.model`` still picks the defaults (and ``conditional``). Pass
        networks of the same architecture again to resume.
      callbacks: objects with ``on_epoch_end(run, epoch, logs)`` (see :class:`Callback`).
      verbose: 1 shows a progress bar and messages, 0 is silent.
      strategy: a ``tf.distribute.Strategy`` to use instead of building the one
        ``config.strategy`` names (e.g. a MirroredStrategy over chosen devices).

    Returns:
      A summary: ``run_dir``, ``start_epoch``, ``epoch``, ``step``,
      ``steps_per_epoch``, ``already_finished``, ``changes`` (the fields changed
      on resume) and the last epoch's ``metrics``.

    Raises:
      ConfigError: a run directory holding a different run, networks with the wrong
        signature, or a batch the data or replicas cannot serve.
      DataNotFoundError: no source provides the dataset.
      TrainingDivergedError: a loss became NaN/inf (the last checkpoint is kept).
    """
    run_dir = os.path.expanduser(output_dir)
    strategy = strategy or distribute.make_strategy(config.strategy, tpu=config.tpu)
    config, precision_reason = _choose_precision(config, run_dir, strategy)
    changes = rundir.resume_changes(config, run_dir)
    custom = generator is not None or discriminator is not None
    rundir.check_same_networks(run_dir, custom)
    _check_replicas(config, strategy)
    chief = distribute.is_chief(strategy)
    verbose = verbose if chief else 0
    dataset, steps_per_epoch = _load_data(config)
    gan = build_gan(
        config,
        dataset.image_shape,
        dataset.num_classes,
        total_steps=config.epochs * steps_per_epoch,
        strategy=strategy,
        generator=generator,
        discriminator=discriminator,
    )
    picture = _EpochPicture(config, gan, dataset) if chief else None
    evaluator = _make_evaluator(config) if chief else None
    with strategy.scope():
        epoch_counter = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
    info = {
        "shape": list(dataset.image_shape),
        "num_classes": gan.num_classes,
        "custom_networks": custom,
    }
    checkpoints = rundir.open_run(
        config, run_dir, gan.checkpoint(epoch=epoch_counter), info, strategy
    )
    rundir.apply_learning_rates(config, gan.generator_optimizer, gan.discriminator_optimizer)
    start_epoch = int(epoch_counter.numpy())
    summary = {
        "run_dir": run_dir,
        "start_epoch": start_epoch,
        "steps_per_epoch": steps_per_epoch,
        "already_finished": start_epoch >= config.epochs,
        "changes": {name: (old, new) for name, old, new in changes},
        "metrics": None,
    }
    if summary["already_finished"]:
        if chief:
            _finish(run_dir)
        _print(
            verbose,
            f"{run_dir} is already trained to epoch {start_epoch} "
            f"(epochs={config.epochs}); raise epochs to train further.",
        )
        return {**summary, "epoch": start_epoch, "step": int(gan.step.numpy())}
    if start_epoch:
        _print(
            verbose, f"Resuming {run_dir} from epoch {start_epoch}, step {int(gan.step.numpy())}"
        )
    if changes:
        listed = ", ".join(f"{name} {old} -> {new}" for name, old, new in changes)
        _print(verbose, f"Changed on resume: {listed} from epoch {start_epoch + 1}")
    _print(
        verbose, distribute.describe_devices(strategy, f"{config.precision} ({precision_reason})")
    )
    _print(
        verbose,
        f"Training {config.model} on {dataset.name} ({dataset.num_examples} "
        f"examples {'x'.join(map(str, dataset.image_shape))} from {dataset.source}), "
        f"{steps_per_epoch} steps/epoch, epochs {start_epoch + 1}..{config.epochs}"
        + _replicas_note(strategy),
    )
    live = Run(run_dir, config, gan.sampling_generator, dataset.image_shape, gan.num_classes)
    live.gan = gan
    writer = tf.summary.create_file_writer(os.path.join(run_dir, "logs")) if chief else None
    for epoch in range(start_epoch + 1, config.epochs + 1):
        _print(verbose, f"Epoch {epoch}/{config.epochs}")
        metrics = _train_epoch(
            gan, dataset, config, run_dir, epoch, steps_per_epoch, writer, verbose
        )
        epoch_counter.assign(epoch)
        due = epoch % config.checkpoint_every == 0 or epoch == config.epochs
        if not chief:  # workers other than the chief only train (and join every save)
            if due:
                checkpoints.save(epoch)
            continue
        metrics.update(
            _epoch_outputs(
                run_dir, epoch, config, gan, picture, evaluator, metrics, writer, verbose
            )
        )
        rundir.append_csv(os.path.join(run_dir, "metrics.csv"), {"epoch": epoch, **metrics})
        if due:
            checkpoints.save(epoch)
        for callback in callbacks:
            callback.on_epoch_end(live, epoch, dict(metrics))
        summary["metrics"] = metrics
    if chief:
        _finish(run_dir)
    _print(verbose, f"Done: {run_dir} (epoch {config.epochs}, step {int(gan.step.numpy())})")
    return {**summary, "epoch": config.epochs, "step": int(gan.step.numpy())}


def _choose_precision(config: TrainConfig, run_dir: str, strategy) -> tuple[TrainConfig, str]:
    """``config`` with a concrete precision, and why: ``auto`` becomes the precision a
    run in ``run_dir`` started with, or else the one the hardware runs fastest."""
    if config.precision != "auto":
        return config, "set explicitly"
    if rundir.has_config(run_dir):
        precision, reason = rundir.load_config(run_dir).precision, "auto: kept from the run's start"
    else:
        precision, reason = distribute.resolve_precision("auto", strategy)
        reason = f"auto: {reason}"
    return dataclasses.replace(config, precision=precision), reason


def _epoch_outputs(run_dir, epoch, config, gan, picture, evaluator, metrics, writer, verbose):
    """The epoch's picture, evaluation (when due) and TensorBoard summaries; returns
    the metrics they add to the epoch's row."""
    image, extra = picture.write(os.path.join(run_dir, "samples", f"epoch_{epoch:04d}.png"), epoch)
    evaluated = {}
    if evaluator is not None and (epoch % config.eval_every == 0 or epoch == config.epochs):
        _print(verbose, f"Evaluating epoch {epoch} ({', '.join(evaluator.metrics)})")
        evaluated = evaluate_generator(evaluator, gan, config)
        _print(verbose, "  " + ", ".join(f"{k} {v:.4g}" for k, v in evaluated.items()))
    with writer.as_default(step=int(gan.step.numpy())):
        for key, value in {**metrics, **extra}.items():
            tf.summary.scalar(f"epoch/{key}", value)
        for key, value in evaluated.items():
            tf.summary.scalar(f"eval/{key}", value)
        tf.summary.image("samples", image[None])
    writer.flush()
    return {**extra, **evaluated}


def _check_replicas(config: TrainConfig, strategy) -> None:
    replicas = strategy.num_replicas_in_sync
    if config.batch_size % replicas:
        raise ConfigError(
            f"batch_size={config.batch_size} does not split evenly over the {replicas} "
            f"replicas of {type(strategy).__name__}; use a multiple of {replicas}",
            "batch_size",
        )


def _replicas_note(strategy) -> str:
    replicas = strategy.num_replicas_in_sync
    if not distribute.is_distributed(strategy):
        return ""
    return f", {type(strategy).__name__} over {replicas} replica{'s' * (replicas > 1)}"


def _make_evaluator(config: TrainConfig):
    """The ``--eval_every`` evaluator (reference set and networks loaded once), or None."""
    if not config.eval_every:
        return None
    metrics = config.eval_metrics
    if metrics == "auto":
        metrics = evaluation.default_metrics(config.dataset, config.classifier_weights)
    return evaluation.Evaluator(
        config.dataset,
        metrics,
        num_real=config.eval_samples,
        data_dir=config.data_dir,
        download=config.download,
        image_size=config.image_size,
        background=config.background,
        classifier_weights=config.classifier_weights,
        inception_weights=config.inception_weights,
        seed=config.seed,
    )


def evaluate_generator(evaluator, gan: GAN, config: TrainConfig) -> dict[str, float]:
    """Scores ``config.eval_samples`` samples of ``gan`` (EMA generator if kept).

    The noise is the same every epoch and comes from its own stateless seed, so
    evaluating neither changes training nor breaks exact resume.
    """
    started = time.time()
    noise = tf.random.stateless_normal(
        [config.eval_samples, config.latent_dim], seed=[config.seed, EVAL_NOISE_SEED]
    )
    labels = None
    if gan.conditional:  # the reference's class mix (equal shares on balanced data)
        labels = evaluator.sample_labels(config.eval_samples)
        if labels is None:
            labels = sampling.class_cycle(config.eval_samples, gan.num_classes)
    parts = []
    for start in range(0, config.eval_samples, 500):
        batch_labels = None if labels is None else tf.constant(labels[start : start + 500])
        parts.append(visualize.to_uint8(gan.generate(noise[start : start + 500], batch_labels)))
    values = evaluator(np.concatenate(parts), labels)
    scalars = {key: float(value) for key, value in values.items() if np.isscalar(value)}
    return {**scalars, "eval_seconds": round(time.time() - started, 1)}


def annealed(initial: float, step: int, total_steps: int) -> float:
    """Linear annealing from ``initial`` at step 0 to 0 at ``total_steps`` (instance noise)."""
    return initial * max(0.0, 1.0 - step / max(total_steps, 1))


def _train_epoch(gan, dataset, config, run_dir, epoch, steps_per_epoch, writer, verbose):
    """Runs one epoch of train steps; returns the epoch's step, seconds and mean metrics."""
    names = gan.metric_names
    # a live bar on a terminal; in a log file a plain line per log_every steps instead
    interactive = bool(verbose) and sys.stdout.isatty()
    progbar = keras.utils.Progbar(steps_per_epoch, verbose=int(interactive), stateful_metrics=names)
    totals, window, window_steps = dict.fromkeys(names, 0.0), dict.fromkeys(names, 0.0), 0
    total_steps = config.epochs * steps_per_epoch
    losses_csv = os.path.join(run_dir, "losses.csv")
    started = time.perf_counter()
    batches = data.batches(
        dataset, config.batch_size * config.n_critic, seed=config.seed, epoch=epoch
    ).take(steps_per_epoch)
    iterator = iter(distribute.distribute_dataset(gan.strategy, batches, chunks=config.n_critic))
    index = -1
    for count in _call_sizes(steps_per_epoch, config.steps_per_call):
        if config.instance_noise:  # annealed once per call
            gan.set_instance_noise(
                annealed(config.instance_noise, int(gan.step.numpy()), total_steps)
            )
        outputs = gan.train_steps(iterator, count)
        step = int(gan.step.numpy()) - count
        for call_index in range(count):
            index, step = index + 1, step + 1
            values = {key: float(outputs[key][call_index]) for key in names}
            window_steps = _log_step(values, step, epoch, totals, window, window_steps)
            progbar.update(index + 1, list(values.items()))
            if window_steps == config.log_every or index + 1 == steps_per_epoch:
                means = {key: window[key] / window_steps for key in names}
                if verbose and not interactive:
                    listed = ", ".join(f"{key} {value:.4g}" for key, value in means.items())
                    print(f"epoch {epoch} step {step}/{total_steps}: {listed}", flush=True)
                if writer is not None:  # the chief
                    with writer.as_default(step=step):
                        for key, value in means.items():
                            tf.summary.scalar(f"train/{key}", value)
                    rundir.append_csv(losses_csv, {"epoch": epoch, "step": step, **means})
                window, window_steps = dict.fromkeys(names, 0.0), 0
    return {
        "step": int(gan.step.numpy()),
        "seconds": round(time.perf_counter() - started, 3),
        **{key: totals[key] / steps_per_epoch for key in names},
    }


def _call_sizes(steps: int, steps_per_call: int) -> list[int]:
    """Steps per train call for an epoch of ``steps``: ``steps // steps_per_call``
    fused calls, then single steps for the remainder (two traced shapes at most)."""
    fused = steps // steps_per_call
    return [steps_per_call] * fused + [1] * (steps - fused * steps_per_call)


def _log_step(values: dict, step: int, epoch: int, totals: dict, window: dict, count: int) -> int:
    """NaN/inf check and running sums of one step's metrics; returns the window count."""
    bad = [key for key, value in values.items() if not math.isfinite(value)]
    if bad:
        raise TrainingDivergedError(
            f"{', '.join(bad)} became {values[bad[0]]} at step {step} (epoch {epoch}); "
            "lower learning_rate or change loss; rerunning resumes from the last checkpoint",
            "learning_rate",
            "loss",
        )
    for key in values:
        totals[key] += values[key]
        window[key] += values[key]
    return count + 1
