"""Colour baselines on emoji: models x sizes x augmentation, trained for a CPU budget and scored.

    python benchmarks/colour_baseline.py [--table=main|small|long] [--models=...] [--sides=32,64]
        [--augments=none,flip+translation+color] [--step_scale=1.0] [--threads=0]
        [--output_root=runs/colour] [--data_dir=~/.keras/datasets/emoji]

Tables (each row one run; rerunning resumes and rescores, finished runs are only rescored):

* ``main``: dcgan, cgan, wgan_gp and sngan at 32 and 64 px, with and without DiffAugment,
  for the generator-step budgets in ``STEPS`` (about 4 CPU minutes per run on 2 cores:
  the n_critic=5 models get fewer generator steps), with the CPU widths in ``CPU_ARCH``.
* ``small``: the small-data case, the first 1,000 training emoji at 32 px (dcgan), no
  augmentation vs DiffAugment vs adaptive augmentation, the same 2,500 steps; also the
  mean D(x) of the final discriminator on those 1,000 images and on unseen ones. These
  runs are scored against unseen real emoji of their own class mix (see
  :func:`unseen_balanced`), not the natural held-out split.
* ``long``: the README's 64x64 dcgan run (2,000 steps).

Each run trains at least 10 epochs (an epoch is at most one pass over its data), is
scored on its last checkpoint with the shipped emoji classifier (classifier-FD, KID,
precision/recall, class coverage of 2,000 samples against the 740 held-out images),
and appends one markdown row to ``<output_root>/<table>.md`` as well as printing it.
"""

from __future__ import annotations

import csv
import math
import os

import _setup  # noqa: F401 - quiet TF logs; gan_tf importable from the checkout
from absl import app, flags, logging

FLAGS = flags.FLAGS
flags.DEFINE_enum("table", "main", ["main", "small", "long"], "Which set of runs.")
flags.DEFINE_list("models", ["dcgan", "cgan", "wgan_gp", "sngan"], "Models (main table).")
flags.DEFINE_list("sides", ["32", "64"], "Image sides (main table).")
flags.DEFINE_list("augments", ["none", "flip+translation+color"], "'none' or names joined by +.")
flags.DEFINE_float("step_scale", 1.0, "Multiply every step budget (0.01 for a smoke run).")
flags.DEFINE_integer("num_samples", 2000, "Generated images scored per run.")
flags.DEFINE_string("recipe", "paper", "Training recipe of every run (the tables use paper).")
flags.DEFINE_string("precision", "float32", "Precision of every run (the tables use float32).")
flags.DEFINE_integer("threads", 0, "TensorFlow intra-op threads (0 = TensorFlow's choice).")
flags.DEFINE_string("output_root", "runs/colour", "Where the runs and tables go.")
flags.DEFINE_string("data_dir", None, "Where the emoji packages are (default: make data's).")

# Generator steps per run, chosen for ~4 minutes each on 2 CPU cores (docs/benchmarks.md).
STEPS = {
    32: {"dcgan": 1200, "cgan": 1200, "wgan_gp": 300, "sngan": 300},
    64: {"dcgan": 350, "cgan": 350, "wgan_gp": 90, "sngan": 90},
}
# Paper widths are 3.8 s (dcgan, 64 px) to 20 s (sngan) a step here; these fit a CPU.
CPU_ARCH = {
    "dcgan": {"base_width": 32, "max_width": 256},
    "cgan": {"base_width": 32, "max_width": 256},
    "wgan_gp": {"base_width": 32, "max_width": 256},
    "sngan": {"g_width": 32, "d_width": 32},
}
SMALL_EXAMPLES, SMALL_STEPS, LONG_STEPS = 1000, 2500, 2000
EPOCHS = 10  # at least: the progress GIF's frames
BATCH = 64
HEADER = (
    "| run | steps | train min | FD-emoji-classifier | KID | precision | recall | "
    "classes covered |\n|---|---|---|---|---|---|---|---|"
)


