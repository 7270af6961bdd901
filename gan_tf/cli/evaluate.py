"""Evaluates a training run: ``python experiments/evaluate.py --output_dir=RUN``.

Samples ``--num_samples`` images from the run's newest checkpoint (``--checkpoint=best``,
an epoch or a path for another one; or reads
``--samples=file.npz`` from ``sample.py``), scores them against the first
``--num_real`` images of the dataset's ``--real_split`` and writes the metrics
with the protocol that made them to ``RUN/eval.json`` (see README, "Evaluation").
"""

from __future__ import annotations

from absl import flags

from gan_tf.cli import common
from gan_tf.eval import names

FLAGS = flags.FLAGS
flags.DEFINE_string("output_dir", None, "The training run to evaluate (its --output_dir).")
flags.DEFINE_string(
    "metrics",
    "auto",
    "auto (the domain classifier's metrics where one ships, else fid,kid,pr), or a comma "
    f"list of: {', '.join(names.METRICS)}.",
)
flags.DEFINE_integer("num_samples", 10_000, "Generated images to score.")
flags.DEFINE_string("samples", None, "Score this .npz (from sample.py) instead of sampling.")
flags.DEFINE_integer("num_real", 10_000, "Real reference images (first N of --real_split).")
flags.DEFINE_enum("real_split", "test", ["test", "train"], "Split of the real reference images.")
flags.DEFINE_string("classifier_weights", None, "Domain classifier weights (default: shipped).")
flags.DEFINE_string(
    "inception_weights", "imagenet", "InceptionV3 weights: 'imagenet' (download) or a .h5 path."
)
flags.DEFINE_string("data_dir", None, "Raw files of the real data (default: the run's).")
flags.DEFINE_bool("download", True, "Let tfds.load download the real data if not found.")
flags.DEFINE_integer("kid_subsets", 100, "KID: number of random subsets.")
flags.DEFINE_integer("kid_subset_size", 1000, "KID: images per subset.")
flags.DEFINE_integer("pr_k", 3, "Precision/recall: k of the k-NN radii.")
flags.DEFINE_integer("cas_epochs", 5, "CAS: epochs of the classifier trained on samples.")
flags.DEFINE_integer("seed", 0, "Seed of the noise, KID subsets and CAS training.")
flags.DEFINE_string("out", None, "Where to write the JSON (default OUTPUT_DIR/eval.json).")
flags.DEFINE_string(
    "checkpoint",
    None,
    "Evaluate this checkpoint: best (the best --eval_every evaluation's), latest (the "
    "default), an epoch, or a path.",
)


def evaluate() -> None:
    from gan_tf import evaluation

    common.require_run_dir(FLAGS.output_dir)

    arguments = {
        "num_real": FLAGS.num_real,
        "real_split": FLAGS.real_split,
        "classifier_weights": FLAGS.classifier_weights,
        "inception_weights": FLAGS.inception_weights,
        "download": FLAGS.download,
        "kid_subsets": FLAGS.kid_subsets,
        "kid_subset_size": FLAGS.kid_subset_size,
        "pr_k": FLAGS.pr_k,
        "cas_epochs": FLAGS.cas_epochs,
    }
    if FLAGS.data_dir:
        arguments["data_dir"] = FLAGS.data_dir
    record = evaluation.evaluate_run(
        FLAGS.output_dir,
        FLAGS.metrics,
        num_samples=FLAGS.num_samples,
        samples=FLAGS.samples,
        output=FLAGS.out,
        seed=FLAGS.seed,
        checkpoint=FLAGS.checkpoint,
        **arguments,
    )
    print(f"{record['model']} epoch {record['epoch']} ({record['samples']}):")
    for name, value in record["metrics"].items():
        if not isinstance(value, list):
            print(f"  {name:22s} {value:.5g}")
    print(f"wrote {FLAGS.out or FLAGS.output_dir + '/eval.json'} ({record['seconds']:.0f} s)")


MAIN = evaluate
FLAG_NAMES = {"output": "out", "split": "real_split"}
