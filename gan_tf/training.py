"""The training loop: data -> train steps -> logs, grids, checkpoints, resume.

:func:`train` runs a :class:`~gan_tf.config.TrainConfig` in its run directory::

    RUN/
      config.json            the resolved config
      checkpoints/           tf.train.CheckpointManager: networks, optimizers, step, epoch, RNG
      samples/epoch_0001.png fixed-noise grid after every epoch
      progress.gif           the epoch grids as an animation
      metrics.csv            one row per epoch (mean losses, D scores, seconds)
      losses.csv             one row per --log_every steps (window means)
      losses.png             loss and D-score curves from losses.csv
      logs/                  TensorBoard scalars and sample images

Rerunning on the same directory resumes from the latest checkpoint; nothing
after that checkpoint is kept, so an interrupted run continues exactly.
"""

from __future__ import annotations

import csv
import math
import os
import time

import keras
import numpy as np
import tensorflow as tf

from gan_tf import data, losses, visualize
from gan_tf.config import ARCHITECTURE_FIELDS, TrainConfig, load_config, save_config
from gan_tf.gan import GAN
from gan_tf.models import get_model

__all__ = [
    "TrainingDivergedError",
    "build_gan",
    "fixed_noise",
    "generate_images",
    "restore_generator",
    "train",
]

METRIC_KEYS = ("discriminator_loss", "generator_loss", "d_real", "d_fake")
METRICS_FIELDS = ("epoch", "step", "seconds") + METRIC_KEYS
LOSSES_FIELDS = ("epoch", "step") + METRIC_KEYS


class TrainingDivergedError(RuntimeError):
    """A loss became NaN or infinite."""


def build_gan(config: TrainConfig, image_shape: tuple[int, int, int]) -> GAN:
    """Builds the networks, optimizers and train step that ``config`` describes."""
    keras.utils.set_random_seed(config.seed)
    spec = get_model(config.model)
    loss = losses.get_loss(config.loss)
    kwargs = {"label_smoothing": config.label_smoothing} if loss.uses_label_smoothing else {}

    def adam():
        return keras.optimizers.Adam(
            learning_rate=config.learning_rate, beta_1=config.beta_1, beta_2=config.beta_2
        )

    return GAN(
        generator=spec.build_generator(config.latent_dim, tuple(image_shape)),
        discriminator=spec.build_discriminator(tuple(image_shape)),
        generator_optimizer=adam(),
        discriminator_optimizer=adam(),
        generator_loss=loss.generator_loss,
        discriminator_loss=loss.discriminator_loss,
        latent_dim=config.latent_dim,
        seed=config.seed,
        discriminator_loss_kwargs=kwargs,
    )


def fixed_noise(config: TrainConfig) -> tf.Tensor:
    """The noise behind every epoch grid: the same for the whole run and after resume."""
    return tf.random.stateless_normal(
        [config.grid_size**2, config.latent_dim], seed=[config.seed, 0x5EED]
    )


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


def _open_run(config: TrainConfig, checkpoint: tf.train.Checkpoint):
    """Creates the run directory, saves the config, restores the latest checkpoint and
    drops every output of epochs after it. Returns the CheckpointManager."""
    run_dir = config.output_dir
    for sub in ("checkpoints", "samples", "logs"):
        os.makedirs(os.path.join(run_dir, sub), exist_ok=True)
    save_config(config, os.path.join(run_dir, "config.json"))
    manager = tf.train.CheckpointManager(
        checkpoint, os.path.join(run_dir, "checkpoints"), max_to_keep=config.keep_checkpoints
    )
    if manager.latest_checkpoint:
        checkpoint.restore(manager.latest_checkpoint).assert_existing_objects_matched()
    last_epoch = int(checkpoint.epoch.numpy())
    _truncate_csv(os.path.join(run_dir, "metrics.csv"), METRICS_FIELDS, last_epoch)
    _truncate_csv(os.path.join(run_dir, "losses.csv"), LOSSES_FIELDS, last_epoch)
    for grid_path in visualize.epoch_grids(run_dir):
        if int(os.path.basename(grid_path)[len("epoch_") : -len(".png")]) > last_epoch:
            os.remove(grid_path)
    return manager


