"""Samples a trained run: ``gan-tf sample --run_dir=RUN --num_samples=10000``.

Writes ``--out`` (default ``RUN/samples.npz``, ``RUN/samples_epoch_N.npz`` with
``--checkpoint=N`` or ``RUN/samples_best.npz`` with ``--checkpoint=best``: an .npz whose
``images`` are uint8 NHWC, or float32 points for 2-D toys; conditional runs add
``labels``) from the newest checkpoint, the one saved at the end of epoch N, the best
evaluation's or a checkpoint path; and ``--grid`` (a PNG) if asked.
"""

from __future__ import annotations

import os

from absl import flags

from gan_tf.cli import common

FLAGS = flags.FLAGS
common.define_run_dir()
flags.DEFINE_integer("num_samples", 10000, "Number of images to generate.")
common.renamed("num", "num_samples")
flags.DEFINE_string(
    "out", None, "Output .npz (key 'images': uint8 [N, H, W, C]); default: in the run directory."
)
flags.DEFINE_string(
    "checkpoint",
    None,
    "Sample this checkpoint: best (the best --eval_every evaluation's), latest (the "
    "default), an epoch number (the checkpoint saved at its end) or a path (e.g. "
    "RUN/checkpoints/ckpt-3).",
)
common.renamed("epoch", "checkpoint")
flags.DEFINE_string("grid", None, "Also write the first images as a square grid PNG here.")
flags.DEFINE_string(
    "png_dir",
    None,
    "Write the images as lossless PNGs 000000.png, ... into this new folder (for gan-tf "
    "evaluate --fake=DIR, clean-fid, torch-fidelity) instead of an .npz (unless --out).",
)
flags.DEFINE_integer("seed", 0, "Seed of the noise.")
flags.DEFINE_integer("batch_size", 500, "Images generated per forward pass.")
flags.DEFINE_integer("label", None, "Conditional runs: generate only this class id.")
flags.DEFINE_string("labels", None, "Conditional runs: 'all' cycles through every class (default).")


def write_samples():
    import numpy as np

    import gan_tf
    from gan_tf import visualize
    from gan_tf.errors import ConfigError

    run_dir = common.require_run_dir()
    if FLAGS.num_samples < 1 or FLAGS.batch_size < 1:
        raise ConfigError("--num_samples and --batch_size must be positive integers")
    checkpoint = (FLAGS.checkpoint or "").strip()
    if checkpoint.isdecimal():
        checkpoint, suffix = int(checkpoint), f"_epoch_{int(checkpoint)}"
    else:
        suffix = "_best" if checkpoint.lower() == "best" else ""
    out = common.out_path(os.path.join(run_dir, f"samples{suffix}.npz"))
    if not out.endswith(".npz"):
        raise ConfigError(f"--out must end in .npz, got {FLAGS.out}")
    png_dir = os.path.expanduser(FLAGS.png_dir or "")
    if png_dir and os.path.isdir(png_dir) and os.listdir(png_dir):
        raise ConfigError(f"--png_dir={FLAGS.png_dir} is not empty; give a new or empty folder")
    run = gan_tf.load_run(run_dir, checkpoint=checkpoint or None)
    if not run.conditional and (FLAGS.label is not None or FLAGS.labels is not None):
        raise ConfigError(
            f"--label/--labels need a conditional run; this one is {run.config.model}"
        )
    if FLAGS.labels not in (None, "all"):
        raise ConfigError(f"--labels takes 'all', got {FLAGS.labels}; use --label=K for one class")
    if FLAGS.label is not None and not 0 <= FLAGS.label < run.num_classes:
        raise ConfigError(f"--label must be in [0, {run.num_classes - 1}], got {FLAGS.label}")
    labels = run.labels_for(FLAGS.num_samples, FLAGS.label)  # --label=K, else every class in turn
    images = run.sample(
        FLAGS.num_samples, labels=labels, seed=FLAGS.seed, batch_size=FLAGS.batch_size
    )
    if FLAGS.png_dir and images.ndim != 4:
        raise ConfigError("--png_dir needs an image run; this one makes 2-D points")
    written = []
    if FLAGS.png_dir:
        visualize.save_png_folder(images, png_dir, labels)
        written.append(f"PNGs to {png_dir}")
    if FLAGS.out or not FLAGS.png_dir:
        os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
        tmp = out[: -len(".npz")] + ".tmp.npz"
        arrays = {"images": images} if labels is None else {"images": images, "labels": labels}
        np.savez_compressed(tmp, **arrays)
        os.replace(tmp, out)
        written.append(out)
    if FLAGS.grid and images.ndim == 4:
        side = int(np.sqrt(min(len(images), 64)))  # the largest full square, at most 8x8
        grid = visualize.image_grid(images[: side * side], rows=side)
        visualize.save_image(grid, os.path.expanduser(FLAGS.grid))
    print(
        f"wrote {len(images)} images {images.shape[1:]} of epoch {run.epoch} to "
        f"{' and '.join(written)}" + (f" and a grid to {FLAGS.grid}" if FLAGS.grid else "")
    )


MAIN = write_samples
FLAG_NAMES = {}
