"""The training loop: data -> train steps -> logs, pictures, evaluation, checkpoints.

:func:`train` runs a :class:`~gan_tf.config.TrainConfig` in a run directory (its
layout and resume rules: :mod:`gan_tf.rundir`), with the variant's networks or
your own, and calls your callbacks after every epoch.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import signal
import sys
import threading
import time

import keras
import numpy as np
import tensorflow as tf

from gan_tf import (
    budget,
    data,
    distribute,
    evaluation,
    models,
    resources,
    rundir,
    runlock,
    sampling,
    summaries,
    visualize,
)
from gan_tf.build import build_gan, initialize_from_data
from gan_tf.config import TrainConfig
from gan_tf.data import user
from gan_tf.errors import ConfigError, TrainingDivergedError, TrainingInterrupted
from gan_tf.eval import toy_mode_metrics
from gan_tf.eval.names import OUTPUT_NAMES, primary_metric
from gan_tf.gan import GAN, latent_noise
from gan_tf.run import Run
from gan_tf.watchdog import Event, Watchdog, diversity

__all__ = ["Callback", "train"]

TOY_SAMPLES = 2500  # points per epoch scatter and mode metrics
EVAL_NOISE_SEED = 0xE7A1  # stateless seed of the --eval_every samples
# metrics.csv columns drawn in metrics.png (those present in the run)
PLOTTED_METRICS = tuple(
    dict.fromkeys((*OUTPUT_NAMES, "modes_covered", "high_quality", "reverse_kl"))
)
TOY_LIMITS = {"ring8": 1.5, "grid25": 6.0}


TENSORBOARD_LOGS = "the TensorBoard logs"  # what a failed summary write names


class Callback:
    """gan_tf's own epoch callback, kept for scripts written before :func:`train`
    took Keras callbacks (pass a ``keras.callbacks.Callback`` for anything new: its
    ``self.model`` is the :class:`~gan_tf.gan.GAN`). :func:`train` calls
    ``on_epoch_end(run, epoch, logs)`` of any object that is not a Keras callback
    on the chief after every epoch, once the epoch's picture, metrics row and (if
    due) checkpoint are written.
    """

    def on_epoch_end(self, run: Run, epoch: int, logs: dict) -> None:
        """``run``: a :class:`~gan_tf.run.Run` on the live generator (``run.sample``,
        ``run.grid``, ``run.evaluate``; ``run.gan`` is the training
        :class:`~gan_tf.gan.GAN`); ``epoch``: 1-based; ``logs``: the epoch's metrics row."""


class _EpochEndAdapter(keras.callbacks.Callback):
    """A :class:`Callback` (``on_epoch_end(run, epoch, logs)``) as a Keras callback."""

    def __init__(self, callback, run: Run):
        super().__init__()
        self.callback, self.run = callback, run

    def on_epoch_end(self, epoch, logs=None):
        self.callback.on_epoch_end(self.run, epoch + 1, dict(logs or {}))


class _EpochPicture:
    """Writes the per-epoch picture (and, for toys, the mode metrics) from fixed noise."""

    def __init__(self, config: TrainConfig, gan: GAN, dataset: data.ImageDataset):
        self.config, self.gan, self.dataset = config, gan, dataset
        self.toy = data.is_toy(config.dataset)
        if self.toy:
            self.noise = sampling.fixed_noise(
                config.seed, config.latent_dim, TOY_SAMPLES, config.latent_distribution
            )
            self.labels = tf.range(TOY_SAMPLES) % gan.num_classes if gan.conditional else None
        else:
            self.noise, self.labels = sampling.epoch_grid_inputs(
                config.seed,
                config.latent_dim,
                config.grid_size,
                gan.num_classes,
                config.latent_distribution,
            )
        # as many real examples as the picture's samples: the scatter's, and the diversity's
        self.real = data.first_examples(dataset, len(self.noise))

    def write(self, path: str, epoch: int) -> tuple[np.ndarray, dict]:
        """Writes the picture to ``path``; returns it as uint8 and the epoch metrics
        (the samples' ``diversity``; the toys' mode metrics)."""
        samples = self.gan.generate(self.noise, self.labels).numpy()
        spread = {"diversity": round(diversity(samples, self.real), 4)}
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

            return iio.imread(path)[..., :3], {**metrics, **spread}
        rows = self.gan.num_classes if self.gan.conditional else self.config.grid_size
        grid = visualize.image_grid(visualize.to_uint8(samples), rows=rows)
        visualize.save_image(grid, path)
        return grid, spread


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