def _truncate_csv(path: str, fields: tuple[str, ...], last_epoch: int) -> None:
    """Keeps the header and the rows of epochs <= last_epoch (drops un-checkpointed work)."""
    rows = []
    if os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            rows = [row for row in csv.DictReader(handle) if int(row["epoch"]) <= last_epoch]
    tmp = path + ".tmp"
    with open(tmp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, path)


def _append_csv(path: str, fields: tuple[str, ...], row: dict) -> None:
    with open(path, "a", newline="", encoding="utf-8") as handle:
        csv.DictWriter(handle, fieldnames=fields).writerow({key: row[key] for key in fields})


def _write_grid(gan: GAN, noise, config: TrainConfig, run_dir: str, epoch: int) -> np.ndarray:
    images = visualize.to_uint8(gan.generate(noise))
    grid = visualize.image_grid(images, rows=config.grid_size)
    visualize.save_image(grid, os.path.join(run_dir, "samples", f"epoch_{epoch:04d}.png"))
    return grid


def _finish(run_dir: str) -> int:
    frames = visualize.epoch_grids(run_dir)
    if frames:
        visualize.make_gif(frames, os.path.join(run_dir, "progress.gif"))
    losses_csv = os.path.join(run_dir, "losses.csv")
    if os.path.exists(losses_csv):
        visualize.plot_losses(losses_csv, os.path.join(run_dir, "losses.png"))
    return len(frames)


def _print(verbose: int, message: str) -> None:
    if verbose:
        print(message, flush=True)


def train(config: TrainConfig, *, verbose: int = 1) -> dict:
    """Trains (or resumes) the run that ``config`` describes in ``config.output_dir``.

    Nothing is written before the config is valid and the data has loaded. The
    run resumes from its latest checkpoint; with ``epochs`` at or below the
    checkpointed epoch it reports that the run is finished and returns.

    Args:
      config: a validated :class:`TrainConfig` (see :func:`gan_tf.config.make_config`).
      verbose: 1 shows a progress bar and messages, 0 is silent.

    Returns:
      A summary: ``run_dir``, ``start_epoch``, ``epoch``, ``step``,
      ``steps_per_epoch``, ``already_finished`` and the last epoch's ``metrics``.

    Raises:
      ValueError: invalid config, or a run directory holding a different run.
      gan_tf.data.DataNotFoundError: no source provides the dataset.
      TrainingDivergedError: a loss became NaN/inf (the last checkpoint is kept).
    """
    config.validate()
    run_dir = config.output_dir
    config_path = os.path.join(run_dir, "config.json")
    _check_resumable(config, config_path)
    dataset = data.load_dataset(
        config.dataset,
        data_dir=config.data_dir,
        max_examples=config.max_examples,
        image_size=config.image_size,
        download=config.download,
    )
    steps_per_epoch = dataset.num_examples // config.batch_size
    if steps_per_epoch == 0:
        data.batches(dataset, config.batch_size, seed=config.seed)  # raises the clear error
    if config.steps_per_epoch:
        steps_per_epoch = min(steps_per_epoch, config.steps_per_epoch)

    gan = build_gan(config, dataset.image_shape)
    epoch_counter = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
    manager = _open_run(config, gan.checkpoint(epoch=epoch_counter))
    start_epoch = int(epoch_counter.numpy())
    metrics_csv, losses_csv = (
        os.path.join(run_dir, name) for name in ("metrics.csv", "losses.csv")
    )
    summary = {
        "run_dir": run_dir,
        "start_epoch": start_epoch,
        "steps_per_epoch": steps_per_epoch,
        "already_finished": start_epoch >= config.epochs,
        "metrics": None,
    }
    if summary["already_finished"]:
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
        f"Training {config.model} on {dataset.name} ({dataset.num_examples} images "
        f"{'x'.join(map(str, dataset.image_shape))} from {dataset.source}), "
        f"{steps_per_epoch} steps/epoch, epochs {start_epoch + 1}..{config.epochs}",
    )

    noise = fixed_noise(config)
    writer = tf.summary.create_file_writer(os.path.join(run_dir, "logs"))
    for epoch in range(start_epoch + 1, config.epochs + 1):
        _print(verbose, f"Epoch {epoch}/{config.epochs}")
        metrics = _train_epoch(
            gan, dataset, config, epoch, steps_per_epoch, writer, losses_csv, verbose
        )
        grid = _write_grid(gan, noise, config, run_dir, epoch)
        with writer.as_default(step=int(gan.step.numpy())):
            for key in METRIC_KEYS:
                tf.summary.scalar(f"epoch/{key}", metrics[key])
            tf.summary.image("samples", grid[None])
        writer.flush()
        _append_csv(metrics_csv, METRICS_FIELDS, {"epoch": epoch, **metrics})
        epoch_counter.assign(epoch)
        if epoch % config.checkpoint_every == 0 or epoch == config.epochs:
            manager.save(checkpoint_number=epoch)
        summary["metrics"] = metrics
    _finish(run_dir)
    _print(verbose, f"Done: {run_dir} (epoch {config.epochs}, step {int(gan.step.numpy())})")
    return {**summary, "epoch": config.epochs, "step": int(gan.step.numpy())}


