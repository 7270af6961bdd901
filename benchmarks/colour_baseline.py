"""Colour baselines on emoji: models x sizes x augmentation, trained for a budget and scored.

    python benchmarks/colour_baseline.py [--models=dcgan,cgan,wgan_gp,sngan] [--sides=32,64]
        [--augments=none,flip+translation+color] [--epochs=20] [--max_examples=0]
        [--output_root=runs/colour] [--data_dir=~/.keras/datasets/emoji]

Each run trains with the model's paper defaults (sngan with --arch=g_width=64,d_width=64
on CPU), evaluates its last checkpoint with the shipped emoji classifier
(classifier-FD, KID, precision/recall, class coverage on --num_samples images
against the held-out split) and prints one markdown row: the table of the README.
``--max_examples=1000`` gives the small-data comparison (same epochs, so the same
number of steps with and without augmentation). Runs resume: rerun to finish.
"""

from __future__ import annotations

import csv
import os

import _setup  # noqa: F401 - quiet TF logs; gan_tf importable from the checkout
from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_list("models", ["dcgan", "cgan", "wgan_gp", "sngan"], "Models to train.")
flags.DEFINE_list("sides", ["32", "64"], "Image sides.")
flags.DEFINE_list("augments", ["none", "flip+translation+color"], "'none' or names joined by +.")
flags.DEFINE_integer("epochs", 20, "Epoch budget of every run.")
flags.DEFINE_integer("steps_per_epoch", 0, "Cap steps per epoch (0 = all; smoke runs).")
flags.DEFINE_integer("max_examples", 0, "Train on the first N images only (0 = all 6,822).")
flags.DEFINE_integer("num_samples", 2000, "Generated images scored per run.")
flags.DEFINE_string("output_root", "runs/colour", "Where the runs go.")
flags.DEFINE_string("data_dir", None, "Where the emoji packages are (default: make data's).")

SMALL_SNGAN = {"g_width": 64, "d_width": 64}  # the paper's 256/128 take ~20 s a step here


def run_one(model: str, side: int, augment: str) -> dict:
    import gan_tf
    from gan_tf import evaluation

    policy = "" if augment == "none" else augment.replace("+", ",")
    config = gan_tf.make_config(
        model=model,
        dataset="emoji",
        data_dir=FLAGS.data_dir,
        image_size=side,
        epochs=FLAGS.epochs,
        steps_per_epoch=FLAGS.steps_per_epoch or None,
        max_examples=FLAGS.max_examples or None,
        augment=policy,
        arch=SMALL_SNGAN if model == "sngan" else None,
    )
    name = f"{model}_{side}_{augment.replace('+', '-')}" + (
        f"_{FLAGS.max_examples}" if FLAGS.max_examples else ""
    )
    run_dir = os.path.join(FLAGS.output_root, name)
    gan_tf.train(config, run_dir, verbose=0)
    record = evaluation.evaluate_run(
        run_dir,
        "fd_classifier,kid_classifier,pr_classifier,coverage",
        num_samples=FLAGS.num_samples,
        num_real=740,  # the whole held-out split
        real_split="test",
        kid_subset_size=min(740, FLAGS.num_samples),
    )
    with open(os.path.join(run_dir, "metrics.csv"), encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    seconds = sum(float(row["seconds"]) for row in rows)
    return {"run": name, "steps": int(rows[-1]["step"]), "seconds": seconds, **record["metrics"]}


def main(argv):
    del argv
    print(
        "| run | steps | train min | FD-emoji-classifier | KID | precision | recall | "
        "classes covered |\n|---|---|---|---|---|---|---|---|"
    )
    for model in FLAGS.models:
        for side in map(int, FLAGS.sides):
            for augment in FLAGS.augments:
                row = run_one(model, side, augment)
                print(
                    f"| {row['run']} | {row['steps']} | {row['seconds'] / 60:.1f} | "
                    f"{row['fd_classifier']:.2f} | {row['kid_classifier']:.4f} | "
                    f"{row['precision_classifier']:.3f} | {row['recall_classifier']:.3f} | "
                    f"{row['classes_covered']} |",
                    flush=True,
                )


if __name__ == "__main__":
    app.run(main)