def _load_data(
    config: TrainConfig, spec: models.ModelSpec, handed: data.ImageDataset | None
) -> tuple[data.ImageDataset, int]:
    """The run's dataset (``handed``: data handed in from Python) and its generator steps
    per epoch (each takes n_critic batches)."""
    if handed is not None:
        dataset = user.select(
            handed, with_labels=spec.needs_labels, max_examples=config.max_examples
        )
    else:
        dataset = data.load_dataset(
            config.dataset,
            data_dir=config.data_dir,
            with_labels=spec.needs_labels,
            max_examples=config.max_examples,
            image_size=config.image_size,
            download=config.download,
            background=config.background,
        )
    examples_per_step = spec.training.examples_per_step(config)
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
    dataset=None,
    generator: keras.Model | None = None,
    discriminator: keras.Model | None = None,
    callbacks=(),
    verbose: int = 1,
    strategy=None,
    restart: bool = False,
) -> dict:
    """Trains (or resumes) the run that ``config`` describes in ``output_dir``.

    Nothing is written before the config is checked against the directory and the
    data has loaded. The run resumes from its newest intact checkpoint, mid-epoch
    included, in the same data order; fields that may change on resume (learning
    rates, epochs, logging, evaluation...) take effect and are reported; with
    ``epochs`` at or below the checkpointed epoch it reports that the run is
    finished and returns. SIGTERM and Ctrl-C save a step checkpoint, then raise
    :class:`TrainingInterrupted`. The watchdog (:mod:`gan_tf.watchdog`) acts on
    divergence as ``config.on_divergence`` says. Under ``multi_worker`` every
    worker trains and only the chief writes files. One process at a time trains a
    run directory: a lock (:mod:`gan_tf.runlock`) refuses a second one at once.

    Args:
      config: a :class:`TrainConfig` (see :func:`gan_tf.config.make_config`).
      output_dir: the run directory (see :mod:`gan_tf.rundir`).
      dataset: data to train on instead of ``config.dataset``: a
        ``tf.data.Dataset`` of images (or ``(image, label)`` pairs, or dicts with
        ``"image"``/``"label"``), NumPy images, or an ``(images, labels)`` tuple;
        checked and mapped to ``[-1, 1]`` by :mod:`gan_tf.data.user`. The run's
        ``dataset`` becomes the ``python:...`` name that describes it (what was
        passed is in ``run.json``), so a resume must pass the same data again, and
        a resume with other data is refused. A ``tf.data.Dataset`` is read again
        every epoch, shuffled by the run's seed: resume is exact when your pipeline
        is deterministic, and continues with the data as given otherwise.
      generator, discriminator: your own Keras networks instead of the variant's
        (both or neither; see :func:`gan_tf.build.build_gan` for the signatures).
        ``config.model`` still picks the defaults (and ``conditional``). Pass
        networks of the same architecture again to resume.
      callbacks: ``keras.callbacks.Callback`` objects (``self.model`` is the
        :class:`~gan_tf.gan.GAN`; train, epoch and batch hooks; epochs 0-based as
        in ``fit``; setting ``model.stop_training`` ends the run after saving a
        checkpoint, and rerunning the command continues it), or legacy objects
        with ``on_epoch_end(run, epoch, logs)`` (see :class:`Callback`). They run
        on the chief.
      verbose: 1 shows a progress bar and messages, 0 is silent.
      strategy: a ``tf.distribute.Strategy`` to use instead of building the one
        ``config.strategy`` names (e.g. a MirroredStrategy over chosen devices).
      restart: start again: move everything in ``output_dir`` to a new sibling
        ``<output_dir>.moved-N`` first (nothing is deleted).

    Returns:
      A summary: ``run_dir``, ``start_epoch``, ``epoch``, ``step``,
      ``steps_per_epoch``, ``already_finished``, ``changes`` (the fields changed
      on resume), the last epoch's ``metrics``, the watchdog's ``events`` and
      ``moved_to`` (``restart``).

    Raises:
      ConfigError: a run directory holding a different run, networks with the wrong
        signature, or a batch the data or replicas cannot serve.
      DataNotFoundError: no source provides the dataset.
      CheckpointError: the directory holds a run but no intact checkpoint.
      RunWriteError: a checkpoint or log could not be written (the last checkpoint
        is kept).
      TrainingDivergedError: the watchdog stopped the run (the last checkpoint is kept).
      TrainingInterrupted: SIGTERM or Ctrl-C, after saving a checkpoint.
      RunLockedError: another process is training ``output_dir`` (see
        :mod:`gan_tf.runlock`; reading a running run needs no lock).
    """
    run_dir = os.path.expanduser(output_dir)
    strategy = strategy or distribute.make_strategy(config.strategy, tpu=config.tpu)
    chief = distribute.is_chief(strategy)
    with runlock.hold(run_dir, enabled=chief) as lock:  # one training per run directory
        return _train_locked(
            config, run_dir, (generator, discriminator), dataset, callbacks, verbose, strategy,
            restart, lock,
        )  # fmt: skip


