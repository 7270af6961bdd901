"""A trained run as a Python object: sample, draw grids, evaluate and export.

::

    run = gan_tf.load_run("runs/dcgan_fashion_mnist")
    images = run.sample(16, seed=0)           # uint8 [16, 28, 28, 1]
    grid = run.grid(path="grid.png")          # uint8 picture (class rows when conditional)
    record = run.evaluate("fd_classifier")    # writes RUN/eval.json
    path = run.export(format="saved_model")   # loadable with TensorFlow alone

The generator is the run's latest checkpoint (its EMA copy when the run kept one).
"""

from __future__ import annotations

import os
import shutil

import keras
import numpy as np
import tensorflow as tf

from gan_tf import evaluation, rundir, visualize
from gan_tf.config import TrainConfig
from gan_tf.errors import ConfigError
from gan_tf.gan import latent_noise
from gan_tf.models.subpixel import stock_layers
from gan_tf.sampling import class_cycle, class_rows, generate_images

__all__ = ["EXPORT_FORMATS", "Run", "load_run"]

EXPORT_FORMATS = ("keras", "saved_model")


def load_run(
    output_dir: str, generator: keras.Model | None = None, checkpoint: int | str | None = None
) -> Run:
    """Loads the run in ``output_dir`` (see :class:`Run`) from a checkpoint.

    Args:
      output_dir: a training run's directory.
      generator: for runs trained with your own networks: an untrained network of
        the same architecture to load the weights into.
      checkpoint: ``None`` for the newest, ``"best"`` for the best evaluation's
        (runs trained with ``eval_every``), an epoch number (the checkpoint saved at
        the end of that epoch, if kept) or a checkpoint path.

    Raises:
      RunNotFoundError: not a gan_tf run, no checkpoint yet, or not that one.
    """
    output_dir = os.path.expanduser(output_dir)
    generator, config = rundir.restore_generator(output_dir, generator, checkpoint)
    path = rundir.find_checkpoint(output_dir, checkpoint)  # what was restored
    info = rundir.run_info(output_dir)
    run = Run(output_dir, config, generator, tuple(info["shape"]), info["num_classes"])
    run.checkpoint = path
    return run


