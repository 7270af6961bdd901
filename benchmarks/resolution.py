"""Parameter counts and step times of a variant from 32 to 256 px (colour).

    python benchmarks/resolution.py [--model=dcgan] [--sides=32,64,128,256]
                                    [--batch_size=16] [--steps=3] [--arch=key=value,...]

For each image side: trainable parameters of the generator and discriminator
with the model's default ``--arch`` (or the one given), and the median seconds
of a train step after 2 warm-up steps, with a plain uncapped DCGAN (max_width=0,
the widths growing with the side as before the cap) timed in the same run as
the baseline where it differs.
"""

from __future__ import annotations

import _setup  # quiet TF logs; gan_tf importable from the checkout
from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_string("model", "dcgan", "Model to measure.")
flags.DEFINE_list("sides", ["32", "64", "128", "256"], "Image sides.")
flags.DEFINE_integer("batch_size", 16, "Batch size of the timed steps.")
flags.DEFINE_integer("steps", 3, "Timed steps per point (median).")
flags.DEFINE_string("arch", None, "Architecture knobs, key=value,... (default: the model's).")
flags.DEFINE_bool("baseline", True, "Also time the uncapped network (max_width=0).")


def measure(side: int, arch: dict) -> tuple[int, int, float]:
    import numpy as np
    import tensorflow as tf

    import gan_tf
    from gan_tf.build import build_gan

    config = gan_tf.make_config(
        model=FLAGS.model,
        batch_size=FLAGS.batch_size,
        arch=arch,
        recipe="paper",
        precision="float32",
    )
    shape = (side, side, 3)
    gan = build_gan(config, shape, 9)
    count = config.batch_size * config.n_critic
    images = tf.random.stateless_uniform([count, *shape], seed=[0, 1], minval=-1, maxval=1)
    args = (images, tf.range(count) % 9) if gan.needs_labels else (images,)
    seconds = _setup.median_step_seconds(gan, args, FLAGS.steps)

    def params(model):
        return int(sum(np.prod(w.shape) for w in model.trainable_weights))

    return params(gan.generator), params(gan.discriminator), seconds


def main(argv):
    del argv
    arch = dict(item.split("=", 1) for item in FLAGS.arch.split(",")) if FLAGS.arch else {}
    print(f"{FLAGS.model}, batch {FLAGS.batch_size}, median of {FLAGS.steps} steps")
    print("| side | G params | D params | s/step | uncapped G params | uncapped s/step | ratio |")
    print("|---|---|---|---|---|---|---|")
    for side in map(int, FLAGS.sides):
        g, d, seconds = measure(side, arch)
        row = f"| {side} | {g / 1e6:.1f} M | {d / 1e6:.1f} M | {seconds:.2f} |"
        if FLAGS.baseline and "max_width" in arch or not FLAGS.baseline:
            row += " — | — | — |"
        else:
            g0, _, plain = measure(side, {**arch, "max_width": 0})
            row += f" {g0 / 1e6:.1f} M | {plain:.2f} | {plain / seconds:.2f}x |"
        print(row, flush=True)


if __name__ == "__main__":
    app.run(main)