def _train_locked(
    config, run_dir, networks, handed, callbacks, verbose, strategy, restart, lock
) -> dict:
    """:func:`train` while holding the run directory's lock (``lock``: ``None`` on a
    worker that is not the chief)."""
    generator, discriminator = networks
    custom = generator is not None or discriminator is not None
    config, handed = _named_by(config, handed)
    spec = models.get_model(config.model)  # the variant, resolved once
    chief = distribute.is_chief(strategy)
    verbose = verbose if chief else 0
    config, precision_reason, changes, memory = _checked(
        config, run_dir, spec, strategy, restart, (generator, discriminator) if custom else None
    )
    dataset, steps_per_epoch = _load_data(config, spec, handed)
    plug_state = spec.training.prepare(config, dataset)  # before anything is written
    config, timing, changes = _timed(
        config, run_dir, restart, changes, verbose,
        (dataset, steps_per_epoch, strategy, spec, plug_state,
         networks if custom else (None, None)),
    )  # fmt: skip
    gan = build_gan(
        config,
        dataset.image_shape,
        dataset.num_classes,
        total_steps=config.epochs * steps_per_epoch,
        strategy=strategy,
        generator=generator,
        discriminator=discriminator,
        spec=spec,
    )
    initialize_from_data(gan.discriminator, dataset)  # a restored checkpoint overwrites it
    with strategy.scope():
        epoch_counter = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
    progress = _Progress()
    info = _run_info(dataset, gan, custom)
    moved = rundir.move_aside(run_dir) if restart and chief else None
    if moved:
        lock.moved_to(moved)  # the lock went with the old files: lock the new directory
        _print(verbose, f"Moved the old files of {run_dir} to {moved}")
    checkpoints, _ = rundir.open_run(
        config,
        run_dir,
        gan.checkpoint_objects(epoch=epoch_counter),
        info,
        strategy,
        progress=progress.variable,
    )
    start_epoch = int(epoch_counter.numpy())
    summary = {
        "run_dir": run_dir,
        "start_epoch": start_epoch,
        "steps_per_epoch": steps_per_epoch,
        "already_finished": start_epoch >= config.epochs,
        "changes": {name: (old, new) for name, old, new in changes},
        "metrics": None,
        "events": [],
        "moved_to": moved,
        "stopped_early": False,
        "timing": dataclasses.asdict(timing) if timing else None,
    }
    if summary["already_finished"]:
        return _already_finished(config, run_dir, summary, int(gan.step.numpy()), chief, verbose)
    trainer = _Trainer(
        config, run_dir, gan, dataset, steps_per_epoch, checkpoints, progress, epoch_counter,
        chief=chief, verbose=verbose, callbacks=callbacks, spec=spec, plug_state=plug_state,
    )  # fmt: skip
    if verbose:
        for line in _start_lines(
            config, run_dir, dataset, steps_per_epoch, start_epoch, progress.load().get("batch", 0),
            int(gan.step.numpy()), changes, strategy, precision_reason, memory,
        ):  # fmt: skip
            print(line, flush=True)
        if handed is not None and (note := _recipe_note(config, spec, dataset.image_shape)):
            print(note, flush=True)
    return trainer.train(summary)


def _run_info(dataset: data.ImageDataset, gan: GAN, custom: bool) -> dict:
    """What ``run.json`` records of the data and networks a run trains on."""
    return {
        "shape": list(dataset.image_shape),
        "num_classes": gan.num_classes,
        "data_classes": dataset.num_classes,
        "custom_networks": custom,
        **({"data": dataset.provenance} if dataset.provenance else {}),
    }


def live_display() -> bool:
    """Whether stdout shows Keras' live progress bar: a terminal or a Jupyter/Colab kernel
    (as ``fit`` decides); in a log file a plain line per ``log_every`` steps instead."""
    return sys.stdout.isatty() or "ipykernel" in sys.modules


def _recipe_note(config, spec, shape) -> str | None:
    """A line for data handed in from Python whose config missed the recipe measured
    for its shape (``make_config`` could not see the data), or ``None``."""
    recipe = spec.colour_recipe(shape) if config.recipe == "fast" else {}
    arch = recipe.get("arch", {})
    missed = [k for k, value in recipe.items() if k != "arch" and getattr(config, k) != value]
    missed += [f"arch {key}" for key, value in arch.items() if config.arch.get(key) != value]
    if not missed:
        return None
    shown = tuple(int(side) for side in shape)
    return (
        f"Note: {config.model} has a recipe measured for {shown} images that this config "
        f"does not use ({', '.join(missed)}); make_config(data_shape={shown}, ...) applies it"
    )


def _already_finished(config, run_dir: str, summary: dict, step: int, chief, verbose) -> dict:
    """A finished run: refresh its GIF and plots, say so, and return its summary."""
    if chief:
        with rundir.writing("the progress GIF and plots", run_dir):
            _finish(run_dir)
    epoch = summary["start_epoch"]
    _print(
        verbose,
        f"{run_dir} is already trained to epoch {epoch} (epochs={config.epochs}); raise "
        "epochs to train further.",
    )
    return {**summary, "epoch": epoch, "step": step}


def _named_by(config: TrainConfig, handed):
    """``(config, dataset)`` for data handed in from Python (checked now; the run's
    ``dataset`` becomes the name that describes it), or ``(config, None)``."""
    if handed is None:
        return config, None
    handed = user.from_object(handed, image_size=config.image_size, background=config.background)
    return dataclasses.replace(config, dataset=handed.name), handed


