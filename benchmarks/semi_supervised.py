"""The semi-supervised GAN against its labelled-only baseline (Salimans et al., 2016, §5).

    python benchmarks/semi_supervised.py [--cases=mnist_5k:10,fashion_mnist:10,...]
        [--epoch_scale=1.0] [--output_root=runs/semi_supervised]

Each case ``dataset:labels_per_class`` trains ``--model=ssgan`` (the authors' MNIST
networks and optimizer) for the epochs in :data:`EPOCHS`, with the labelled examples
drawn by seed 0, and reports the discriminator-classifier's accuracy on the test split
after the last epoch and the best epoch's. The baseline is the same classifier network
(:func:`gan_tf.models.ssgan.labelled_only_baseline`) trained on the labelled
examples alone, with the same optimizer, batch and number of updates, scored at the
same epoch boundaries: after its last update and at its best epoch (at the authors'
learning rate the small labelled-only runs can fall apart late, so the best epoch is
the fair comparison). ``svhn_emoji`` is the SVHN loader fed real colour pixels: the
32x32 emoji train and held-out splits written as SVHN's ``train_32x32.mat`` and
``test_32x32.mat`` (the 9 emoji categories as the classes), since SVHN itself cannot
be downloaded here. Rerunning resumes unfinished runs and reprints the table. The
watchdog only warns (``on_divergence=warn``): a collapse of the generator's samples is
reported in the table's last column, and training goes on, because the classifier is
what is measured.
"""

from __future__ import annotations

import csv
import os

import _setup  # noqa: F401 - quiet TF logs; gan_tf importable from the checkout
from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_list(
    "cases",
    ["mnist_5k:10", "fashion_mnist:10", "fashion_mnist:100", "svhn_emoji:10"],
    "dataset:labels_per_class pairs.",
)
flags.DEFINE_float("epoch_scale", 1.0, "Multiply every epoch count (a smoke run: 0.05).")
flags.DEFINE_string("output_root", "runs/semi_supervised", "Where the runs go.")

# Epochs per dataset: about the same number of updates (4,000-12,000) for each.
EPOCHS = {"mnist_5k": 50, "fashion_mnist": 10, "svhn_emoji": 60}


def svhn_from_emoji(directory: str) -> str:
    """Writes the 32x32 emoji splits in SVHN's .mat format (label 0 stored as 10)."""
    import numpy as np
    import scipy.io

    from gan_tf import data

    os.makedirs(directory, exist_ok=True)
    for split in ("train", "test"):
        path = os.path.join(directory, f"{split}_32x32.mat")
        if os.path.exists(path):
            continue
        dataset = data.load_dataset("emoji", split=split, with_labels=True, image_size=32)
        images, labels = data.as_arrays(dataset)
        stored = np.where(labels == 0, 10, labels).astype(np.uint8)[:, None]
        scipy.io.savemat(path, {"X": np.transpose(images, (1, 2, 3, 0)), "y": stored})
    return directory


def run_case(case: str) -> str:
    import gan_tf
    from gan_tf import data, rundir
    from gan_tf.models import ssgan

    name, per_class = case.split(":")
    dataset_name, data_dir = name, None
    if name == "svhn_emoji":
        dataset_name = "svhn"
        data_dir = svhn_from_emoji(os.path.join(FLAGS.output_root, "svhn_emoji_data"))
    epochs = max(1, round(EPOCHS[name] * FLAGS.epoch_scale))
    config = gan_tf.make_config(
        model="ssgan",
        dataset=dataset_name,
        data_dir=data_dir,
        labels_per_class=int(per_class),
        epochs=epochs,
        keep_checkpoints=1,
        # the generator's samples may collapse under feature matching (the watchdog says
        # so in run.json); the classifier is what is measured, so train on
        on_divergence="warn",
    )
    run_dir = os.path.join(FLAGS.output_root, f"{name}_{per_class}")
    summary = gan_tf.train(config, run_dir, verbose=0)
    with open(os.path.join(run_dir, "metrics.csv"), encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    accuracies = [float(row["test_accuracy"]) for row in rows]
    seconds = sum(float(row["seconds"]) for row in rows)
    dataset = data.load_dataset(dataset_name, data_dir=data_dir, with_labels=True)
    baseline = ssgan.labelled_only_baseline(
        config, dataset, steps=summary["step"], eval_every=summary["steps_per_epoch"]
    )
    labelled = baseline["labelled"]
    recorded = rundir.run_info(run_dir).get("events", [])  # every attempt's, from run.json
    events = ", ".join(f"{e['kind']} at step {e['step']}" for e in recorded) or "none"
    return (
        f"| {name} | {per_class} ({labelled}) | {summary['step']} | "
        f"{baseline['test_accuracy']:.4f} | {baseline['best_test_accuracy']:.4f} | "
        f"{accuracies[-1]:.4f} | {max(accuracies):.4f} | "
        f"{accuracies[-1] - baseline['test_accuracy']:+.4f} | "
        f"{max(accuracies) - baseline['best_test_accuracy']:+.4f} | {seconds / 60:.1f} | {events} |"
    )


def main(argv):
    del argv
    rows = [run_case(case) for case in FLAGS.cases]
    print(
        "| data | labels per class (total) | updates | labelled-only accuracy (last) | "
        "labelled-only (best epoch) | ssgan accuracy (last epoch) | ssgan (best epoch) | "
        "ssgan - baseline (last) | ssgan - baseline (best) | ssgan minutes | watchdog |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(row)


if __name__ == "__main__":
    app.run(main)
