"""Trains a domain classifier for the classifier metrics (fd_classifier, kid_classifier, ...).

    gan-tf train-classifier --dataset=fashion_mnist

writes ``fashion_mnist_classifier.weights.h5`` in the current directory (or ``--out``)
and a ``.json`` record with its test accuracy beside it; pass
``--classifier_weights=PATH`` to ``gan-tf evaluate`` (or ``train --eval_every``) to use
it. ``make classifiers`` retrains the shipped ones (``--out`` into
``gan_tf/eval/weights/``). Your own images:

    gan-tf train-classifier --dataset=folder:~/pets --out=pets.weights.h5

trains on the folder's class sub-folders (32x32, held-out tenth as the test split).
"""

from __future__ import annotations

import os

from absl import flags

from gan_tf.cli import common
from gan_tf.eval import features

FLAGS = flags.FLAGS
flags.DEFINE_string(
    "dataset",
    "fashion_mnist",
    ", ".join((*features.CLASSIFIER_DATASETS, *features.CLASSIFIER_ALIASES))
    + ", or folder:PATH (one sub-folder per class).",
)
flags.DEFINE_string("data_dir", None, "Where the dataset's raw files are (docs/training.md#data).")
flags.DEFINE_bool("download", True, "Let tfds.load download the data if no local files exist.")
flags.DEFINE_string(
    "out", None, "Weights file (.weights.h5); default: NAME_classifier.weights.h5 here."
)
common.renamed("output", "out")
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
    name = dataset.partition(":")[2].rstrip("/\\") if features.is_folder(dataset) else dataset
    output = common.out_path(f"{os.path.basename(name) or 'folder'}_classifier.weights.h5")
    if not output.endswith(".weights.h5"):
        raise ConfigError(f"--out must end in .weights.h5 (Keras' weights format), got {output}")
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