def _checked(config, run_dir, spec, strategy, restart, networks):
    """The checks before anything is loaded or written: the precision (``auto``
    resolved), the fields changed on resume, the same kind of networks, the replicas
    and the memory. Returns ``(config, precision_reason, changes, memory)``."""
    config, precision_reason = _choose_precision(config, None if restart else run_dir, strategy)
    if config.minutes and not restart and rundir.has_config(run_dir):
        config = budget.saved_epochs(config, rundir.load_config(run_dir))
    changes = [] if restart else rundir.resume_changes(config, run_dir)
    if not restart:
        rundir.check_same_networks(run_dir, networks is not None)
    _check_replicas(config, strategy)
    host = distribute.computes_on_host(strategy)
    memory = resources.check_memory(config, host=host, networks=networks, spec=spec)
    return config, precision_reason, changes, memory


def _timed(config, run_dir, restart, changes, verbose, run):
    """``(config, timing, changes)``: with ``--minutes`` on a new budget, ``epochs``
    timed for it (:func:`gan_tf.budget.resolve` on ``run``, the arguments after
    ``config``) and the resume changes against it; otherwise as given, ``timing`` None."""
    if not config.minutes or _same_budget(config, run_dir, restart):
        return config, None, changes
    _print(verbose, f"Timing the train step for --minutes={config.minutes:g} ...")
    resumed = not restart and rundir.has_config(run_dir)  # its widths: _checked's
    config, timing = budget.resolve(config, *run, resumed=resumed)
    _print(verbose, timing.describe())
    return config, timing, [] if restart else rundir.resume_changes(config, run_dir)


def _same_budget(config, run_dir: str, restart: bool) -> bool:
    """Whether ``run_dir`` holds a run trained with ``config.minutes`` (its epochs were
    chosen then: the same command resumes the same schedule without timing again)."""
    if restart or not rundir.has_config(run_dir):
        return False
    return rundir.load_config(run_dir).minutes == config.minutes


def _start_lines(
    config, run_dir, dataset, steps_per_epoch, start_epoch, batch, step, changes, strategy,
    precision_reason, memory,
) -> list[str]:  # fmt: skip
    """What a (resumed) run says before its first step: where it resumes, what changed,
    the devices, the memory estimate and what it trains."""
    lines = []
    if start_epoch or batch:
        inside = f", batch {batch}/{steps_per_epoch} of epoch {start_epoch + 1}" if batch else ""
        lines.append(f"Resuming {run_dir} from epoch {start_epoch}{inside}, step {step}")
    if changes:
        listed = ", ".join(f"{name} {old} -> {new}" for name, old, new in changes)
        lines.append(f"Changed on resume: {listed} from epoch {start_epoch + 1}")
    lines.append(distribute.describe_devices(strategy, f"{config.precision} ({precision_reason})"))
    lines.append(_memory_note(*memory))
    lines.append(
        f"Training {config.model} on {dataset.name} ({dataset.num_examples} "
        f"examples {'x'.join(map(str, dataset.image_shape))} from {dataset.source}), "
        f"{steps_per_epoch} steps/epoch, epochs {start_epoch + 1}..{config.epochs}"
        + _replicas_note(strategy)
    )
    return lines


class _Progress:
    """Where the run is inside an epoch and what its rollbacks did, as one JSON
    string variable in the checkpoint (older checkpoints lack it: an epoch start)::

        {"batch": batches done of the current epoch, "totals"/"window": metric sums
         of the epoch and of the losses.csv window, "window_steps", "seconds",
         "rollbacks": rollbacks so far (the learning rates are x0.5 per rollback)}
    """

    def __init__(self):
        with tf.init_scope():  # a host variable, outside any strategy
            self.variable = tf.Variable("{}", dtype=tf.string, trainable=False, name="progress")

    def load(self) -> dict:
        return json.loads(self.variable.numpy().decode("utf-8") or "{}")

    def store(self, **state) -> None:
        self.variable.assign(json.dumps(state))


class _StopSignals:
    """While active, SIGTERM and Ctrl-C (SIGINT) ask training to stop at the next
    step, after saving a checkpoint; a second Ctrl-C interrupts at once. Signal
    handlers exist only in the main thread; elsewhere this does nothing."""

    received: str | None = None

    def __enter__(self):
        self._previous = {}
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGINT):
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.received and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.received = signal.Signals(signum).name

    def __exit__(self, *exc):
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        return False


class _RolledBack(Exception):
    """The watchdog rolled the run back to an earlier checkpoint (internal)."""


class _StoppedByCallback(Exception):
    """A callback set ``stop_training`` inside an epoch; a step checkpoint is saved (internal)."""


MAX_ROLLBACKS = 3
ROLLBACK_LR_FACTOR = 0.5


