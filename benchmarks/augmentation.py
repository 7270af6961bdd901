"""Generated images as extra training data: does a classifier get better? (issue 27)

    python benchmarks/augmentation.py RUN_DIR [RUN_DIR ...] [--real_counts=1000,0]
        [--generated_counts=1000,5000,10000] [--seeds=0,1,2] [--steps=400]
        [--batch_size=128] [--json=PATH] [--plot_dir=DIR]

For each class-conditional run, each real count n (the first n training examples of
the run's dataset, the ones ``--max_examples=n`` trains on; 0 = all of the run's
training data) and each seed, trains the domain classifier of
:mod:`gan_tf.eval.features` on the n real images alone and on the n real images
plus g generated ones (``run.sample(g, seed=seed)``: classes in turn, so balanced),
for every g of ``--generated_counts``; every model gets the same budget (``--steps``
steps of ``--batch_size``, the same cosine schedule, the seed). This is
:func:`gan_tf.eval.augmentation.augmentation_accuracy` for the first g; the further
g reuse its real-only model (the same arguments train the same model), scoring only
their augmented model with :func:`~gan_tf.eval.augmentation.classifier_confusion`.
The test set is the dataset's test split at the run's image size.

Prints one markdown row per (run, n, g): test accuracy and mean per-class recall
(balanced accuracy) of both models as mean ± std over seeds, the paired gain, and the
wall time. ``--json`` keeps every seed's numbers and confusion matrices;
``--plot_dir`` writes each cell's seed-0 confusion matrices side by side.
"""

from __future__ import annotations

import json
import os
import time

import _setup  # noqa: F401 - quiet TF logs; gan_tf importable from the checkout
from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_list("real_counts", ["1000", "0"], "Real training images (0 = all the run's).")
flags.DEFINE_list("generated_counts", ["1000", "5000", "10000"], "Generated images added.")
flags.DEFINE_list("seeds", ["0", "1", "2"], "Seeds of the classifiers and the samples.")
flags.DEFINE_integer("steps", 400, "Optimisation steps of every classifier.")
flags.DEFINE_integer("batch_size", 128, "Classifier batch size.")
flags.DEFINE_string("json", "", "Write every seed's results here (optional).")
flags.DEFINE_string("plot_dir", "", "Write seed 0's confusion matrices here (optional).")

CLASS_NAMES = {
    "fashion_mnist": ("T-shirt Trouser Pullover Dress Coat Sandal Shirt Sneaker Bag Boot".split()),
    "emoji": "Smileys People Animals Food Travel Activities Objects Symbols Flags".split(),
}


def _arrays(config, split: str, max_examples: int | None):
    from gan_tf import data

    dataset = data.load_dataset(
        config.dataset,
        split=split,
        data_dir=config.data_dir,
        with_labels=True,
        max_examples=max_examples,
        image_size=config.image_size,
        background=config.background,
        download=False,
    )
    return data.as_arrays(dataset)


def _balanced_accuracy(confusion) -> float:
    """Mean over classes of the recall (classes absent from the test set skipped)."""
    import numpy as np

    rows = confusion.sum(axis=1)
    return float(np.mean(np.diag(confusion)[rows > 0] / rows[rows > 0]))


def _cells(run, real_counts, generated_counts, seeds):
    """Yields one record per (n, g, seed), training the real-only model once per (n, seed)."""
    import sys

    import numpy as np

    from gan_tf.eval.augmentation import augmentation_accuracy, classifier_confusion

    config = run.config
    train = _arrays(config, "train", config.max_examples)
    test = _arrays(config, "test", None)
    budget = dict(num_classes=run.num_classes, steps=FLAGS.steps, batch_size=FLAGS.batch_size)
    for count in dict.fromkeys(min(n or len(train[0]), len(train[0])) for n in real_counts):
        real = (train[0][:count], train[1][:count])
        for seed in seeds:
            real_confusion = None
            for generated_count in generated_counts:
                started = time.perf_counter()
                generated = (
                    run.sample(generated_count, seed=seed),
                    run.labels_for(generated_count),
                )
                if real_confusion is None:
                    result = augmentation_accuracy(real, generated, test, seed=seed, **budget)
                    real_confusion = result["real_confusion"]
                    augmented = result["augmented_confusion"]
                else:
                    combined = tuple(
                        np.concatenate([r, g]) for r, g in zip(real, generated, strict=True)
                    )
                    augmented = classifier_confusion(combined, test, seed=seed, **budget)
                seconds = time.perf_counter() - started
                print(
                    f"  n={count} g={generated_count} seed={seed}: {seconds:.0f} s", file=sys.stderr
                )
                yield {
                    "real_count": count,
                    "generated_count": generated_count,
                    "seed": seed,
                    "seconds": seconds,
                    "real_confusion": real_confusion.tolist(),
                    "augmented_confusion": augmented.tolist(),
                    "test_count": len(test[0]),
                }


