"""Rebuilds a run's progress GIF: ``python experiments/make_gif.py --output_dir=RUN``."""

import os
import sys

# a checkout works without `pip install` (the installed command is `gan-tf gif`)
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from gan_tf.cli import run_command  # noqa: E402

if __name__ == "__main__":
    run_command("gif")
