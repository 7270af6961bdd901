"""Rebuilds a run's progress GIF: ``gan-tf gif --run_dir=RUN`` (``make gif``)."""

from __future__ import annotations

import os

from absl import flags

from gan_tf.cli import common

FLAGS = flags.FLAGS
common.define_run_dir()
flags.DEFINE_string("out", None, "GIF path (default RUN/progress.gif).")
flags.DEFINE_float("frame_seconds", 0.5, "Display time of each epoch grid.")
common.renamed("seconds_per_frame", "frame_seconds")


def rebuild():
    from gan_tf import visualize
    from gan_tf.errors import ConfigError, RunNotFoundError

    run_dir = common.require_run_dir()
    if not FLAGS.frame_seconds > 0:
        raise ConfigError(f"--frame_seconds must be > 0, got {FLAGS.frame_seconds}")
    frames = visualize.epoch_grids(run_dir)
    if not frames:
        raise RunNotFoundError(f"no epoch grids in {run_dir}/samples; train the run first")
    out = common.out_path(os.path.join(run_dir, "progress.gif"))
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    count = visualize.make_gif(frames, out, seconds_per_frame=FLAGS.frame_seconds)
    print(f"wrote {out} ({count} frames)")


MAIN = rebuild
FLAG_NAMES = {}
