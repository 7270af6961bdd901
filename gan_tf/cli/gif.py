"""Rebuilds a run's progress GIF: ``python experiments/make_gif.py --output_dir=RUN``."""

from __future__ import annotations

import os

from absl import flags

from gan_tf.cli import common

FLAGS = flags.FLAGS
flags.DEFINE_string("output_dir", None, "Run directory written by experiments/train.py.")
flags.DEFINE_string("out", None, "GIF path (default RUN/progress.gif).")
flags.DEFINE_float("seconds_per_frame", 0.5, "Display time of each epoch grid.")


def rebuild():
    from gan_tf import visualize
    from gan_tf.errors import RunNotFoundError

    common.require_run_dir(FLAGS.output_dir)
    frames = visualize.epoch_grids(FLAGS.output_dir)
    if not frames:
        raise RunNotFoundError(f"no epoch grids in {FLAGS.output_dir}/samples; train the run first")
    out = FLAGS.out or os.path.join(FLAGS.output_dir, "progress.gif")
    count = visualize.make_gif(frames, out, seconds_per_frame=FLAGS.seconds_per_frame)
    print(f"wrote {out} ({count} frames)")


MAIN = rebuild
FLAG_NAMES = {}
