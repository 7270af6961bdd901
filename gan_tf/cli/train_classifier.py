"""Trains a domain classifier for the classifier metrics (fd_classifier, kid_classifier, ...).

    python experiments/train_classifier.py --dataset=fashion_mnist

writes ``gan_tf/eval/weights/fashion_mnist_classifier.weights.h5`` (the shipped
location) and a ``.json`` record with its test accuracy beside it. Pass
``--output=PATH`` to write elsewhere and ``--classifier_weights=PATH`` to
``evaluate.py`` (or ``train.py --eval_every``) to use it. Your own images:

    python experiments/train_classifier.py --dataset=folder:~/pets --output=pets.weights.h5

trains on the folder's class sub-folders (32x32, held-out tenth as the test split).
"""

from __future__ import annotations

import os

from absl import flags

from gan_tf.eval import features

FLAGS = flags.FLAGS
flags.DEFINE_string(
    "dataset",
    "fashion_mnist",
    ", ".join((*features.CLASSIFIER_DATASETS, *features.CLASSIFIER_ALIASES))
    + ", or folder:PATH (one sub-folder per class; needs --output).",
)
flags.DEFINE_string("data_dir", None, "Directory with the dataset's raw files (see README).")
flags.DEFINE_bool("download", True, "Let tfds.load download the data if no local files exist.")
flags.DEFINE_string("output", None, "Weights file (.weights.h5); default: the shipped location.")
flags.DEFINE_integer("epochs", 5, "Training epochs.")
flags.DEFINE_integer("batch_size", 128, "Batch size.")
flags.DEFINE_float("learning_rate", 1e-3, "Adam learning rate (cosine-decayed to 0).")
flags.DEFINE_integer("max_examples", None, "Use only the first N training images.")
flags.DEFINE_integer("seed", 0, "Seed of weights and shuffling.")
flags.DEFINE_integer("verbose", 1, "Keras fit verbosity (0 quiet, 1 progress bar, 2 one line).")


def train_classifier() -> None:
    from gan_tf import evaluation
    from gan_tf.errors import ConfigError
    from gan_tf.eval import features

    dataset = features.CLASSIFIER_ALIASES.get(FLAGS.dataset, FLAGS.dataset)
    if features.is_folder(dataset) and not FLAGS.output:
        raise ConfigError(
            f"dataset={dataset} has no shipped classifier location; pass "
            "output=PATH.weights.h5 (then classifier_weights=PATH.weights.h5 to evaluate)",
            "output",
        )
    output = os.path.expanduser(FLAGS.output) if FLAGS.output else None
    output = output or features.shipped_classifier_path(dataset)
    record = evaluation.train_dataset_classifier(
        FLAGS.dataset,
        output,
        data_dir=FLAGS.data_dir,
        download=FLAGS.download,
        epochs=FLAGS.epochs,
        batch_size=FLAGS.batch_size,
        learning_rate=FLAGS.learning_rate,
        max_examples=FLAGS.max_examples,
        seed=FLAGS.seed,
        verbose=FLAGS.verbose,
    )
    print(
        f"{output}: test accuracy {record['test_accuracy']:.4f} on {record['test_examples']} "
        f"images ({record['train_examples']} train images, {record['seconds']:.0f} s)"
    )


MAIN = train_classifier
FLAG_NAMES = {}
