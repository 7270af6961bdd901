"""Time per train step with N steps fused into one tf.function call (``--steps_per_call``).

    python benchmarks/steps_per_call.py [--model=gan] [--calls=1,4,16] [--steps=64]
                                        [--recipe=paper] [--precision=float32]

Small models spend a visible share of each step in Python and in the
``tf.function`` call itself; fusing steps amortises that. Prints the median
time per step for each N (alternating rounds, same batches) and the speed-up
against N = 1 measured in the same run.
"""

from __future__ import annotations

import statistics
import time

import _setup  # noqa: F401 - quiet TF logs; gan_tf importable from the checkout
from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_string("model", "gan", "Model to time.")
flags.DEFINE_list("calls", ["1", "4", "16"], "Steps per call to compare.")
flags.DEFINE_integer("steps", 64, "Steps per timing round (a multiple of every N).")
flags.DEFINE_integer("rounds", 5, "Alternating timing rounds.")
flags.DEFINE_string("recipe", "paper", "Training recipe (fast: dcgan's defaults).")
flags.DEFINE_string("precision", "float32", "Precision (auto: the hardware's choice).")


def main(argv):
    del argv
    import tensorflow as tf

    import gan_tf
    from gan_tf.build import build_gan

    config = gan_tf.make_config(model=FLAGS.model, recipe=FLAGS.recipe, precision=FLAGS.precision)
    sizes = [int(n) for n in FLAGS.calls]
    count = config.batch_size * config.n_critic
    images = tf.random.stateless_uniform(
        [FLAGS.steps, count, 28, 28, 1], seed=[0, 1], minval=-1, maxval=1
    )
    gans = {n: build_gan(config, (28, 28, 1), 10) for n in sizes}

    def run(n):  # as the training loop does: calls of n steps on a dataset iterator
        gan = gans[n]
        iterator = iter(tf.data.Dataset.from_tensor_slices(images).prefetch(n))
        for _ in range(0, FLAGS.steps, n):
            out = gan.train_steps(iterator, n)
            [float(tf.reduce_mean(value)) for value in out.values()]

    for n in sizes:  # warm-up: tracing
        run(n)
    per_step = {n: [] for n in sizes}
    for _ in range(FLAGS.rounds):
        for n in sizes:
            started = time.perf_counter()
            run(n)
            per_step[n].append((time.perf_counter() - started) / FLAGS.steps)
    base = statistics.median(per_step[sizes[0]])
    print(
        f"{FLAGS.model} ({FLAGS.recipe}, {FLAGS.precision}), batch {config.batch_size}: "
        "median time per step"
    )
    print("| steps per call | ms/step | speed-up vs 1 |")
    print("|---|---|---|")
    for n in sizes:
        median = statistics.median(per_step[n])
        print(f"| {n} | {median * 1000:.2f} | {base / median:.2f}x |")


if __name__ == "__main__":
    app.run(main)