def _summary(records):
    import numpy as np

    def stats(values):
        values = np.asarray(values, dtype=float)
        std = values.std(ddof=1) if len(values) > 1 else 0.0
        return f"{values.mean():.3f} ± {std:.3f}"

    matrices = {
        key: [np.asarray(r[f"{key}_confusion"]) for r in records] for key in ("real", "augmented")
    }
    accuracy = {k: [np.trace(m) / m.sum() for m in v] for k, v in matrices.items()}
    balanced = {k: [_balanced_accuracy(m) for m in v] for k, v in matrices.items()}
    gain = np.subtract(accuracy["augmented"], accuracy["real"])
    return [
        stats(accuracy["real"]),
        stats(accuracy["augmented"]),
        f"{gain.mean():+.3f} ± {gain.std(ddof=1) if len(gain) > 1 else 0.0:.3f}",
        stats(balanced["real"]),
        stats(balanced["augmented"]),
    ]


def main(argv):
    from gan_tf import load_run
    from gan_tf.visualize import plot_confusion_matrices

    run_dirs = argv[1:]
    if not run_dirs:
        raise app.UsageError("name one or more class-conditional run directories")
    real_counts = [int(n) for n in FLAGS.real_counts]
    generated_counts = [int(n) for n in FLAGS.generated_counts]
    seeds = [int(s) for s in FLAGS.seeds]
    print(
        f"budget: {FLAGS.steps} steps of batch {FLAGS.batch_size} per classifier "
        f"(Adam 1e-3, cosine decay); seeds {seeds}; mean ± std over seeds\n"
    )
    header = (
        "| run | real | generated | accuracy real | accuracy real+gen | gain | "
        "class recall real | class recall real+gen | seconds |"
    )
    print(header + "\n|" + "---|" * 9)
    everything = []
    for run_dir in run_dirs:
        run = load_run(run_dir)
        if not run.conditional:
            raise app.UsageError(f"{run_dir} is not a class-conditional run")
        records = list(_cells(run, real_counts, generated_counts, seeds))
        for record in records:
            record["run"] = run_dir
        everything += records
        cells = dict.fromkeys((r["real_count"], r["generated_count"]) for r in records)
        for count, generated_count in cells:
            group = [
                r
                for r in records
                if (r["real_count"], r["generated_count"]) == (count, generated_count)
            ]
            seconds = sum(r["seconds"] for r in group)
            row = [os.path.basename(run_dir.rstrip("/")), f"{count:,}", f"{generated_count:,}"]
            print("| " + " | ".join([*row, *_summary(group), f"{seconds:.0f}"]) + " |", flush=True)
            if FLAGS.plot_dir:
                os.makedirs(FLAGS.plot_dir, exist_ok=True)
                first = group[0]
                name = f"{row[0]}_real{count}_gen{generated_count}.png"
                plot_confusion_matrices(
                    {
                        f"{count:,} real": first["real_confusion"],
                        f"+ {generated_count:,} generated": first["augmented_confusion"],
                    },
                    os.path.join(FLAGS.plot_dir, name),
                    class_names=CLASS_NAMES.get(run.config.dataset),
                )
    if FLAGS.json:
        with open(FLAGS.json, "w", encoding="utf-8") as handle:
            json.dump(
                {"steps": FLAGS.steps, "batch_size": FLAGS.batch_size, "records": everything},
                handle,
                indent=1,
            )


if __name__ == "__main__":
    app.run(main)
