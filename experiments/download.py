"""``gan-tf download`` as a script of this checkout: the same flags (``--help``); the
command and its documentation live in ``gan_tf/cli/download.py``."""

import os
import sys

# a checkout works without `pip install` (the installed command is `gan-tf download`)
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from gan_tf.cli import run_command  # noqa: E402

if __name__ == "__main__":
    run_command("download")
