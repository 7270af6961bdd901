"""Samples a trained run: ``python experiments/sample.py --output_dir=RUN --num=10000``.

Writes ``--out`` (default ``RUN/samples.npz``, or ``RUN/samples_epoch_N.npz`` with
``--epoch=N``: an .npz whose ``images`` are uint8 NHWC, or float32 points for 2-D
toys; conditional runs add ``labels``) from the newest checkpoint, the one saved at
the end of ``--epoch``, the best evaluation's (``--checkpoint=best``, written to
``RUN/samples_best.npz``) or ``--checkpoint=PATH``; and ``--grid`` (a PNG) if asked.
"""

from __future__ import annotations

import os

from absl import flags

from gan_tf.cli import common

FLAGS = flags.FLAGS
flags.DEFINE_string("output_dir", None, "Run directory written by experiments/train.py.")
flags.DEFINE_integer("num", 10000, "Number of images to generate.")
flags.DEFINE_string(
    "out", None, "Output .npz (key 'images': uint8 [N, H, W, C]); default: in the run directory."
)
flags.DEFINE_string(
    "epoch",
    None,
    "Sample the checkpoint saved at the end of this epoch (a number; the best one is "
    "--checkpoint=best, the newest the default).",
)
flags.DEFINE_string(
    "checkpoint",
    None,
    "Sample this checkpoint: best (the best --eval_every evaluation's), latest (the "
    "default) or a path (e.g. RUN/checkpoints/ckpt-3).",
)
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

    run_dir = os.path.expanduser(common.require_run_dir(FLAGS.output_dir))
    if FLAGS.num < 1 or FLAGS.batch_size < 1:
        raise ConfigError("--num and --batch_size must be positive integers")
    epoch = common.epoch_number(FLAGS.epoch)
    if epoch is not None and FLAGS.checkpoint:
        raise ConfigError("pass --epoch or --checkpoint, not both")
    suffix = f"_epoch_{epoch}" if epoch is not None else ""
    suffix = "_best" if (FLAGS.checkpoint or "").strip().lower() == "best" else suffix
    out = os.path.expanduser(FLAGS.out or os.path.join(run_dir, f"samples{suffix}.npz"))
    if not out.endswith(".npz"):
        raise ConfigError(f"--out must end in .npz, got {FLAGS.out}")
    png_dir = os.path.expanduser(FLAGS.png_dir or "")
    if png_dir and os.path.isdir(png_dir) and os.listdir(png_dir):
        raise ConfigError(f"--png_dir={FLAGS.png_dir} is not empty; give a new or empty folder")
    checkpoint = epoch if epoch is not None else FLAGS.checkpoint
    run = gan_tf.load_run(run_dir, checkpoint=checkpoint)
    if not run.conditional and (FLAGS.label is not None or FLAGS.labels is not None):
        raise ConfigError(
            f"--label/--labels need a conditional run; this one is {run.config.model}"
        )
    if FLAGS.labels not in (None, "all"):
        raise ConfigError(f"--labels takes 'all', got {FLAGS.labels}; use --label=K for one class")
    if FLAGS.label is not None and not 0 <= FLAGS.label < run.num_classes:
        raise ConfigError(f"--label must be in [0, {run.num_classes - 1}], got {FLAGS.label}")
    labels = run.labels_for(FLAGS.num, FLAGS.label)  # --label=K, else every class in turn
    images = run.sample(FLAGS.num, labels=labels, seed=FLAGS.seed, batch_size=FLAGS.batch_size)
    if FLAGS.png_dir and images.ndim != 4:
        raise ConfigError("--png_dir needs an image run; this one makes 2-D points")
    written = []
    if FLAGS.png_dir:
        visualize.save_png_folder(images, FLAGS.png_dir, labels)
        written.append(f"PNGs to {FLAGS.png_dir}")
    if FLAGS.out or not FLAGS.png_dir:
        os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
        tmp = out[: -len(".npz")] + ".tmp.npz"
        arrays = {"images": images} if labels is None else {"images": images, "labels": labels}
        np.savez_compressed(tmp, **arrays)
        os.replace(tmp, out)
        written.append(out)
    if FLAGS.grid and images.ndim == 4:
        side = int(np.sqrt(min(len(images), 64)))  # the largest full square, at most 8x8
        visualize.save_image(visualize.image_grid(images[: side * side], rows=side), FLAGS.grid)
    print(
        f"wrote {len(images)} images {images.shape[1:]} of epoch {run.epoch} to "
        f"{' and '.join(written)}" + (f" and a grid to {FLAGS.grid}" if FLAGS.grid else "")
    )


MAIN = write_samples
FLAG_NAMES = {}
