"""Latent-space animations of a run: ``gan-tf animate --run_dir=RUN``.

``--mode=walk`` (default) writes a GIF of ``--count`` parallel walks along great
circles through ``--points`` random noise vectors and back (a seamless loop);
``--mode=classes`` (conditional runs) keeps each cell's noise and morphs its
class through ``--classes`` (default all) and back.
"""

from __future__ import annotations

import os

from absl import flags

from gan_tf.cli import common

FLAGS = flags.FLAGS
common.define_run_dir()
flags.DEFINE_string("mode", "walk", "walk (latent walk) | classes (morph between classes).")
flags.DEFINE_string("out", None, "GIF path (default RUN/animations/<mode>.gif).")
flags.DEFINE_integer("points", 4, "walk: random key points per walk.")
flags.DEFINE_integer("steps", 12, "Frames per leg (key point to key point, class to class).")
flags.DEFINE_integer("count", 16, "Cells of the grid (parallel walks / morphs).")
flags.DEFINE_integer("label", None, "walk, conditional runs: one class for every cell.")
flags.DEFINE_list("classes", None, "classes: class ids to visit in order (default all).")
flags.DEFINE_float("frame_seconds", 0.08, "Display time of each frame.")
flags.DEFINE_integer("seed", 0, "Seed of the noise.")

MODES = ("walk", "classes")


def animate() -> None:
    import gan_tf
    from gan_tf import animation, visualize
    from gan_tf.errors import ConfigError

    run_dir = common.require_run_dir()
    if FLAGS.mode not in MODES:
        raise ConfigError(f"unknown --mode '{FLAGS.mode}'; choose one of: {', '.join(MODES)}")
    if not FLAGS.frame_seconds > 0:
        raise ConfigError(f"--frame_seconds must be > 0, got {FLAGS.frame_seconds}")
    out = common.out_path(os.path.join(run_dir, "animations", f"{FLAGS.mode}.gif"))
    if not out.endswith(".gif"):
        raise ConfigError(f"--out must end in .gif, got {out}")
    run = gan_tf.load_run(run_dir)
    if FLAGS.mode == "walk":
        frames = animation.latent_walk(
            run,
            points=FLAGS.points,
            steps=FLAGS.steps,
            count=FLAGS.count,
            seed=FLAGS.seed,
            label=FLAGS.label,
        )
    else:
        try:
            classes = None if FLAGS.classes is None else [int(c) for c in FLAGS.classes]
        except ValueError:
            raise ConfigError(
                f"--classes takes class ids like 0,3,7; got {FLAGS.classes}"
            ) from None
        frames = animation.class_morph(
            run, steps=FLAGS.steps, count=FLAGS.count, seed=FLAGS.seed, classes=classes
        )
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    visualize.write_gif(frames, out, FLAGS.frame_seconds)
    print(f"wrote {len(frames)} frames {frames.shape[1]}x{frames.shape[2]} to {out}")


MAIN = animate
FLAG_NAMES = {}
