"""Semi-supervised GAN of Salimans et al., 2016, "Improved Techniques for Training
GANs" (arXiv:1606.03498), §5, with the MNIST networks of the authors' code.

The discriminator is a classifier over the data's K classes: its layer
``class_logits`` gives K logits ``l(x)``, and the generated class is the K+1-th
with its logit fixed at 0. So ``P(real | x) = Z / (Z + 1)`` with ``Z = sum_k exp
l_k``, and the network's output, the usual ``[B, 1]`` real/fake logit, is
``logsumexp_k l_k(x)`` (:class:`RealLogit`). It trains with
:func:`gan_tf.losses.semi_supervised_discriminator_loss` on a few labelled
examples and all examples unlabelled; the generator trains with feature matching
on the last hidden layer (named ``features``).

Networks (the authors' MNIST code): discriminator: Gaussian noise (std 0.3) on
the input, then weight-normalised dense layers (:class:`WeightNormDense` with a
fixed per-unit scale, as the authors' ``nn.DenseLayer``) of ``widths`` units (1000,
500, 250, 250, 250) with ReLU, each followed by Gaussian noise (std 0.5), then the
K class logits (weight-normalised, scale learned). Before the first step, training
sets every scale and bias so the pre-activations on 500 real images have mean 0
and std 1 (:func:`gan_tf.build.initialize_from_data`, the authors' data-dependent
initialisation); the fixed scales then keep the activations near unit size, so
the noise stays a real regulariser (plain dense layers let the activations grow
until it is negligible). Generator: dense 500 -> 500 with softplus and batch norm,
then a weight-normalised tanh output reshaped to the image. The noise layers act
in training only, so the classifier is deterministic at test time.

Architecture knobs: ``widths`` (the discriminator's hidden units, a
``-``-separated list, e.g. ``1000-500-250-250-250``) and ``input_noise`` /
``hidden_noise`` (the noise stds).

Training (:class:`SemiSupervisedTraining`, the spec's training plug): batches
alternate labelled examples (``labels_per_class`` per class, drawn by ``seed``)
and unlabelled ones, an epoch is one pass over the unlabelled halves, and every
epoch logs the classifier's ``test_accuracy`` on the test split.
:func:`labelled_only_baseline` trains the same classifier on the labelled
examples alone, which is what the GAN has to beat.
"""

from __future__ import annotations

from gan_tf.models.spec import ModelSpec
from gan_tf.models.ssgan.baseline import labelled_only_baseline
from gan_tf.models.ssgan.networks import (
    ARCHITECTURE,
    RealLogit,
    build_discriminator,
    build_generator,
    classifier,
)
from gan_tf.models.ssgan.training import (
    LOSS,
    NAME,
    SemiSupervisedData,
    SemiSupervisedTraining,
    load,
    test_accuracy,
)

__all__ = [
    "ARCHITECTURE",
    "SPEC",
    "RealLogit",
    "SemiSupervisedData",
    "SemiSupervisedTraining",
    "build_discriminator",
    "build_generator",
    "classifier",
    "labelled_only_baseline",
    "load",
    "test_accuracy",
]

SPEC = ModelSpec(
    name=NAME,
    paper="Salimans et al., 2016, Improved Techniques for Training GANs (arXiv:1606.03498), "
    "semi-supervised learning (section 5)",
    # the authors' MNIST run: Adam(0.003, 0.5), batch 100 (here 50 labelled + 50 unlabelled)
    defaults={
        "batch_size": 100,
        "learning_rate": 3e-3,
        "beta_1": 0.5,
        "loss": LOSS,
        "labels_per_class": 10,
    },
    build_generator=build_generator,
    build_discriminator=build_discriminator,
    architecture=ARCHITECTURE,
    training=SemiSupervisedTraining(),
)
