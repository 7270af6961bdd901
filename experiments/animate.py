"""Latent-space animations of a run: ``python experiments/animate.py --output_dir=RUN``.

``--mode=walk`` (default) writes a GIF of ``--count`` parallel walks along great
circles through ``--points`` random noise vectors and back (a seamless loop);
``--mode=classes`` (conditional runs) keeps each cell's noise and morphs its
class through ``--classes`` (default all) and back.
"""

import os
import sys

# a checkout works without `pip install` (the installed command is `gan-tf animate`)
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from gan_tf.cli import run_command  # noqa: E402

if __name__ == "__main__":
    run_command("animate")
