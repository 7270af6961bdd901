"""Exports a run's generator: ``python experiments/export.py --output_dir=RUN --format=keras``.

The artifact loads with TensorFlow alone (no gan_tf import) and maps noise
``[N, latent_dim]`` (plus int32 labels ``[N]`` for conditional runs) to float32
images in ``[-1, 1]``; the EMA generator is exported when the run kept one.

* ``--format=keras``: ``keras.models.load_model(PATH)`` (default
  ``RUN/export/generator.keras``).
* ``--format=saved_model``: ``tf.saved_model.load(PATH).serve(noise)`` or its
  ``serving_default`` signature (default ``RUN/export/generator_saved_model``).
"""

import os
import sys

# a checkout works without `pip install` (the installed command is `gan-tf export`)
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from gan_tf.cli import run_command  # noqa: E402

if __name__ == "__main__":
    run_command("export")
