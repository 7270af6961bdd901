"""What an epoch's data costs for a dataset held as arrays: a shuffle buffer (before)
against batches gathered by a seeded permutation (now).

    python benchmarks/epoch_start.py [--dataset=fashion_mnist] [--batch_size=32] [--epochs=5]

Loads ``--dataset`` (a source that holds its data as arrays: mnist, fashion_mnist,
cifar10, svhn from local files) and, for each of ``--epochs`` epochs, builds
``gan_tf.data.batches`` for that epoch and times the first batch (what a training
loop waits for before its first step) and all of the epoch's batches, with no
training in between:

* ``before``: the same dataset without ``arrays``, so ``batches`` fills a shuffle
  buffer with every example before the first batch (what it did before);
* ``now``: ``gan_tf.data.batches`` as it is: a permutation of the indices, each
  batch one ``tf.gather``.

Both yield every example once per epoch in an order drawn by ``(seed, epoch)``.
Prints the medians over the epochs and the ratios; run it on an idle machine.
"""

from __future__ import annotations

import dataclasses
import statistics
import time

import _setup  # noqa: F401 - quiet TF logs; gan_tf importable from the checkout
from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_string("dataset", "fashion_mnist", "A dataset held as arrays.")
flags.DEFINE_integer("batch_size", 32, "Examples per batch.")
flags.DEFINE_integer("epochs", 5, "Epochs timed (medians are printed).")


def time_epoch(dataset, batch_size: int, epoch: int) -> tuple[float, float]:
    """Seconds to the first batch and to the whole epoch."""
    from gan_tf import data

    started = time.perf_counter()
    iterator = iter(data.batches(dataset, batch_size, seed=0, epoch=epoch))
    next(iterator)
    first = time.perf_counter() - started
    for _ in iterator:
        pass
    return first, time.perf_counter() - started


def main(argv):
    del argv
    from gan_tf import data

    now = data.load_dataset(FLAGS.dataset)
    if now.arrays is None:
        raise app.UsageError(f"{FLAGS.dataset} is not held as arrays here")
    arms = {"before": dataclasses.replace(now, arrays=None), "now": now}
    medians = {}
    for name, dataset in arms.items():
        time_epoch(dataset, FLAGS.batch_size, 0)  # traces the pipeline's functions
        timings = [
            time_epoch(dataset, FLAGS.batch_size, epoch) for epoch in range(1, FLAGS.epochs + 1)
        ]
        medians[name] = [statistics.median(column) for column in zip(*timings, strict=True)]
    steps = now.num_examples // FLAGS.batch_size
    print(f"{FLAGS.dataset}: {now.num_examples} examples, {steps} batches of {FLAGS.batch_size}")
    print("| epoch order | first batch | whole epoch | per batch |")
    print("|---|---|---|---|")
    for name, (first, whole) in medians.items():
        print(f"| {name} | {first:.3f} s | {whole:.3f} s | {1000 * whole / steps:.2f} ms |")
    (first_before, whole_before), (first_now, whole_now) = medians["before"], medians["now"]
    print(
        f"now / before: first batch {first_now / first_before:.2f}x, "
        f"whole epoch {whole_now / whole_before:.2f}x"
    )


if __name__ == "__main__":
    app.run(main)
