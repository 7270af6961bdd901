"""Evaluates a training run: ``python experiments/evaluate.py --output_dir=RUN``.

Samples ``--num_samples`` images from the run's latest checkpoint (or reads
``--samples=file.npz`` from ``sample.py``), scores them against the first
``--num_real`` images of the dataset's ``--real_split`` and writes the metrics
with the protocol that made them to ``RUN/eval.json`` (see README, "Evaluation").
"""

import os
import sys

# a checkout works without `pip install` (the installed command is `gan-tf evaluate`)
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from gan_tf.cli import run_command  # noqa: E402

if __name__ == "__main__":
    run_command("evaluate")