def run_one(name: str, model: str, side: int, steps: int, **overrides) -> dict:
    import gan_tf
    from gan_tf import data, evaluation

    steps = max(EPOCHS, int(round(steps * FLAGS.step_scale)))
    n_critic = gan_tf.make_config(model=model).n_critic
    examples = (
        overrides.get("max_examples")
        or data.load_dataset("emoji", data_dir=FLAGS.data_dir, download=False).num_examples
    )
    # an epoch is at most one pass over the data and at least a tenth of the budget
    per_epoch = min(examples // (BATCH * n_critic), math.ceil(steps / EPOCHS))
    epochs = math.ceil(steps / per_epoch)
    config = gan_tf.make_config(
        model=model,
        dataset="emoji",
        data_dir=FLAGS.data_dir,
        image_size=side,
        epochs=epochs,
        steps_per_epoch=per_epoch,
        checkpoint_every=max(1, epochs // EPOCHS),
        batch_size=BATCH,
        arch=CPU_ARCH[model],
        recipe=FLAGS.recipe,
        precision=FLAGS.precision,
        **overrides,
    )
    run_dir = os.path.join(FLAGS.output_root, name)
    gan_tf.train(config, run_dir, verbose=0)
    reference = {}
    if FLAGS.table == "small":  # real images of the training subset's class mix, never seen
        reference = {"reference": unseen_balanced(side, config.max_examples)}
    count = len(reference["reference"][0]) if reference else 740  # else the held-out split
    record = evaluation.evaluate_run(
        run_dir,
        "fd_classifier,kid_classifier,pr_classifier,coverage",
        num_samples=FLAGS.num_samples,
        num_real=740,
        real_split="test",
        kid_subset_size=min(count, FLAGS.num_samples),
        **reference,
    )
    with open(os.path.join(run_dir, "metrics.csv"), encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    seconds = sum(float(row["seconds"]) for row in rows)
    row = {"run": name, "steps": int(rows[-1]["step"]), "seconds": seconds, **record["metrics"]}
    if FLAGS.table == "small":
        row["d_train"], row["d_unseen"] = discriminator_on_real(run_dir, config)
    return row


def unseen_balanced(side: int, used: int):
    """The first ``max_examples`` emoji of the train split are class-balanced (the
    loader interleaves the classes), unlike the natural mix of the held-out split (58 %
    People & Body). The small-data runs are therefore scored against real images of
    their own mix that they never saw: the rest of the train split plus the held-out
    split, an equal number per class (59 each, 531 in all, for 1,000 used)."""
    import numpy as np

    from gan_tf import data

    parts = []
    for split, skip in (("train", used), ("test", 0)):
        loaded = data.load_dataset(
            "emoji",
            split=split,
            data_dir=FLAGS.data_dir,
            with_labels=True,
            image_size=side,
            download=False,
        )
        images, labels = data.as_arrays(loaded)
        parts.append((images[skip:], labels[skip:]))
    images = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts])
    per_class = np.bincount(labels).min()
    keep = np.concatenate(
        [np.flatnonzero(labels == k)[:per_class] for k in range(labels.max() + 1)]
    )
    keep.sort()
    return images[keep], labels[keep]


def discriminator_on_real(run_dir: str, config) -> tuple[float, float]:
    """Mean sigmoid(D(x)) of the last checkpoint's discriminator on the run's training
    images and on unseen real images of the same class mix (:func:`unseen_balanced`):
    a gap means D memorised its training set."""
    import numpy as np
    import tensorflow as tf

    from gan_tf import data, rundir
    from gan_tf.build import build_gan

    info = rundir.run_info(run_dir)
    gan = build_gan(config, tuple(info["shape"]), info["num_classes"])
    checkpoint = tf.train.Checkpoint(discriminator=gan.discriminator)
    checkpoint.restore(rundir.find_checkpoint(run_dir)).expect_partial()
    trained = data.load_dataset(
        "emoji",
        data_dir=FLAGS.data_dir,
        image_size=config.image_size,
        max_examples=config.max_examples,
        download=False,
    )
    means = []
    for images in (
        data.as_arrays(trained)[0],
        unseen_balanced(config.image_size, config.max_examples)[0],
    ):
        logits = gan.discriminator(data.to_float_images(tf.constant(images)), training=False)
        means.append(float(np.mean(tf.sigmoid(logits))))
    return means[0], means[1]


def jobs():
    """(run name, model, side, generator steps, config overrides) of the chosen table."""
    if FLAGS.table == "long":
        yield "dcgan_64_long", "dcgan", 64, LONG_STEPS, {}
    elif FLAGS.table == "small":
        small = {"max_examples": SMALL_EXAMPLES}
        yield "small_none", "dcgan", 32, SMALL_STEPS, small
        yield (
            "small_diffaugment",
            "dcgan",
            32,
            SMALL_STEPS,
            {**small, "augment": "flip,translation,color"},
        )
        yield (
            "small_ada",
            "dcgan",
            32,
            SMALL_STEPS,
            {**small, "augment": "flip,translation,color", "ada_target": 0.6},
        )
    else:
        for side in map(int, FLAGS.sides):
            for model in FLAGS.models:
                for augment in FLAGS.augments:
                    policy = "" if augment == "none" else augment.replace("+", ",")
                    name = f"{model}_{side}_{augment.replace('+', '-')}"
                    yield name, model, side, STEPS[side][model], {"augment": policy}


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)  # no per-checkpoint INFO lines
    if FLAGS.threads:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(FLAGS.threads)
        tf.config.threading.set_inter_op_parallelism_threads(FLAGS.threads)
    os.makedirs(FLAGS.output_root, exist_ok=True)
    header = HEADER
    if FLAGS.table == "small":
        header = header.replace(" |\n|", " | D(train) / D(unseen) |\n|---|")
    print(header, flush=True)
    table = os.path.join(FLAGS.output_root, f"{FLAGS.table}.md")
    for name, model, side, steps, overrides in jobs():
        row = run_one(name, model, side, steps, **overrides)
        line = (
            f"| {row['run']} | {row['steps']} | {row['seconds'] / 60:.1f} | "
            f"{row['fd_classifier']:.2f} | {row['kid_classifier']:.4f} | "
            f"{row['precision_classifier']:.3f} | {row['recall_classifier']:.3f} | "
            f"{row['classes_covered']} |"
        )
        if "d_train" in row:
            line += f" {row['d_train']:.2f} / {row['d_unseen']:.2f} |"
        print(line, flush=True)
        with open(table, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")


if __name__ == "__main__":
    app.run(main)
