"""The training loop: data -> train steps -> logs, pictures, checkpoints, resume.

:func:`train` runs a :class:`~gan_tf.config.TrainConfig` in its run directory::

    RUN/
      config.json            the resolved config
      run.json               what the data fixed: sample shape, number of classes
      checkpoints/           tf.train.CheckpointManager: networks, optimizers, step, epoch, RNG
      samples/epoch_0001.png fixed-noise grid (class rows for conditional models; a
                             scatter of real vs generated points for 2-D toys) per epoch
      progress.gif           the epoch pictures as an animation
      metrics.csv            one row per epoch (mean losses, D scores, seconds; toy mode
                             metrics; --eval_every metrics on the epochs they ran)
      metrics.png            metric-vs-epoch panels (evaluation / toy mode metrics)
      losses.csv             one row per --log_every steps (window means)
      losses.png             loss and D-score curves from losses.csv
      eval.json              written by experiments/evaluate.py
      export/                written by experiments/export.py (gan_tf.run.Run.export)
      animations/            written by experiments/animate.py
      logs/                  TensorBoard scalars and sample images

Rerunning on the same directory resumes from the latest checkpoint; nothing
after that checkpoint is kept, so an interrupted run continues exactly.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import json
import math
import os
import time

import keras
import numpy as np
import tensorflow as tf

from gan_tf import data, distribute, evaluation, losses, visualize
from gan_tf.config import ARCHITECTURE_FIELDS, TrainConfig, load_config, save_config
from gan_tf.eval import toy_mode_metrics
from gan_tf.files import write_json
from gan_tf.gan import GAN, StepOptions
from gan_tf.models import get_model

__all__ = [
    "TrainingDivergedError",
    "build_gan",
    "build_networks",
    "fixed_noise",
    "generate_images",
    "restore_generator",
    "run_info",
    "train",
]

TOY_SAMPLES = 2500  # points per epoch scatter and mode metrics
EVAL_NOISE_SEED = 0xE7A1  # stateless seed of the --eval_every samples
# metrics.csv columns drawn in metrics.png (those present in the run)
PLOTTED_METRICS = (*evaluation.OUTPUT_NAMES, "modes_covered", "high_quality")
TOY_LIMITS = {"ring8": 3.0, "grid25": 6.0}


class TrainingDivergedError(RuntimeError):
    """A loss became NaN or infinite."""


@contextlib.contextmanager
def dtype_policy(name: str):
    """Builds layers under the Keras dtype policy ``name`` (``float32``,
    ``mixed_bfloat16``, ``mixed_float16``), restoring the previous global policy."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def _float32_outputs(model: keras.Model) -> keras.Model:
    """``model`` with its output cast to float32 (mixed precision: losses, penalties and
    sampled images stay float32 whatever the layers compute in)."""
    output = keras.layers.Activation("linear", dtype="float32", name="float32_output")(
        model.outputs[0]
    )
    return keras.Model(model.inputs, output, name=model.name)


def build_networks(config: TrainConfig, shape, num_classes=None):
    """The generator and discriminator ``config`` describes, for samples of ``shape``,
    built under ``config.precision`` (mixed policies compute in 16 bits, keep float32
    variables and return float32 outputs)."""
    spec = get_model(config.model)
    conditional = {"num_classes": num_classes} if spec.conditional else {}
    with dtype_policy(config.precision):
        generator = spec.build_generator(config.latent_dim, tuple(shape), **conditional)
        discriminator = spec.build_discriminator(
            tuple(shape),
            spectral_norm=config.spectral_norm,
            dropout=config.d_dropout,
            **conditional,
        )
    if config.precision != "float32":
        generator, discriminator = _float32_outputs(generator), _float32_outputs(discriminator)
    return generator, discriminator


def _optimizer(config: TrainConfig, learning_rate: float, decay_steps: int):
    if config.lr_decay == "linear":
        learning_rate = keras.optimizers.schedules.PolynomialDecay(
            learning_rate, decay_steps=max(decay_steps, 1), end_learning_rate=0.0
        )
    if config.optimizer == "rmsprop":
        optimizer = keras.optimizers.RMSprop(learning_rate=learning_rate)
    else:
        optimizer = keras.optimizers.Adam(
            learning_rate=learning_rate, beta_1=config.beta_1, beta_2=config.beta_2
        )
    if config.precision == "mixed_float16":  # dynamic loss scaling against float16 underflow
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