class _Trainer:
    """The loop's state across epochs: the GAN, its checkpoints, the watchdog and
    the epoch's position (see :func:`train`)."""

    def __init__(
        self, config, run_dir, gan, dataset, steps_per_epoch, checkpoints, progress,
        epoch_counter, *, chief, verbose, callbacks, spec, plug_state=None,
    ):  # fmt: skip
        self.config, self.run_dir, self.gan, self.dataset = config, run_dir, gan, dataset
        self.steps_per_epoch, self.checkpoints, self.progress = (
            steps_per_epoch,
            checkpoints,
            progress,
        )
        self.epoch_counter, self.chief, self.verbose = epoch_counter, chief, verbose
        self.events, self.stop = [], _StopSignals()
        self.rollbacks = progress.load().get("rollbacks", 0)
        self._apply_learning_rates()
        self.plug, self.plug_state = spec.training, plug_state  # the variant's own training
        self.picture = _EpochPicture(config, gan, dataset) if chief else None
        self.evaluator = _make_evaluator(config, dataset) if chief else None
        self.writer = (
            tf.summary.create_file_writer(os.path.join(run_dir, "logs")) if chief else None
        )
        self.throughput = summaries.Throughput(
            config.batch_size * config.n_critic, int(gan.step.numpy())
        )
        self.profiler = summaries.Profiler(
            config.profile_steps if chief else "", os.path.join(run_dir, "logs")
        )
        self.live = Run(
            run_dir, config, gan.sampling_generator, dataset.image_shape, gan.num_classes
        )
        self.live.gan = gan
        self.callbacks = keras.callbacks.CallbackList(
            [c if isinstance(c, keras.callbacks.Callback) else _EpochEndAdapter(c, self.live)
             for c in (callbacks if chief else ())],
            model=gan, epochs=config.epochs, steps=steps_per_epoch, verbose=0,
        )  # fmt: skip
        gan.stop_training = False
        self.watchdog = self._new_watchdog()
        # only the chief evaluates: what it alone sees cannot stop or roll back the others
        self.multi_worker = isinstance(gan.strategy, tf.distribute.MultiWorkerMirroredStrategy)
        # --minutes: (steps, seconds) of this process's steps after warm-up, the training
        # seconds of the epochs so far, and the last re-plan
        self.paced, self.replanned = (0, 0.0), None
        self.spent = _spent_seconds(run_dir) if config.minutes else 0.0

    def train(self, summary: dict) -> dict:
        """Trains the remaining epochs (SIGTERM/Ctrl-C, rollbacks and callbacks'
        ``stop_training`` handled), writes the GIF and plots; returns ``summary``
        completed with the final epoch, step, metrics and watchdog events."""
        gan, epoch_counter = self.gan, self.epoch_counter
        if self.writer is not None and (int(gan.step.numpy()) == 0 or summary["changes"]):
            with rundir.writing(TENSORBOARD_LOGS, self.run_dir, tensorflow=True):
                summaries.write_hparams(self.writer, self.config, self.run_dir)
        with _StopSignals() as stop:
            self.stop = stop
            self.callbacks.on_train_begin()
            while int(epoch_counter.numpy()) < self.config.epochs and not gan.stop_training:
                try:
                    summary["metrics"] = self.run_epoch()
                except _RolledBack:
                    continue
                except _StoppedByCallback:
                    break
            self.callbacks.on_train_end(summary["metrics"])
        self.profiler.stop()
        if self.chief:
            with rundir.writing("the progress GIF and plots", self.run_dir):
                _finish(self.run_dir)
        epoch, step = int(epoch_counter.numpy()), int(gan.step.numpy())
        stopped = " (a callback stopped it; rerun the command to continue)" * gan.stop_training
        _print(self.verbose, f"Done: {self.run_dir} (epoch {epoch}, step {step}){stopped}")
        summary.update(
            events=self.events, stopped_early=bool(gan.stop_training), replanned=self.replanned
        )
        return {**summary, "epoch": epoch, "step": step}

    def _replan(self, epoch: int, seconds: float) -> TrainConfig:
        """``--minutes`` after each epoch: the run's length re-fitted to what is left of
        the budget at the pace the loop has kept (after its first calls), which a CPU
        past its turbo window or a loaded machine sets lower than the timing before
        the run (:func:`gan_tf.budget.replan`); ``config.json`` and the decay follow."""
        self.spent += seconds
        if self.paced[0] < budget.MIN_PACED_STEPS:  # too few steps yet to tell
            return self.config
        pace = self.paced[1] / self.paced[0]
        epochs = budget.replan(
            self.config.minutes,
            self.spent,
            pace,
            self.steps_per_epoch,
            epoch,
            self.config.max_epochs,
        )
        self.replanned = {"seconds_per_step": pace, "epochs": epochs}
        if epochs != self.config.epochs:
            _print(
                self.verbose,
                f"--minutes={self.config.minutes:g}: {1000 * pace:.0f} ms a step so far, "
                f"{self.spent / 60:.1f} min spent, so epochs {self.config.epochs} -> {epochs}",
            )
            self.config = dataclasses.replace(self.config, epochs=epochs)
            self.gan.plan.replan(epochs * self.steps_per_epoch)
            if self.chief:
                rundir.save_config(self.config, self.run_dir)
        return self.config

    def _new_watchdog(self) -> Watchdog:
        record = rundir.best_record(self.run_dir) if self.chief else None
        best = (record["value"], record["step"]) if record else None
        return Watchdog(
            divergence_loss=self.config.divergence_loss,
            saturation_steps=self.config.saturation_steps,
            sigmoid_outputs=self.gan.loss_pair.sigmoid_outputs,
            min_diversity=self.config.min_diversity,
            worse_evals=self.config.worse_evals,
            best=best,
        )

    def _apply_learning_rates(self) -> None:
        rundir.apply_learning_rates(
            self.config,
            self.gan.generator_optimizer,
            self.gan.discriminator_optimizer,
            scale=ROLLBACK_LR_FACTOR**self.rollbacks,
        )

    def run_epoch(self) -> dict:
        """Trains the next epoch (from where the checkpoint left it) and writes its
        outputs and checkpoints; returns its metrics row."""
        config, gan = self.config, self.gan
        epoch = int(self.epoch_counter.numpy()) + 1
        _print(self.verbose, f"Epoch {epoch}/{config.epochs}")
        self.callbacks.on_epoch_begin(epoch - 1)
        metrics = self._train_steps(epoch)
        if config.minutes:
            config = self._replan(epoch, metrics["seconds"])
        self.epoch_counter.assign(epoch)
        self.progress.store(rollbacks=self.rollbacks)
        step = int(gan.step.numpy())
        due = epoch % config.checkpoint_every == 0 or epoch == config.epochs
        if not self.chief:  # workers other than the chief only train (and join every save)
            if due:
                self.checkpoints.save(epoch, step)
            self._stop_if_asked(epoch, step, saved=due)
            return metrics
        own = self.plug.epoch_metrics(self.plug_state, gan)  # the variant's own scores
        if own:
            metrics.update(own)
            _print(self.verbose, "  " + ", ".join(f"{k} {v:.4g}" for k, v in own.items()))
        metrics.update(
            _epoch_outputs(
                self.run_dir, epoch, config, gan, self.picture, self.evaluator, metrics,
                self.writer, self.verbose,
            )
        )  # fmt: skip
        with rundir.writing("metrics.csv", self.run_dir):
            rundir.append_csv(
                os.path.join(self.run_dir, "metrics.csv"), {"epoch": epoch, **metrics}
            )
        saved = due or gan.stop_training  # a callback's stop keeps the epoch
        if saved:
            self.checkpoints.save(epoch, step)
        events = []
        if "diversity" in metrics:
            events.append(self.watchdog.check_diversity(metrics["diversity"], step, epoch))
        primary = primary_metric(metrics)
        if primary:
            event, best = self.watchdog.check_eval(
                primary[0], metrics[primary[0]], primary[1], step, epoch
            )
            events.append(event)
            if best and not self.multi_worker:  # a multi-worker save needs every worker
                self.checkpoints.save_best(epoch, step, primary[0], metrics[primary[0]])
        self.callbacks.on_epoch_end(epoch - 1, dict(metrics))
        if gan.stop_training and not saved:  # the stop came from on_epoch_end
            self.checkpoints.save(epoch, step)
            saved = True
        for event in events:
            if event is not None:
                self._handle(event, chief_only=True)
        self._stop_if_asked(epoch, step, saved=saved)
        return metrics

    def _train_steps(self, epoch: int) -> dict:
        """Runs the epoch's train steps from the checkpointed position; returns the
        epoch's step, seconds and mean metrics."""
        config, gan, names = self.config, self.gan, self.gan.metric_names
        state = self.progress.load()
        start = min(state.get("batch", 0), self.steps_per_epoch)
        totals = {key: state.get("totals", {}).get(key, 0.0) for key in names}
        window = {key: state.get("window", {}).get(key, 0.0) for key in names}
        window_steps, seconds = state.get("window_steps", 0), state.get("seconds", 0.0)
        interactive = bool(self.verbose) and live_display()
        progbar = keras.utils.Progbar(
            self.steps_per_epoch, verbose=int(interactive), stateful_metrics=names
        )
        total_steps, looped = config.epochs * self.steps_per_epoch, config.steps_per_call > 1
        losses_csv, started = os.path.join(self.run_dir, "losses.csv"), time.perf_counter()
        batches = self.plug.batches(self.plug_state, self.dataset, config, epoch)
        if batches is None:  # the plain loop's (most variants)
            batches = data.batches(
                self.dataset, config.batch_size * config.n_critic, seed=config.seed, epoch=epoch
            )
        batches = batches.take(self.steps_per_epoch)
        if start:
            batches = batches.skip(start)
        iterator = iter(
            distribute.distribute_dataset(gan.strategy, batches, chunks=config.n_critic)
        )
        self.throughput.restart(int(gan.step.numpy()))  # not the epoch-end work before
        index = start - 1
        paced_from, warmup = None, 0 if self.paced[0] else budget.WARMUP_CALLS
        for calls, count in enumerate(
            _call_sizes(self.steps_per_epoch - start, config.steps_per_call)
        ):
            if calls == warmup:  # this process's first calls trace the step: not paced
                paced_from = (time.perf_counter(), index + 1)
            self.callbacks.on_train_batch_begin(index + 1)
            outputs = tf.nest.map_structure(np.asarray, gan.train_steps(iterator, count, looped))
            step = int(gan.step.numpy()) - count
            self.profiler.after(step + count)
            for call_index in range(count):
                index, step = index + 1, step + 1
                values = {key: float(outputs[key][call_index]) for key in names}
                event = self.watchdog.check_step(values, step, epoch)
                if event is not None:
                    self._handle(event)
                for key in names:
                    totals[key] += values[key]
                    window[key] += values[key]
                window_steps += 1
                progbar.update(index + 1, list(values.items()))
                if window_steps == config.log_every or index + 1 == self.steps_per_epoch:
                    means = {key: window[key] / window_steps for key in names}
                    self._log_window(epoch, step, total_steps, means, interactive, losses_csv)
                    window, window_steps = dict.fromkeys(names, 0.0), 0
            self.callbacks.on_train_batch_end(index, values)  # once per call, as fit does
            every = config.checkpoint_every_steps
            crossed = every and step // every > (step - count) // every
            asked = self.stop.received or gan.stop_training
            if (asked or crossed) and index + 1 < self.steps_per_epoch:
                self.progress.store(
                    batch=index + 1,
                    totals=totals,
                    window=window,
                    window_steps=window_steps,
                    seconds=seconds + time.perf_counter() - started,
                    rollbacks=self.rollbacks,
                )
                self.checkpoints.save_step(epoch - 1, step)
                self._stop_if_asked(epoch - 1, step, saved=True, batch=index + 1)
                if gan.stop_training:
                    raise _StoppedByCallback()
        if paced_from and index + 1 > paced_from[1]:
            steps, elapsed = index + 1 - paced_from[1], time.perf_counter() - paced_from[0]
            self.paced = (self.paced[0] + steps, self.paced[1] + elapsed)
        return {
            "step": int(gan.step.numpy()),
            "seconds": round(seconds + time.perf_counter() - started, 3),
            **{key: totals[key] / self.steps_per_epoch for key in names},
        }

    def _log_window(self, epoch, step, total_steps, means, interactive, losses_csv) -> None:
        if self.verbose and not interactive:
            listed = ", ".join(f"{key} {value:.4g}" for key, value in means.items())
            print(f"epoch {epoch} step {step}/{total_steps}: {listed}", flush=True)
        if self.writer is not None:  # the chief
            rate = self.throughput.rate(step)
            extra = {**summaries.learning_rates(self.gan), "images_per_second": rate}
            with rundir.writing(TENSORBOARD_LOGS, self.run_dir, tensorflow=True):
                with self.writer.as_default(step=step):
                    for key, value in {**means, **extra}.items():
                        if value is not None:
                            tf.summary.scalar(f"train/{key}", value)
            with rundir.writing("losses.csv", self.run_dir):
                rundir.append_csv(losses_csv, {"epoch": epoch, "step": step, **means})

    def _stop_if_asked(self, epoch: int, step: int, saved: bool, batch: int = 0) -> None:
        """After SIGTERM/Ctrl-C: saves a step checkpoint unless one was just saved,
        then raises :class:`TrainingInterrupted`."""
        if not self.stop.received:
            return
        if not saved:
            self.checkpoints.save_step(epoch, step)
        where = f"epoch {epoch + 1}, batch {batch}" if batch else f"end of epoch {epoch}"
        raise TrainingInterrupted(
            f"{self.stop.received} at step {step} ({where}): saved a checkpoint in "
            f"{self.checkpoints.directory}; rerun the same command to resume from it"
        )

    def _handle(self, event: Event, chief_only: bool = False) -> None:
        """Reports ``event`` once (stdout, run.json, TensorBoard) and acts on it as
        ``on_divergence`` says: returns (warn), raises TrainingDivergedError (stop)
        or rolls back and raises :class:`_RolledBack`."""
        action, note, target = self.config.on_divergence, "", None
        if event.kind == "nonfinite" and action == "warn":
            action, note = "stop", " (NaN/inf weights cannot train on)"
        if chief_only and self.multi_worker and action != "warn":
            action, note = "warn", " (multi_worker: only the chief evaluates)"
        if action == "rollback" and self.rollbacks >= MAX_ROLLBACKS:
            action, note = "stop", f" (after {MAX_ROLLBACKS} rollbacks)"
        if action == "rollback":
            target = self.checkpoints.newest_before(event.since)
            if target is None:
                action, note = "stop", f" (no checkpoint from before step {event.since})"
        done = {
            "warn": f"training goes on{note or ' (on_divergence=warn)'}",
            "stop": f"stopped{note}",
            "rollback": f"rolling back to {target and os.path.relpath(target, self.run_dir)} "
            f"with the learning rates x{ROLLBACK_LR_FACTOR ** (self.rollbacks + 1):g}",
        }[action]
        record = {**dataclasses.asdict(event), "action": action}
        if target:
            record["checkpoint"] = os.path.relpath(target, self.run_dir)
        self.events.append(record)
        line = f"{event.message} at step {event.step} (epoch {event.epoch})"
        if self.chief:
            rundir.record_event(self.run_dir, record)
            with rundir.writing(TENSORBOARD_LOGS, self.run_dir, tensorflow=True):
                with self.writer.as_default(step=event.step):
                    tf.summary.text("watchdog", f"{event.kind}: {line}; {done}")
                self.writer.flush()
        if action != "stop" and self.chief:  # a stop says it in its error
            print(f"warning: watchdog: {line}; {done}", file=sys.stderr, flush=True)
        if action == "warn":
            return
        if action == "stop":
            advice = "lower learning_rate" + (
                ""
                if self.config.on_divergence == "rollback"
                else ", or rerun with on_divergence=rollback"
            )
            raise TrainingDivergedError(
                f"{line}; stopped{note}: {advice}; the checkpoints saved before are intact",
                "learning_rate",
                "on_divergence",
            )
        self._roll_back(target)

    def _roll_back(self, target: str) -> None:
        rollbacks = max(self.rollbacks, self.progress.load().get("rollbacks", 0)) + 1
        self.checkpoints.restore_from(target)
        step, epoch = int(self.gan.step.numpy()), int(self.epoch_counter.numpy())
        state = self.progress.load()
        self.rollbacks = rollbacks
        self.progress.store(**{**state, "rollbacks": rollbacks})
        if self.chief:
            with rundir.writing("the rolled-back run", self.run_dir):
                self.checkpoints.discard_after(step)
                rundir.drop_outputs_after(self.run_dir, epoch, step)
        self._apply_learning_rates()
        self.watchdog = self._new_watchdog()
        raise _RolledBack()


