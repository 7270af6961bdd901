"""How the train-step cost grows with batch size and image size.

    python benchmarks/scaling.py [--model=dcgan] [--batch_sizes=64,128,256,512,1024]
                                 [--image_shapes=28x28x1,32x32x3,64x64x3] [--steps=5]
                                 [--plot=docs/images/scaling.png]

Prints two tables (median seconds per train step and images per second) and
draws both curves in one figure: step time vs batch size at 28x28x1, and step
time vs image size at batch 64. Each point builds the model with its defaults
and the given shape and times ``--steps`` steps after 2 warm-up steps.
"""

from __future__ import annotations

import _setup  # quiet TF logs; gan_tf importable from the checkout
from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_string("model", "dcgan", "Model to time.")
flags.DEFINE_list("batch_sizes", ["64", "128", "256", "512", "1024"], "Batch sizes (28x28x1).")
flags.DEFINE_list("image_shapes", ["28x28x1", "32x32x3", "64x64x3"], "Shapes (batch 64).")
flags.DEFINE_integer("steps", 5, "Timed steps per point.")
flags.DEFINE_string("precision", "float32", "Keras dtype policy.")
flags.DEFINE_string("plot", None, "Write the figure here (PNG).")


def step_time(model: str, shape: tuple, batch_size: int) -> float:
    import tensorflow as tf

    import gan_tf
    from gan_tf.build import build_gan

    config = gan_tf.make_config(
        model=model, batch_size=batch_size, precision=FLAGS.precision, recipe="paper"
    )
    gan = build_gan(config, shape, 10)
    count = batch_size * config.n_critic
    images = tf.random.stateless_uniform([count, *shape], seed=[0, 1], minval=-1, maxval=1)
    args = (images, tf.range(count) % 10) if gan.needs_labels else (images,)
    seconds = _setup.median_step_seconds(gan, args, FLAGS.steps)
    return seconds


def main(argv):
    del argv
    by_batch = []
    print(f"{FLAGS.model} {FLAGS.precision}, 28x28x1: step time vs batch size")
    print("| batch | s/step | images/s |\n|---|---|---|")
    for batch_size in map(int, FLAGS.batch_sizes):
        seconds = step_time(FLAGS.model, (28, 28, 1), batch_size)
        by_batch.append((batch_size, seconds))
        print(f"| {batch_size} | {seconds:.3f} | {batch_size / seconds:.0f} |", flush=True)
    by_size = []
    print(f"\n{FLAGS.model} {FLAGS.precision}, batch 64: step time vs image size")
    print("| image | s/step | images/s |\n|---|---|---|")
    for text in FLAGS.image_shapes:
        shape = tuple(int(part) for part in text.split("x"))
        seconds = step_time(FLAGS.model, shape, 64)
        by_size.append((text, seconds))
        print(f"| {text} | {seconds:.3f} | {64 / seconds:.0f} |", flush=True)
    if FLAGS.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        figure, (left, right) = plt.subplots(1, 2, figsize=(9, 3.2))
        left.plot(*zip(*by_batch, strict=True), marker="o")
        left.set_xscale("log", base=2)
        left.set_xlabel("batch size (28x28x1)")
        left.set_ylabel("seconds per step")
        right.plot([t for t, _ in by_size], [s for _, s in by_size], marker="o")
        right.set_xlabel("image shape (batch 64)")
        for axes in (left, right):
            axes.grid(alpha=0.3)
        figure.suptitle(f"{FLAGS.model} train step, {FLAGS.precision}, 2 CPU cores", fontsize=10)
        figure.tight_layout()
        figure.savefig(FLAGS.plot, dpi=90)
        print(f"\nwrote {FLAGS.plot}")


if __name__ == "__main__":
    app.run(main)
