"""Trains a GAN: ``python experiments/train.py --model=dcgan --dataset=cifar10``.

Every field of :class:`gan_tf.TrainConfig` is a flag (``--help`` lists them with
their defaults); flags left unset take the model's paper defaults. Rerunning
the same command on the same --output_dir resumes from the latest checkpoint.
"""

import os
import sys

# a checkout works without `pip install` (the installed command is `gan-tf train`)
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from gan_tf.cli import run_command  # noqa: E402

if __name__ == "__main__":
    run_command("train")
