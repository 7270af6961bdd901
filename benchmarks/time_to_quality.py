"""Wall time for DCGAN on Fashion-MNIST to reach a classifier-FD, per precision.

    python benchmarks/time_to_quality.py [--target_fd=6.0] [--max_epochs=4]
                                         [--precisions=float32,mixed_bfloat16]

Trains (or resumes) ``OUTPUT_ROOT/<precision>`` with ``--eval_every=1`` (5,000
generated vs 5,000 test images, the shipped classifier) and reports, from each
run's ``metrics.csv``, the training seconds (evaluation time excluded) until the
first epoch whose ``fd_classifier`` is at or below ``--target_fd``, plus the FD
after every epoch, so precisions can be compared at equal epochs too.
"""

from __future__ import annotations

import csv
import os

import _setup  # noqa: F401 - quiet TF logs; gan_tf importable from the checkout
from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_list("precisions", ["float32", "mixed_bfloat16"], "Precisions to compare.")
flags.DEFINE_float("target_fd", 6.0, "Classifier-FD to reach.")
flags.DEFINE_integer("max_epochs", 4, "Epoch budget per precision.")
flags.DEFINE_string("model", "dcgan", "Model.")
flags.DEFINE_string("output_root", "runs/time_to_quality", "Where the runs go.")
flags.DEFINE_bool("download", True, "Let tfds.load download Fashion-MNIST if not found.")


def main(argv):
    del argv
    import gan_tf

    print(
        "| precision | epoch | fd_classifier | training seconds so far "
        f"| reached {FLAGS.target_fd}? |"
    )
    print("|---|---|---|---|---|")
    for precision in FLAGS.precisions:
        config = gan_tf.make_config(
            model=FLAGS.model,
            dataset="fashion_mnist",
            precision=precision,
            epochs=FLAGS.max_epochs,
            eval_every=1,
            eval_metrics="fd_classifier",
            download=FLAGS.download,
        )
        run_dir = os.path.join(FLAGS.output_root, f"{FLAGS.model}_{precision}")
        gan_tf.train(config, run_dir, verbose=0)
        with open(os.path.join(run_dir, "metrics.csv"), encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        elapsed, reached = 0.0, False
        for row in rows:
            elapsed += float(row["seconds"])
            fd = float(row["fd_classifier"])
            first = not reached and fd <= FLAGS.target_fd
            reached = reached or first
            mark = "**first**" if first else ("yes" if reached else "no")
            print(
                f"| {precision} | {row['epoch']} | {fd:.3f} | {elapsed:.0f} | {mark} |", flush=True
            )


if __name__ == "__main__":
    app.run(main)