def _memory_note(estimate: resources.MemoryEstimate, available: int | None) -> str:
    where = "" if estimate.host else " (weights and activations on the accelerator)"
    free = f" of {available / resources.GIB:.1f} GiB free" if available else ""
    return f"Memory: about {estimate.describe()}{where}{free}"


def _choose_precision(config: TrainConfig, run_dir, strategy) -> tuple[TrainConfig, str]:
    """``config`` with a concrete precision, and why: ``auto`` becomes the precision a
    run in ``run_dir`` (``None``: a new run) started with, or else the one the
    hardware runs fastest."""
    if config.precision != "auto":
        return config, "set explicitly"
    if run_dir and rundir.has_config(run_dir):
        precision, reason = rundir.load_config(run_dir).precision, "auto: kept from the run's start"
    else:
        precision, reason = distribute.resolve_precision("auto", strategy)
        reason = f"auto: {reason}"
    return dataclasses.replace(config, precision=precision), reason


def _epoch_outputs(run_dir, epoch, config, gan, picture, evaluator, metrics, writer, verbose):
    """The epoch's picture, evaluation (when due) and TensorBoard summaries; returns
    the metrics they add to the epoch's row."""
    with rundir.writing(f"epoch {epoch}'s picture", run_dir):
        image, extra = picture.write(
            os.path.join(run_dir, "samples", f"epoch_{epoch:04d}.png"), epoch
        )
    evaluated = {}
    if evaluator is not None and (epoch % config.eval_every == 0 or epoch == config.epochs):
        _print(verbose, f"Evaluating epoch {epoch} ({', '.join(evaluator.metrics)})")
        evaluated = evaluate_generator(evaluator, gan, config)
        _print(verbose, "  " + ", ".join(f"{k} {v:.4g}" for k, v in evaluated.items()))
    with rundir.writing(TENSORBOARD_LOGS, run_dir, tensorflow=True):
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


