"""Trains a GAN: ``python experiments/train.py --model=dcgan --dataset=cifar10``.

Flags left unset take the model's paper defaults (see README). Rerunning the
same command on the same --output_dir resumes from the latest checkpoint.
"""

from __future__ import annotations

import _cli  # noqa: F401  (sets up logging and sys.path first)
from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_string("model", "dcgan", "GAN variant: gan | dcgan | cgan | wgan | wgan_gp.")
flags.DEFINE_string(
    "dataset",
    "fashion_mnist",
    "mnist | fashion_mnist | cifar10 | svhn | celeb_a | mnist_5k | ring8 | grid25 | folder:PATH.",
)
flags.DEFINE_string(
    "data_dir", None, "Directory with the dataset's raw files (also tfds' data dir)."
)
flags.DEFINE_bool(
    "download", True, "Let tfds.load download the dataset if no local files are found."
)
flags.DEFINE_string("output_dir", None, "Run directory (default runs/<model>_<dataset>).")
flags.DEFINE_integer(
    "epochs", None, "Total epochs; a larger value extends a finished run (default 5)."
)
flags.DEFINE_integer("batch_size", None, "Batch size (default: the model's, 64 for gan and dcgan).")
flags.DEFINE_integer("latent_dim", None, "Noise dimension (default 100).")
flags.DEFINE_float("learning_rate", None, "Adam learning rate for both networks (default 2e-4).")
flags.DEFINE_float("beta_1", None, "Adam beta_1 (default 0.5).")
flags.DEFINE_float("beta_2", None, "Adam beta_2 (default 0.999).")
flags.DEFINE_string(
    "loss",
    None,
    "non_saturating | minimax | wasserstein | least_squares | hinge (model's default).",
)
flags.DEFINE_string("optimizer", None, "adam | rmsprop (model's default).")
flags.DEFINE_float(
    "d_learning_rate", None, "Discriminator learning rate (TTUR; default: --learning_rate)."
)
flags.DEFINE_string("lr_decay", None, "none | linear (to 0 at the last step).")
flags.DEFINE_integer("n_critic", None, "Discriminator updates per generator update (wgan*: 5).")
flags.DEFINE_string(
    "update",
    None,
    "alternating (D, then G vs the updated D; default) | simultaneous (one forward pass).",
)
flags.DEFINE_float("gp_weight", None, "WGAN-GP gradient penalty weight (wgan_gp: 10; 0 = off).")
flags.DEFINE_float(
    "clip_value", None, "Clip critic weights to [-c, c] after every update (wgan: 0.01; 0 = off)."
)
flags.DEFINE_float("label_flip", None, "Probability of swapping real/fake roles per example in D.")
flags.DEFINE_float("instance_noise", None, "Std of noise on D inputs, annealed linearly to 0.")
flags.DEFINE_float("d_dropout", None, "Dropout rate in the discriminator.")
flags.DEFINE_bool("spectral_norm", None, "Spectrally normalise the discriminator's layers.")
flags.DEFINE_float("ema", None, "Decay of an EMA of generator weights used for samples (0 = off).")
flags.DEFINE_float("label_smoothing", None, "One-sided label smoothing: real targets become 1-x.")
flags.DEFINE_integer(
    "image_size", None, "Resize images to this side (default: dataset's; 64 for folders)."
)
flags.DEFINE_integer("max_examples", None, "Use only the first N training examples.")
flags.DEFINE_integer("steps_per_epoch", None, "Cap the steps of each epoch (smoke runs).")
flags.DEFINE_integer("checkpoint_every", None, "Save a checkpoint every N epochs (and at the end).")
flags.DEFINE_integer("keep_checkpoints", None, "How many checkpoints to keep (default 3).")
flags.DEFINE_integer("log_every", None, "Write window-mean losses every N steps (default 50).")
flags.DEFINE_integer("grid_size", None, "Sample grids are N x N images (default 8).")
flags.DEFINE_string(
    "precision", None, "float32 | mixed_bfloat16 | mixed_float16 (loss-scaled); default float32."
)
flags.DEFINE_bool("jit_compile", None, "Compile the train step with XLA (default false).")
flags.DEFINE_integer(
    "steps_per_call", None, "Train steps fused into one tf.function call (default 1)."
)
flags.DEFINE_string(
    "strategy",
    None,
    "tf.distribute: default | mirrored (all local GPUs) | multi_worker (TF_CONFIG) | tpu.",
)
flags.DEFINE_string("tpu", None, "TPU address or name for --strategy=tpu ('local' on a TPU VM).")
flags.DEFINE_integer(
    "eval_every", None, "Evaluate every N epochs and at the end into metrics.csv (0 = off)."
)
flags.DEFINE_string(
    "eval_metrics",
    None,
    "Comma list for --eval_every (default fd_classifier,kid_classifier,pr_classifier,coverage).",
)
flags.DEFINE_integer(
    "eval_samples", None, "Generated and real images per --eval_every evaluation (default 5000)."
)
flags.DEFINE_string(
    "classifier_weights", None, "Domain classifier weights (default: the ones shipped)."
)
flags.DEFINE_string(
    "inception_weights", None, "InceptionV3 weights .h5 for fid/kid/pr/is (default: download)."
)
flags.DEFINE_integer("seed", None, "Seed for weights, noise and data order (default 0).")
flags.DEFINE_integer("verbose", 1, "1 shows a progress bar, 0 is quiet.")


def main(argv):
    _cli.reject_arguments(argv)
    import dataclasses

    import gan_tf

    # Every TrainConfig field is a flag of the same name; unset flags (None) take defaults.
    fields = [field.name for field in dataclasses.fields(gan_tf.TrainConfig)]
    config = _cli.run_guarded(gan_tf.make_config, **{name: getattr(FLAGS, name) for name in fields})
    _cli.run_guarded(gan_tf.train, config, verbose=FLAGS.verbose)


if __name__ == "__main__":
    app.run(main)