def build_gan(
    config: TrainConfig, shape, num_classes=None, total_steps: int = 1, strategy=None
) -> GAN:
    """Builds the networks, optimizers and train step that ``config`` describes.

    Args:
      config: the run's config.
      shape: the shape of one example, e.g. ``(28, 28, 1)`` or ``(2,)``.
      num_classes: classes of the data (used by conditional models).
      total_steps: generator steps of the whole run (for ``lr_decay=linear``).
      strategy: the ``tf.distribute.Strategy`` whose scope holds every variable
        (default: the current one).
    """
    keras.utils.set_random_seed(config.seed)
    spec = get_model(config.model)
    if spec.conditional and not num_classes:
        raise ValueError(
            f"--model={config.model} is conditional and needs labelled data; "
            f"'{config.dataset}' has no class labels"
        )
    with (strategy or tf.distribute.get_strategy()).scope():
        return _build_gan(config, shape, num_classes, total_steps)


def _build_gan(config: TrainConfig, shape, num_classes, total_steps: int) -> GAN:
    spec = get_model(config.model)
    loss = losses.get_loss(config.loss)
    generator, discriminator = build_networks(config, shape, num_classes)
    d_learning_rate = config.d_learning_rate or config.learning_rate
    return GAN(
        generator=generator,
        discriminator=discriminator,
        generator_optimizer=_optimizer(config, config.learning_rate, total_steps),
        discriminator_optimizer=_optimizer(config, d_learning_rate, total_steps * config.n_critic),
        generator_loss=loss.generator_loss,
        discriminator_loss=loss.discriminator_loss,
        latent_dim=config.latent_dim,
        num_classes=num_classes if spec.conditional else None,
        seed=config.seed,
        jit_compile=config.jit_compile,
        options=StepOptions(
            n_critic=config.n_critic,
            gp_weight=config.gp_weight,
            clip_value=config.clip_value or None,
            label_smoothing=config.label_smoothing,
            label_flip=config.label_flip,
            instance_noise=config.instance_noise,
            ema_decay=config.ema or None,
            sigmoid_outputs=loss.sigmoid_outputs,
            simultaneous=config.update == "simultaneous",
        ),
    )


def fixed_noise(config: TrainConfig, count: int) -> tf.Tensor:
    """The noise behind every epoch picture: the same for the whole run and after resume."""
    return tf.random.stateless_normal([count, config.latent_dim], seed=[config.seed, 0x5EED])


def class_rows(noise, num_classes: int) -> tuple[tf.Tensor, tf.Tensor]:
    """Inputs of a class-row grid: ``noise`` ``[columns, latent_dim]`` repeated once per
    class, and labels ``[num_classes * columns]`` (row ``k`` is class ``k``)."""
    return tf.tile(noise, [num_classes, 1]), tf.repeat(tf.range(num_classes), noise.shape[0])


class _EpochPicture:
    """Writes the per-epoch picture (and, for toys, the mode metrics) from fixed noise."""

    def __init__(self, config: TrainConfig, gan: GAN, dataset: data.ImageDataset):
        self.config, self.gan, self.dataset = config, gan, dataset
        self.toy = data.is_toy(config.dataset)
        self.labels = None
        if self.toy:
            self.noise = fixed_noise(config, TOY_SAMPLES)
            if gan.conditional:
                self.labels = tf.range(TOY_SAMPLES) % gan.num_classes
            self.real = np.stack(
                [
                    np.asarray(x[0] if isinstance(x, tuple) else x)
                    for x in dataset.examples.take(TOY_SAMPLES)
                ]
            )
        elif gan.conditional:  # one row per class, the same noise down each column
            self.noise, self.labels = class_rows(
                fixed_noise(config, config.grid_size), gan.num_classes
            )
        else:
            self.noise = fixed_noise(config, config.grid_size**2)

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


def _check_resumable(config: TrainConfig, config_path: str) -> None:
    if not os.path.exists(config_path):
        return
    saved = load_config(config_path)
    changed = [
        f"--{name}={getattr(saved, name)} (now {getattr(config, name)})"
        for name in ARCHITECTURE_FIELDS
        if getattr(saved, name) != getattr(config, name)
    ]
    if changed:
        raise ValueError(
            f"{config.output_dir} holds a run with {', '.join(changed)}; pass the same values "
            "to resume it or choose another --output_dir"
        )