class Run:
    """A trained run: its config, what its data fixed, and its generator.

    Attributes:
      output_dir: the run directory.
      config: the run's :class:`~gan_tf.config.TrainConfig`.
      generator: the Keras generator (EMA weights when the run kept an EMA);
        conditional generators take ``[noise, labels]``.
      shape: the shape of one sample, e.g. ``(28, 28, 1)`` or ``(2,)``.
      num_classes: classes of a conditional run, else ``None``.
    """

    def __init__(
        self,
        output_dir: str,
        config: TrainConfig,
        generator: keras.Model,
        shape: tuple[int, ...],
        num_classes: int | None,
    ):
        self.output_dir, self.config, self.generator = output_dir, config, generator
        self.shape, self.num_classes = tuple(shape), num_classes
        self.checkpoint = None  # the checkpoint path loaded (set by load_run)

    @property
    def conditional(self) -> bool:
        return self.num_classes is not None

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    @property
    def epoch(self) -> int:
        """The epoch of the checkpoint the generator comes from."""
        return rundir.checkpoint_epoch(self.output_dir, self.checkpoint)

    def __repr__(self) -> str:
        classes = f", {self.num_classes} classes" if self.conditional else ""
        return (
            f"Run({self.output_dir!r}: {self.config.model} on {self.config.dataset}, "
            f"{'x'.join(map(str, self.shape))}{classes}, epoch {self.epoch})"
        )

    def labels_for(self, num: int, labels=None) -> np.ndarray | None:
        """The int32 class ids for ``num`` samples: ``None`` cycles through every class,
        an int repeats one class, a sequence gives one id per sample. ``None`` for an
        unconditional run.

        Raises:
          ConfigError: labels for an unconditional run, a wrong count or an unknown class.
        """
        if not self.conditional:
            if labels is not None:
                raise ConfigError(
                    f"labels need a conditional run; {self.output_dir} is unconditional",
                    "labels",
                )
            return None
        if labels is None:
            return class_cycle(num, self.num_classes)
        ids = np.asarray(labels, dtype=np.int64)
        if ids.ndim == 0:  # one class for every sample
            if not 0 <= int(ids) < self.num_classes:
                raise ConfigError(
                    f"label must be in [0, {self.num_classes - 1}], got {int(ids)}", "label"
                )
            ids = np.full(num, int(ids), np.int64)
        if ids.shape != (num,):
            raise ConfigError(
                f"got {ids.size} labels for {num} samples; pass one per sample", "labels"
            )
        if ids.min() < 0 or ids.max() >= self.num_classes:
            bad = sorted({int(i) for i in ids if not 0 <= i < self.num_classes})
            raise ConfigError(f"labels must be in [0, {self.num_classes - 1}], got {bad}", "labels")
        return ids.astype(np.int32)

    def sample(self, num: int, labels=None, seed: int | None = None, batch_size: int = 500):
        """``num`` samples from the run's noise (``latent_distribution``: standard
        normal, or uniform in [-1, 1]).

        Args:
          num: how many.
          labels: conditional runs: see :meth:`labels_for`.
          seed: seed of the noise; the same seed gives the same samples. ``None``
            draws a fresh seed.
          batch_size: samples per forward pass.

        Returns:
          uint8 ``[num, H, W, C]`` images, or float32 ``[num, 2]`` points for 2-D toys.
        """
        if seed is None:
            seed = int(np.random.SeedSequence().entropy % (2**31))
        return generate_images(
            self.generator,
            num,
            self.latent_dim,
            seed=seed,
            batch_size=batch_size,
            labels=self.labels_for(num, labels),
            distribution=self.config.latent_distribution,
        )

    def generate(self, noise, labels=None) -> np.ndarray:
        """Float samples in ``[-1, 1]`` for given ``noise`` ``[N, latent_dim]`` (and labels)."""
        noise = tf.convert_to_tensor(noise, tf.float32)
        ids = self.labels_for(int(noise.shape[0]), labels)
        inputs = noise if ids is None else [noise, tf.constant(ids)]
        return self.generator(inputs, training=False).numpy()

    def grid(self, rows: int = 8, columns: int = 8, labels=None, seed: int = 0, path=None):
        """A picture of ``rows x columns`` samples (uint8 ``[H, W, C]``).

        Conditional runs without ``labels`` draw one row per class with the same
        noise down each column, like the epoch grids. ``path`` also writes a PNG.

        Raises:
          ConfigError: for 2-D toy runs (no images).
        """
        if len(self.shape) != 3:
            raise ConfigError("2-D toy runs have no image grid; use sample() for their points")
        if self.conditional and labels is None:
            rows = self.num_classes
            noise = latent_noise(
                tf.random.Generator.from_seed(seed).normal([columns, self.latent_dim]),
                self.config.latent_distribution,
            )
            images = visualize.to_uint8(self.generate(*class_rows(noise, rows)))
        else:
            images = self.sample(rows * columns, labels=labels, seed=seed)
        picture = visualize.image_grid(images, rows=rows)
        if path:
            visualize.save_image(picture, path)
        return picture

    def evaluate(self, metrics=evaluation.DEFAULT_METRICS, **kwargs) -> dict:
        """Scores this run's generator (the checkpoint it was loaded from, which
        ``eval.json`` names) and writes ``RUN/eval.json``; keyword arguments as for
        :func:`gan_tf.evaluation.evaluate_run` (``num_samples``, ``num_real``, ...)."""
        return evaluation.evaluate_run(
            self.output_dir,
            metrics,
            generator=self.generator,
            checkpoint=self.checkpoint,
            **kwargs,
        )

    def export(self, path: str | None = None, format: str = "keras") -> str:
        """Writes the generator as an artifact that loads with TensorFlow alone.

        * ``keras``: a ``.keras`` file; ``keras.models.load_model(path)`` gives a
          model mapping noise (and int labels) to images in ``[-1, 1]``.
        * ``saved_model``: a SavedModel directory whose ``serve`` function (also the
          ``serving_default`` signature) takes ``noise`` float32 ``[N, latent_dim]``
          (and ``labels`` int32 ``[N]``) and returns float32 images in ``[-1, 1]``:
          ``tf.saved_model.load(path).serve(noise)``.

        Args:
          path: where to write (default ``RUN/export/generator.keras`` or
            ``RUN/export/generator_saved_model``).
          format: one of :data:`EXPORT_FORMATS`.

        Returns:
          The path written. An existing file is replaced atomically; an existing
          SavedModel directory is swapped out only once the new one is complete.
        """
        if format not in EXPORT_FORMATS:
            raise ConfigError(
                f"unknown format '{format}'; choose one of: {', '.join(EXPORT_FORMATS)}", "format"
            )
        if path is None:
            name = "generator.keras" if format == "keras" else "generator_saved_model"
            path = os.path.join(self.output_dir, "export", name)
        if format == "keras" and not path.endswith(".keras"):
            raise ConfigError(f"a keras export must end in .keras, got path={path}", "path")
        if format == "saved_model" and os.path.isfile(path):
            raise ConfigError(f"path={path} is a file; a saved_model export is a directory", "path")
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        tmp = path[: -len(".keras")] + ".tmp.keras" if format == "keras" else path + ".tmp"
        if os.path.isdir(tmp):
            shutil.rmtree(tmp)
        if format == "keras":
            stock_layers(self.generator).save(tmp)  # loads without gan_tf
        else:
            self._write_saved_model(tmp)
        if os.path.isdir(path):  # a directory cannot be replaced in one step: swap, then drop
            old = path + ".old"
            shutil.rmtree(old, ignore_errors=True)
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old)
        else:
            os.replace(tmp, path)
        return path

    def _write_saved_model(self, directory: str) -> None:
        generator = self.generator
        noise = tf.TensorSpec([None, self.latent_dim], tf.float32, name="noise")
        archive = keras.export.ExportArchive()
        archive.track(generator)
        if self.conditional:
            labels = tf.TensorSpec([None], tf.int32, name="labels")
            archive.add_endpoint(
                "serve", lambda n, y: generator([n, y], training=False), [noise, labels]
            )
        else:
            archive.add_endpoint("serve", lambda n: generator(n, training=False), [noise])
        archive.write_out(directory, verbose=False)
