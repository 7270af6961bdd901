"""Exports a run's generator: ``gan-tf export --run_dir=RUN --format=keras``.

The artifact loads with TensorFlow alone (no gan_tf import) and maps noise
``[N, latent_dim]`` (plus int32 labels ``[N]`` for conditional runs) to float32
images in ``[-1, 1]``; the EMA generator is exported when the run kept one.

* ``--format=keras``: ``keras.models.load_model(PATH)`` (default
  ``RUN/export/generator.keras``).
* ``--format=saved_model``: ``tf.saved_model.load(PATH).serve(noise)`` or its
  ``serving_default`` signature (default ``RUN/export/generator_saved_model``).
"""

from __future__ import annotations

from absl import flags

from gan_tf.cli import common

FLAGS = flags.FLAGS
common.define_run_dir()
flags.DEFINE_string("format", "keras", "keras (a .keras file) | saved_model (a directory).")
flags.DEFINE_string(
    "checkpoint",
    None,
    "Export this checkpoint: best (the best --eval_every evaluation's), latest (the "
    "default), an epoch, or a path.",
)
flags.DEFINE_string(
    "out", None, "Where to write (default RUN/export/generator.keras or ..._saved_model)."
)


def export() -> None:
    import gan_tf

    run = gan_tf.load_run(common.require_run_dir(), checkpoint=FLAGS.checkpoint)
    path = run.export(common.out_path(None), format=FLAGS.format)
    inputs = f"noise [N, {run.latent_dim}]" + (" and labels [N]" if run.conditional else "")
    print(
        f"wrote {FLAGS.format} generator of epoch {run.epoch} to {path}: {inputs} -> "
        "images in [-1, 1]"
    )


MAIN = export
FLAG_NAMES = {"path": "out"}