class _Checkpoints:
    """Restores the run's latest checkpoint and saves new ones.

    Every worker saves (a multi-worker save may need all of them), but only the
    chief into ``RUN/checkpoints``; the others write into a scratch directory
    that is deleted straight after. All workers restore the chief's checkpoints
    (``RUN`` must be on a file system every worker sees).
    """

    def __init__(self, config: TrainConfig, checkpoint: tf.train.Checkpoint, worker: str):
        self.directory = os.path.join(config.output_dir, "checkpoints")
        self.scratch = os.path.join(self.directory, f".{worker}") if worker else None
        self.checkpoint = checkpoint
        self.manager = tf.train.CheckpointManager(
            checkpoint, self.scratch or self.directory, max_to_keep=config.keep_checkpoints
        )

    def restore(self) -> None:
        latest = tf.train.latest_checkpoint(self.directory)
        if latest:
            self.checkpoint.restore(latest).assert_existing_objects_matched()

    def save(self, epoch: int) -> None:
        self.manager.save(checkpoint_number=epoch)
        if self.scratch:
            tf.io.gfile.rmtree(self.scratch)


def _open_run(config: TrainConfig, checkpoint: tf.train.Checkpoint, run_info: dict, strategy):
    """Creates the run directory, saves the config, restores the latest checkpoint and
    drops every output of epochs after it (the chief does the writing). Returns the
    run's :class:`_Checkpoints`."""
    run_dir = config.output_dir
    chief = distribute.is_chief(strategy)
    if chief:
        for sub in ("checkpoints", "samples", "logs"):
            os.makedirs(os.path.join(run_dir, sub), exist_ok=True)
        save_config(config, os.path.join(run_dir, "config.json"))
        write_json(os.path.join(run_dir, "run.json"), run_info)
    checkpoints = _Checkpoints(config, checkpoint, "" if chief else distribute.task_id(strategy))
    checkpoints.restore()
    if not chief:
        return checkpoints
    last_epoch = int(checkpoint.epoch.numpy())
    for name in ("metrics.csv", "losses.csv"):
        _truncate_csv(os.path.join(run_dir, name), last_epoch)
    for picture in visualize.epoch_grids(run_dir):
        if int(os.path.basename(picture)[len("epoch_") : -len(".png")]) > last_epoch:
            os.remove(picture)
    return checkpoints


