"""Samples a trained run: ``python experiments/sample.py --output_dir=RUN --num=10000``.

Writes ``--out`` (default ``RUN/samples.npz``, or ``RUN/samples_epoch_N.npz`` with
``--epoch=N``: an .npz whose ``images`` are uint8 NHWC, or float32 points for 2-D
toys; conditional runs add ``labels``) from the latest checkpoint, the one saved at
the end of ``--epoch``, or ``--checkpoint=PATH``; and ``--grid`` (a PNG) if asked.
"""

import os
import sys

# a checkout works without `pip install` (the installed command is `gan-tf sample`)
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from gan_tf.cli import run_command  # noqa: E402

if __name__ == "__main__":
    run_command("sample")
