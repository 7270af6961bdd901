"""Trains a GAN: ``python experiments/train.py --model=dcgan --dataset=cifar10``.

Every field of :class:`gan_tf.TrainConfig` is a flag (``--help`` lists them with
their defaults); flags left unset take the model's paper defaults. Rerunning
the same command on the same --output_dir resumes from the newest intact checkpoint
(mid-epoch too); SIGTERM and Ctrl-C save one first. ``--restart`` starts again after
moving the old files aside.
"""

from __future__ import annotations

from absl import flags

from gan_tf.cli import common

FLAGS = flags.FLAGS
common.define_config_flags(__name__)
flags.DEFINE_string("output_dir", None, "Run directory (default runs/<model>_<dataset>).")
flags.DEFINE_integer("verbose", 1, "1 shows a progress bar, 0 is quiet.")
flags.DEFINE_bool(
    "restart",
    False,
    "Start again in --output_dir: move its old files to <output_dir>.moved-N first "
    "(nothing is deleted).",
)


def train() -> None:
    import gan_tf
    from gan_tf.rundir import default_run_dir

    config = common.config_from_flags()
    output_dir = FLAGS.output_dir or default_run_dir(config.model, config.dataset)
    gan_tf.train(config, output_dir, verbose=FLAGS.verbose, restart=FLAGS.restart)


MAIN = train
FLAG_NAMES = {}