def _truncate_csv(path: str, last_epoch: int) -> None:
    """Keeps the rows of epochs <= last_epoch (drops un-checkpointed work)."""
    if not os.path.exists(path):
        return
    with open(path, encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        fields = reader.fieldnames or []
        rows = [row for row in reader if int(row["epoch"]) <= last_epoch]
    tmp = path + ".tmp"
    with open(tmp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, path)


def _append_csv(path: str, row: dict) -> None:
    """Appends ``row``; a row with new columns (e.g. evaluation metrics) rewrites the
    file with the union of columns, leaving earlier rows' new cells empty."""
    header, rows = [], []
    if os.path.exists(path) and os.path.getsize(path) > 0:
        with open(path, encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            header = list(reader.fieldnames or [])
            rows = list(reader)
        if set(row) <= set(header):
            with open(path, "a", newline="", encoding="utf-8") as handle:
                csv.DictWriter(handle, fieldnames=header, restval="").writerow(row)
            return
    fields = header + [name for name in row if name not in header]
    tmp = path + ".tmp"
    with open(tmp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, restval="")
        writer.writeheader()
        writer.writerows([*rows, row])
    os.replace(tmp, path)


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
    )
    examples_per_step = config.batch_size * config.n_critic
    steps_per_epoch = dataset.num_examples // examples_per_step
    if steps_per_epoch == 0:
        raise ValueError(
            f"--batch_size={config.batch_size} x --n_critic={config.n_critic} is larger than the "
            f"{dataset.num_examples} examples of '{dataset.name}'; lower --batch_size or raise "
            "--max_examples"
        )
    if config.steps_per_epoch:
        steps_per_epoch = min(steps_per_epoch, config.steps_per_epoch)
    return dataset, steps_per_epoch


def train(
    config: TrainConfig, output_dir: str | None = None, *, verbose: int = 1, strategy=None
) -> dict:
    """Trains (or resumes) the run that ``config`` describes in ``config.output_dir``.

    Nothing is written before the config is valid and the data has loaded. The
    run resumes from its latest checkpoint; with ``epochs`` at or below the
    checkpointed epoch it reports that the run is finished and returns. Under
    ``multi_worker`` every worker trains and only the chief writes files.

    Args:
      config: a validated :class:`TrainConfig` (see :func:`gan_tf.config.make_config`).
      output_dir: the run directory (default ``config.output_dir``).
      verbose: 1 shows a progress bar and messages, 0 is silent.
      strategy: a ``tf.distribute.Strategy`` to use instead of building the one
        ``config.strategy`` names (e.g. a MirroredStrategy over chosen devices).

    Returns:
      A summary: ``run_dir``, ``start_epoch``, ``epoch``, ``step``,
      ``steps_per_epoch``, ``already_finished`` and the last epoch's ``metrics``.

    Raises:
      ValueError: invalid config, or a run directory holding a different run.
      gan_tf.data.DataNotFoundError: no source provides the dataset.
      TrainingDivergedError: a loss became NaN/inf (the last checkpoint is kept).
    """
    if output_dir is not None:
        config = dataclasses.replace(config, output_dir=output_dir)
    config.validate()
    run_dir = config.output_dir
    _check_resumable(config, os.path.join(run_dir, "config.json"))
    strategy = strategy or distribute.make_strategy(config.strategy, tpu=config.tpu)
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
    )
    picture = _EpochPicture(config, gan, dataset) if chief else None
    evaluator = _make_evaluator(config) if chief else None
    with strategy.scope():
        epoch_counter = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
    run_info = {"shape": list(dataset.image_shape), "num_classes": gan.num_classes}
    checkpoints = _open_run(config, gan.checkpoint(epoch=epoch_counter), run_info, strategy)
    start_epoch = int(epoch_counter.numpy())
    summary = {
        "run_dir": run_dir,
        "start_epoch": start_epoch,
        "steps_per_epoch": steps_per_epoch,
        "already_finished": start_epoch >= config.epochs,
        "metrics": None,
    }
    if summary["already_finished"]:
        if chief:
            _finish(run_dir)
        _print(
            verbose,
            f"{run_dir} is already trained to epoch {start_epoch} "
            f"(--epochs={config.epochs}); raise --epochs to train further.",
        )
        return {**summary, "epoch": start_epoch, "step": int(gan.step.numpy())}
    if start_epoch:
        _print(
            verbose, f"Resuming {run_dir} from epoch {start_epoch}, step {int(gan.step.numpy())}"
        )
    _print(
        verbose,
        f"Training {config.model} on {dataset.name} ({dataset.num_examples} "
        f"examples {'x'.join(map(str, dataset.image_shape))} from {dataset.source}), "
        f"{steps_per_epoch} steps/epoch, epochs {start_epoch + 1}..{config.epochs}"
        + _replicas_note(strategy),
    )

    writer = tf.summary.create_file_writer(os.path.join(run_dir, "logs")) if chief else None
    for epoch in range(start_epoch + 1, config.epochs + 1):
        _print(verbose, f"Epoch {epoch}/{config.epochs}")
        metrics = _train_epoch(gan, dataset, config, epoch, steps_per_epoch, writer, verbose)
        epoch_counter.assign(epoch)
        if not chief:  # workers other than the chief only train (and join every save)
            if epoch % config.checkpoint_every == 0 or epoch == config.epochs:
                checkpoints.save(epoch)
            continue
        image, extra = picture.write(
            os.path.join(run_dir, "samples", f"epoch_{epoch:04d}.png"), epoch
        )
        metrics.update(extra)
        evaluated = {}
        if evaluator is not None and (epoch % config.eval_every == 0 or epoch == config.epochs):
            _print(verbose, f"Evaluating epoch {epoch} ({config.eval_metrics})")
            evaluated = evaluate_generator(evaluator, gan, config)
            _print(verbose, "  " + ", ".join(f"{k} {v:.4g}" for k, v in evaluated.items()))
        with writer.as_default(step=int(gan.step.numpy())):
            for key, value in metrics.items():
                tf.summary.scalar(f"epoch/{key}", value)
            for key, value in evaluated.items():
                tf.summary.scalar(f"eval/{key}", value)
            tf.summary.image("samples", image[None])
        metrics.update(evaluated)
        writer.flush()
        _append_csv(os.path.join(run_dir, "metrics.csv"), {"epoch": epoch, **metrics})
        if epoch % config.checkpoint_every == 0 or epoch == config.epochs:
            checkpoints.save(epoch)
        summary["metrics"] = metrics
    if chief:
        _finish(run_dir)
    _print(verbose, f"Done: {run_dir} (epoch {config.epochs}, step {int(gan.step.numpy())})")
    return {**summary, "epoch": config.epochs, "step": int(gan.step.numpy())}