def _train_epoch(gan, dataset, config, epoch, steps_per_epoch, writer, losses_csv, verbose):
    """Runs one epoch of train steps; returns the epoch's mean metrics and its step/seconds."""
    progbar = keras.utils.Progbar(steps_per_epoch, verbose=verbose, stateful_metrics=METRIC_KEYS)
    totals = dict.fromkeys(METRIC_KEYS, 0.0)
    window = dict.fromkeys(METRIC_KEYS, 0.0)
    window_steps = 0
    started = time.perf_counter()
    batches = data.batches(dataset, config.batch_size, seed=config.seed, epoch=epoch)
    for index, images in enumerate(batches.take(steps_per_epoch)):
        values = {key: float(value) for key, value in gan.train_step(images).items()}
        step = int(gan.step.numpy())
        bad = [key for key, value in values.items() if not math.isfinite(value)]
        if bad:
            raise TrainingDivergedError(
                f"{', '.join(bad)} became {values[bad[0]]} at step {step} (epoch {epoch}); "
                "lower --learning_rate or change --loss; rerunning resumes from the last checkpoint"
            )
        for key in METRIC_KEYS:
            totals[key] += values[key]
            window[key] += values[key]
        window_steps += 1
        progbar.update(index + 1, list(values.items()))
        if window_steps == config.log_every or index + 1 == steps_per_epoch:
            means = {key: window[key] / window_steps for key in METRIC_KEYS}
            with writer.as_default(step=step):
                for key, value in means.items():
                    tf.summary.scalar(f"train/{key}", value)
            _append_csv(losses_csv, LOSSES_FIELDS, {"epoch": epoch, "step": step, **means})
            window, window_steps = dict.fromkeys(METRIC_KEYS, 0.0), 0
    return {
        "step": int(gan.step.numpy()),
        "seconds": round(time.perf_counter() - started, 3),
        **{key: totals[key] / steps_per_epoch for key in METRIC_KEYS},
    }


def restore_generator(run_dir: str) -> tuple[keras.Model, TrainConfig]:
    """Loads a run's config and its generator from the latest checkpoint.

    Raises:
      FileNotFoundError: if ``run_dir`` has no config or no checkpoint.
    """
    config_path = os.path.join(run_dir, "config.json")
    if not os.path.exists(config_path):
        raise FileNotFoundError(
            f"{run_dir} is not a gan_tf run (no config.json); pass the "
            "--output_dir of a training run"
        )
    config = load_config(config_path)
    latest = tf.train.latest_checkpoint(os.path.join(run_dir, "checkpoints"))
    if latest is None:
        raise FileNotFoundError(f"{run_dir} has no checkpoint yet; train it first")
    image_shape = data.image_shape_of(config.dataset, config.image_size)
    generator = get_model(config.model).build_generator(config.latent_dim, image_shape)
    tf.train.Checkpoint(generator=generator).restore(latest).expect_partial()
    return generator, config


def generate_images(
    generator: keras.Model, num: int, latent_dim: int, *, seed: int = 0, batch_size: int = 500
) -> np.ndarray:
    """Generates ``num`` uint8 NHWC images from seeded standard normal noise."""
    if num < 1:
        raise ValueError(f"--num must be a positive integer, got {num}")
    rng = tf.random.Generator.from_seed(seed)
    parts = []
    for start in range(0, num, batch_size):
        noise = rng.normal([min(batch_size, num - start), latent_dim])
        parts.append(visualize.to_uint8(generator(noise, training=False)))
    return np.concatenate(parts)
