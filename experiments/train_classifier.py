"""Trains a domain classifier for the classifier metrics (fd_classifier, kid_classifier, ...).

    python experiments/train_classifier.py --dataset=fashion_mnist

writes ``gan_tf/eval/weights/fashion_mnist_classifier.weights.h5`` (the shipped
location) and a ``.json`` record with its test accuracy beside it. Pass
``--output=PATH`` to write elsewhere and ``--classifier_weights=PATH`` to
``evaluate.py`` (or ``train.py --eval_every``) to use it. Your own images:

    python experiments/train_classifier.py --dataset=folder:~/pets --output=pets.weights.h5

trains on the folder's class sub-folders (32x32, held-out tenth as the test split).
"""

import os
import sys

# a checkout works without `pip install` (the installed command is `gan-tf train-classifier`)
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from gan_tf.cli import run_command  # noqa: E402

if __name__ == "__main__":
    run_command("train-classifier")
