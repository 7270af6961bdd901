"""The baseline table: every model on Fashion-MNIST for the same epoch budget, evaluated.

    python benchmarks/baseline.py [--epochs=3] [--output_root=runs/baseline]

For each model it trains (or resumes, or finds finished) ``OUTPUT_ROOT/<model>``
with the model's paper defaults, then evaluates its last checkpoint with the
README's protocol: 10,000 generated images against the 10,000 Fashion-MNIST
test images in the shipped classifier's feature space (FD, KID, precision/recall,
class coverage; CAS for the conditional model). It adds the real-vs-real floor:
the first 10,000 *training* images scored the same way. Prints a Markdown table
and writes it, with every number, to ``OUTPUT_ROOT/baseline.{md,json}``.
Train time is the sum of the per-epoch seconds in each run's ``metrics.csv``.
"""

from __future__ import annotations

import csv
import json
import os

import _setup  # noqa: F401 - quiet TF logs; gan_tf importable from the checkout
from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_list("models", None, "Models to train (default: every registered model).")
flags.DEFINE_integer("epochs", 3, "Epoch budget of every model (passes of D over the data).")
flags.DEFINE_string("output_root", "runs/baseline", "Where the runs and the table go.")
flags.DEFINE_integer("num_samples", 10_000, "Generated images per model.")
flags.DEFINE_integer("num_real", 10_000, "Real reference images (test split).")
flags.DEFINE_string("data_dir", None, "Raw Fashion-MNIST files (default: the usual places).")
flags.DEFINE_bool("download", True, "Let tfds.load download Fashion-MNIST if not found.")

METRICS = "fd_classifier,kid_classifier,pr_classifier,coverage"
COLUMNS = (
    ("FD-fashion_mnist-classifier", "fd_classifier", "{:.3f}"),
    ("KID (classifier)", "kid_classifier", "{:.4f}"),
    ("precision", "precision_classifier", "{:.3f}"),
    ("recall", "recall_classifier", "{:.3f}"),
    ("classes covered", "classes_covered", "{:d}"),
    ("class KL", "class_kl", "{:.3f}"),
    ("CAS", "cas", "{:.3f}"),
)


def train_time(run_dir: str) -> tuple[float, int]:
    """Summed per-epoch training seconds and the last step, from ``metrics.csv``."""
    with open(os.path.join(run_dir, "metrics.csv"), encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return sum(float(row["seconds"]) for row in rows), int(rows[-1]["step"])


def run_model(model: str) -> dict:
    import gan_tf
    from gan_tf import evaluation

    config = gan_tf.make_config(
        model=model,
        dataset="fashion_mnist",
        epochs=FLAGS.epochs,
        recipe="paper",  # the published table: each paper's settings, in float32
        precision="float32",
        data_dir=FLAGS.data_dir,
        download=FLAGS.download,
    )
    run_dir = os.path.join(FLAGS.output_root, model)
    gan_tf.train(config, run_dir, verbose=1)
    metrics = METRICS + (",cas" if gan_tf.models.get_model(model).conditional else "")
    record = evaluation.evaluate_run(
        run_dir,
        metrics,
        num_samples=FLAGS.num_samples,
        num_real=FLAGS.num_real,
        download=FLAGS.download,
    )
    seconds, steps = train_time(run_dir)
    return {"model": model, "train_seconds": seconds, "generator_steps": steps, **record}


def real_floor() -> dict:
    """The same protocol with real training images in place of generated ones."""
    from gan_tf import data, evaluation

    evaluator = evaluation.Evaluator(
        "fashion_mnist",
        METRICS + ",cas",
        num_real=FLAGS.num_real,
        data_dir=FLAGS.data_dir,
        download=FLAGS.download,
    )
    train = data.load_dataset(
        "fashion_mnist",
        split="train",
        with_labels=True,
        max_examples=FLAGS.num_samples,
        data_dir=FLAGS.data_dir,
        download=FLAGS.download,
    )
    images, labels = data.as_arrays(train)
    return {
        "model": "real train images",
        "metrics": evaluator(images, labels),
        "protocol": evaluator.protocol(len(images)),
    }


def table(rows: list[dict]) -> str:
    header = ["model", "G steps", "train time"] + [name for name, _, _ in COLUMNS]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = [row["model"]]
        cells.append(str(row.get("generator_steps", "—")))
        cells.append(f"{row['train_seconds'] / 60:.1f} min" if "train_seconds" in row else "—")
        for _, key, form in COLUMNS:
            value = row["metrics"].get(key)
            cells.append("—" if value is None else form.format(value))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv):
    del argv
    os.makedirs(FLAGS.output_root, exist_ok=True)
    from gan_tf.errors import ConfigError
    from gan_tf.models import model_names

    rows = []
    for model in FLAGS.models or model_names():
        try:
            rows.append(run_model(model))
        except ConfigError as error:  # e.g. a variant that does not build 28x28 images
            print(f"skipped {model}: {error}", flush=True)
    rows.append(real_floor())
    text = table(rows)
    print(text)
    with open(os.path.join(FLAGS.output_root, "baseline.md"), "w", encoding="utf-8") as handle:
        handle.write(f"Fashion-MNIST, {FLAGS.epochs} epochs per model\n\n{text}\n")
    with open(os.path.join(FLAGS.output_root, "baseline.json"), "w", encoding="utf-8") as handle:
        json.dump(rows, handle, indent=2)


if __name__ == "__main__":
    app.run(main)