def _check_replicas(config: TrainConfig, strategy) -> None:
    replicas = strategy.num_replicas_in_sync
    if config.batch_size % replicas:
        raise ValueError(
            f"--batch_size={config.batch_size} does not split evenly over the {replicas} "
            f"replicas of {type(strategy).__name__}; use a multiple of {replicas}"
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
    return evaluation.Evaluator(
        config.dataset,
        config.eval_metrics,
        num_real=config.eval_samples,
        data_dir=config.data_dir,
        download=config.download,
        image_size=config.image_size,
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
    labels = (
        evaluation.class_cycle(config.eval_samples, gan.num_classes) if gan.conditional else None
    )
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


def _train_epoch(gan, dataset, config, epoch, steps_per_epoch, writer, verbose):
    """Runs one epoch of train steps; returns the epoch's step, seconds and mean metrics."""
    names = gan.metric_names
    progbar = keras.utils.Progbar(steps_per_epoch, verbose=verbose, stateful_metrics=names)
    totals, window, window_steps = dict.fromkeys(names, 0.0), dict.fromkeys(names, 0.0), 0
    total_steps = config.epochs * steps_per_epoch
    losses_csv = os.path.join(config.output_dir, "losses.csv")
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
                if writer is not None:  # the chief
                    with writer.as_default(step=step):
                        for key, value in means.items():
                            tf.summary.scalar(f"train/{key}", value)
                    _append_csv(losses_csv, {"epoch": epoch, "step": step, **means})
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
            "lower --learning_rate or change --loss; rerunning resumes from the last checkpoint"
        )
    for key in values:
        totals[key] += values[key]
        window[key] += values[key]
    return count + 1


def restore_generator(run_dir: str) -> tuple[keras.Model, TrainConfig]:
    """Loads a run's config and its generator (the EMA one if the run kept it) from the
    latest checkpoint. Conditional generators take ``[noise, labels]``.

    Raises:
      FileNotFoundError: if ``run_dir`` has no config or no checkpoint.
    """
    config_path = os.path.join(run_dir, "config.json")
    info_path = os.path.join(run_dir, "run.json")
    if not (os.path.exists(config_path) and os.path.exists(info_path)):
        raise FileNotFoundError(
            f"{run_dir} is not a gan_tf run (no config.json/run.json); pass the "
            "--output_dir of a training run"
        )
    config = load_config(config_path)
    info = run_info(run_dir)
    latest = tf.train.latest_checkpoint(os.path.join(run_dir, "checkpoints"))
    if latest is None:
        raise FileNotFoundError(f"{run_dir} has no checkpoint yet; train it first")
    generator, _ = build_networks(config, tuple(info["shape"]), info["num_classes"])
    name = "generator_ema" if config.ema else "generator"
    tf.train.Checkpoint(**{name: generator}).restore(latest).expect_partial()
    return generator, config


def run_info(run_dir: str) -> dict:
    """What a run's data fixed: ``{"shape": [...], "num_classes": int or None}``."""
    with open(os.path.join(run_dir, "run.json"), encoding="utf-8") as handle:
        return json.load(handle)


def generate_images(
    generator: keras.Model,
    num: int,
    latent_dim: int,
    *,
    seed: int = 0,
    batch_size: int = 500,
    labels=None,
) -> np.ndarray:
    """Generates ``num`` samples from seeded standard normal noise.

    Args:
      generator: from :func:`restore_generator` (or any generator).
      num: how many samples.
      latent_dim: the noise size.
      seed: seed of the noise; the same seed gives the same samples.
      batch_size: samples per forward pass.
      labels: int ``[num]`` class ids, required by conditional generators.

    Returns:
      uint8 NHWC images for image generators; float32 points for 2-D toys.
    """
    if num < 1:
        raise ValueError(f"--num must be a positive integer, got {num}")
    rng = tf.random.Generator.from_seed(seed)
    parts = []
    for start in range(0, num, batch_size):
        noise = rng.normal([min(batch_size, num - start), latent_dim])
        if labels is None:
            inputs = noise
        else:
            inputs = [noise, tf.constant(labels[start : start + len(noise)], tf.int32)]
        samples = generator(inputs, training=False).numpy()
        parts.append(visualize.to_uint8(samples) if samples.ndim == 4 else samples)
    return np.concatenate(parts)
