"""Train-step throughput per model x precision x batch size, against a plain loop.

    python benchmarks/train_speed.py [--models=dcgan] [--precisions=float32,mixed_bfloat16]
                                     [--batch_sizes=64,256] [--steps=10] [--recipe=paper]

For each combination it times the library's train step (``gan_tf.GAN.run_step``,
the model's own defaults otherwise) and, in the same process, a plain step
written like the TensorFlow DCGAN tutorial (one ``tf.function``, two tapes,
``BinaryCrossentropy(from_logits=True)``, ``tf.random.normal`` noise) on the
*identical* networks and batch. The two are timed in alternating blocks so
machine noise hits both alike; medians are printed, with images/s and the
ratio library / plain (>= 1.0 means the library adds no overhead). Peak memory
is the GPU allocator's peak when there is a GPU, else the process's peak RSS
so far (a running maximum on CPU). The plain loop exists for unconditional
n_critic = 1 models with a cross-entropy loss (gan, dcgan).
"""

from __future__ import annotations

import itertools
import statistics
import time

import _setup  # quiet TF logs; gan_tf importable from the checkout
from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_list("models", ["dcgan"], "Models to time.")
flags.DEFINE_list("precisions", ["float32", "mixed_bfloat16"], "Keras dtype policies.")
flags.DEFINE_list("batch_sizes", ["64", "256"], "Batch sizes.")
flags.DEFINE_integer("steps", 10, "Timed steps per variant (after 2 warm-up steps).")
flags.DEFINE_integer("blocks", 2, "Alternating timing blocks per variant.")
flags.DEFINE_list("updates", ["alternating", "simultaneous"], "Library update schemes to time.")
flags.DEFINE_string("recipe", "paper", "Training recipe (fast: dcgan's defaults, base_width=32).")


def _time(function, steps: int) -> list[float]:
    durations = []
    for _ in range(steps):
        started = time.perf_counter()
        result = function()
        [float(value) for value in (result.values() if isinstance(result, dict) else result)]
        durations.append(time.perf_counter() - started)
    return durations


def measure(
    model: str, precision: str, batch_size: int, steps: int, blocks: int, update: str
) -> dict:
    import tensorflow as tf

    import gan_tf
    from gan_tf.build import build_gan, build_networks

    config = gan_tf.make_config(
        model=model, precision=precision, batch_size=batch_size, update=update, recipe=FLAGS.recipe
    )
    gan = build_gan(config, (28, 28, 1), 10)
    count = batch_size * config.n_critic
    images = tf.random.stateless_uniform([count, 28, 28, 1], seed=[0, 1], minval=-1, maxval=1)
    labels = tf.range(count) % 10
    args = (images, labels) if gan.needs_labels else (images,)
    plain = None
    if config.n_critic == 1 and not gan.conditional and config.loss == "non_saturating":
        generator, discriminator = build_networks(config, (28, 28, 1))
        plain = _setup.plain_step_fn(
            generator, discriminator, config.latent_dim, config.learning_rate, config.beta_1
        )
    library_times, plain_times = [], []
    _time(lambda: gan.run_step(*args), 2)  # warm-up: tracing
    if plain:
        _time(lambda: plain(images), 2)
    for _ in range(blocks):
        library_times += _time(lambda: gan.run_step(*args), steps)
        if plain:
            plain_times += _time(lambda: plain(images), steps)
    library = statistics.median(library_times)
    row = {
        "model": model,
        "update": update,
        "precision": precision,
        "batch": batch_size,
        "s/step": library,
        "images/s": count / library,
        "peak MB": _setup.peak_memory_mb(),
    }
    if plain:
        row["plain s/step"] = statistics.median(plain_times)
        row["ratio"] = row["plain s/step"] / library
    return row


def main(argv):
    del argv
    from gan_tf.models import get_model

    print(
        "| model | update | precision | batch | s/step | images/s | plain loop s/step "
        "| plain/library time | peak MB |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for model in FLAGS.models:
        n_critic = get_model(model).defaults.get("n_critic", 1)
        for precision, update, batch_size in itertools.product(
            FLAGS.precisions, FLAGS.updates, map(int, FLAGS.batch_sizes)
        ):
            if update == "simultaneous" and n_critic != 1:
                continue
            row = measure(model, precision, batch_size, FLAGS.steps, FLAGS.blocks, update)
            plain = f"{row['plain s/step']:.3f}" if "ratio" in row else "—"
            ratio = f"{row['ratio']:.2f}x" if "ratio" in row else "—"
            print(
                f"| {model} | {update} | {precision} | {batch_size} | {row['s/step']:.3f} | "
                f"{row['images/s']:.0f} | {plain} | {ratio} | {row['peak MB']:.0f} |",
                flush=True,
            )


if __name__ == "__main__":
    app.run(main)
