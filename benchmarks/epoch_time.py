"""Epoch time of every GAN variant on Fashion-MNIST on this machine.

    python benchmarks/epoch_time.py [--models=gan,dcgan,cgan,wgan,wgan_gp] [--steps=20]

Times ``--steps`` generator steps (after 3 warm-up steps that include tracing)
with each variant's own defaults (batch size, n_critic) on real Fashion-MNIST
batches, and prints the median seconds per step and the epoch time it implies
(an epoch is one pass of the discriminator over the 60,000 training images).
"""

from __future__ import annotations

import os
import statistics
import time

import _setup  # noqa: F401 - quiet TF logs; gan_tf importable from the checkout
from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_list("models", None, "Variants to time (default: every registered model).")
flags.DEFINE_integer("steps", 20, "Timed generator steps per variant.")
flags.DEFINE_string("dataset", "fashion_mnist", "Dataset (its training split is used).")


def time_variant(model: str, dataset_name: str, steps: int) -> dict:
    from gan_tf import data, make_config
    from gan_tf.build import build_gan
    from gan_tf.models import get_model

    config = make_config(model=model, dataset=dataset_name, recipe="paper", precision="float32")
    spec = get_model(model)
    dataset = data.load_dataset(dataset_name, with_labels=spec.needs_labels)
    gan = build_gan(config, dataset.image_shape, dataset.num_classes)
    per_step = config.batch_size * config.n_critic
    batches = iter(data.batches(dataset, per_step, seed=0, epoch=1))
    durations = []
    for index in range(steps + 3):
        batch = next(batches)
        started = time.perf_counter()
        outputs = gan.run_step(*batch) if dataset.with_labels else gan.run_step(batch)
        float(outputs["generator_loss"])  # wait for the step to finish
        if index >= 3:
            durations.append(time.perf_counter() - started)
    seconds = statistics.median(durations)
    steps_per_epoch = dataset.num_examples // per_step
    return {
        "model": model,
        "batch": config.batch_size,
        "n_critic": config.n_critic,
        "s_per_step": seconds,
        "steps_per_epoch": steps_per_epoch,
        "epoch_s": seconds * steps_per_epoch,
    }


def main(argv):
    del argv
    print(f"{os.cpu_count()} CPU cores; median of {FLAGS.steps} steps; {FLAGS.dataset}")
    print(
        f"{'model':8} {'batch':>5} {'n_critic':>8} {'s/step':>8} {'steps/epoch':>11} "
        f"{'epoch (s)':>9}"
    )
    from gan_tf.errors import ConfigError
    from gan_tf.models import model_names

    for model in FLAGS.models or model_names():
        try:
            row = time_variant(model, FLAGS.dataset, FLAGS.steps)
        except ConfigError as error:  # e.g. a variant that does not build this image size
            print(f"skipped {model}: {error}", flush=True)
            continue
        print(
            f"{row['model']:8} {row['batch']:>5} {row['n_critic']:>8} {row['s_per_step']:>8.3f} "
            f"{row['steps_per_epoch']:>11} {row['epoch_s']:>9.0f}",
            flush=True,
        )


if __name__ == "__main__":
    app.run(main)