def _make_evaluator(config: TrainConfig, dataset: data.ImageDataset):
    """The ``--eval_every`` evaluator (reference set and networks loaded once), or None.
    Data handed in from Python is its own reference (its first ``eval_samples``)."""
    if not config.eval_every:
        return None
    reference = None
    if dataset.provenance is not None:
        reference = user.reference_arrays(dataset, config.eval_samples)
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
        fid_weights=config.fid_weights,
        fid_resize=config.fid_resize,
        inception_weights=config.inception_weights,
        seed=config.seed,
        reference=reference,
    )


def evaluate_generator(evaluator, gan: GAN, config: TrainConfig) -> dict[str, float]:
    """Scores ``config.eval_samples`` samples of ``gan`` (EMA generator if kept).

    The noise is the same every epoch and comes from its own stateless seed, so
    evaluating neither changes training nor breaks exact resume.
    """
    started = time.time()
    noise = latent_noise(
        tf.random.stateless_normal(
            [config.eval_samples, config.latent_dim], seed=[config.seed, EVAL_NOISE_SEED]
        ),
        config.latent_distribution,
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


def _spent_seconds(run_dir: str) -> float:
    """The training seconds of the epochs in ``metrics.csv`` (those up to the restored
    checkpoint: later rows were dropped on resume)."""
    path = os.path.join(run_dir, "metrics.csv")
    if not os.path.exists(path):
        return 0.0
    with open(path, encoding="utf-8") as handle:
        return sum(float(row["seconds"]) for row in csv.DictReader(handle) if row.get("seconds"))


def _call_sizes(steps: int, steps_per_call: int) -> list[int]:
    """Steps per train call for an epoch of ``steps``: ``steps // steps_per_call``
    fused calls, then one call of the remainder (the same looped trace)."""
    fused, rest = divmod(steps, steps_per_call)
    return [steps_per_call] * fused + ([rest] if rest else [])
