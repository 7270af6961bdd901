"""How the semi-supervised GAN trains (Salimans et al., 2016, §5): its training plug,
the data it reads besides the training set, and its test accuracy.

The discriminator trains as a K+1-way classifier on ``labels_per_class`` labelled
examples per class plus every training example unlabelled; a batch alternates
the two (:func:`gan_tf.data.semi_supervised_batches`). The score that matters is
the classifier's accuracy on the test split, logged every epoch.
"""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
import tensorflow as tf

from gan_tf import data
from gan_tf.errors import ConfigError
from gan_tf.models.spec import ModelSpec, TrainingPlug, is_vector
from gan_tf.models.ssgan.networks import classifier

__all__ = ["NAME", "SemiSupervisedData", "SemiSupervisedTraining", "load", "test_accuracy"]

NAME = "ssgan"  # the variant's registry name
LOSS = "semi_supervised"  # the loss of its K+1-way classifier discriminator


@dataclasses.dataclass
class SemiSupervisedData:
    """What a semi-supervised run reads besides its training data.

    Attributes:
      labelled: uint8 images and int32 labels of the labelled examples.
      test: the test split, with labels.
    """

    labelled: tuple[np.ndarray, np.ndarray]
    test: data.ImageDataset

    def batches(self, dataset: data.ImageDataset, batch_size: int, *, seed: int, epoch: int):
        """The epoch's batches (see :func:`gan_tf.data.semi_supervised_batches`)."""
        return data.semi_supervised_batches(
            dataset, self.labelled, batch_size, seed=seed, epoch=epoch
        )


def load(config, dataset: data.ImageDataset) -> SemiSupervisedData:
    """The labelled subset (drawn by ``config.seed``) and the test split of a
    semi-supervised run.

    Args:
      config: the run's :class:`~gan_tf.config.TrainConfig`.
      dataset: its training data, loaded with labels.

    Raises:
      ConfigError: unlabelled data, or too few examples of a class for
        ``labels_per_class``.
      DataNotFoundError: no test split.
    """
    labelled = data.labelled_subset(dataset, config.labels_per_class, seed=config.seed)
    test = data.load_dataset(
        config.dataset,
        split="test",
        data_dir=config.data_dir,
        with_labels=True,
        image_size=config.image_size,
        download=config.download,
        background=config.background,
    )
    return SemiSupervisedData(labelled, test)


def test_accuracy(network: keras.Model, test: data.ImageDataset, batch_size: int = 500) -> float:
    """The share of ``test`` examples whose most likely class is their label.

    Args:
      network: a semi-supervised discriminator (its ``class_logits`` are read) or a
        classifier returning ``[B, K]`` logits.
      test: labelled data.
    """
    if any(layer.name == "class_logits" for layer in network.layers):
        network = classifier(network)
    correct = total = 0
    for images, labels in test.examples.batch(batch_size):
        logits = network(data.to_float_images(images), training=False)
        correct += int(tf.reduce_sum(tf.cast(tf.argmax(logits, -1, tf.int32) == labels, tf.int32)))
        total += int(labels.shape[0])
    return correct / max(total, 1)


test_accuracy.__test__ = False  # a metric, not a test for pytest to collect


class SemiSupervisedTraining(TrainingPlug):
    """The semi-supervised GAN's training plug (:class:`~gan_tf.models.spec.TrainingPlug`).

    - ``validate``: ``loss=semi_supervised``, ``labels_per_class >= 1`` and an even
      ``batch_size`` (half labelled, half unlabelled).
    - ``architecture``: refuses the 2-D toys; adds ``num_classes`` (K) to the knobs.
    - ``examples_per_step``: ``batch_size // 2 * n_critic``, so an epoch is one pass
      over the unlabelled halves of the batches.
    - ``prepare``: the labelled subset and the test split (:func:`load`); also
      checks the batch against the labelled set, before anything is written.
    - ``batches``: labelled and unlabelled examples alternating (unlabelled: -1).
    - ``epoch_metrics``: ``test_accuracy`` of the discriminator's classifier.
    """

    labelled = True
    fields = ("labels_per_class",)

    def validate(self, config, spec: ModelSpec) -> None:
        """Raises :class:`~gan_tf.errors.ConfigError` for another loss, fewer than one
        label per class or an odd ``batch_size``."""
        if config.loss != LOSS:
            raise ConfigError(
                f"model={spec.name} trains with loss={LOSS} (its discriminator is a K+1-way "
                f"classifier, which that loss trains), got loss={config.loss}",
                "loss",
                "model",
            )
        per_class = config.labels_per_class
        if not isinstance(per_class, int) or isinstance(per_class, bool) or per_class < 1:
            raise ConfigError(
                f"model={spec.name} needs labels_per_class >= 1 (e.g. 10 or 100)",
                "labels_per_class",
            )
        if isinstance(config.batch_size, int) and config.batch_size % 2:
            raise ConfigError(
                f"model={spec.name}: a batch is half labelled, half unlabelled; batch_size must "
                f"be even, got {config.batch_size}",
                "batch_size",
            )

    def architecture(self, arch: dict, shape: tuple, num_classes: int | None) -> dict:
        """``arch`` plus ``num_classes`` (the classifier's K).

        Raises:
          ConfigError: 1-D examples (the 2-D toys have no classes to learn).
        """
        if is_vector(shape):
            raise ConfigError(
                f"model={NAME} classifies images; the 2-D toys have no classes to learn "
                "from a few labels (choose an image dataset)",
                "model",
                "dataset",
            )
        return {**arch, "num_classes": num_classes}

    def examples_per_step(self, config) -> int:
        """``batch_size // 2 * n_critic``: an epoch is one pass over the unlabelled halves."""
        return config.batch_size // 2 * config.n_critic

    def prepare(self, config, dataset: data.ImageDataset) -> SemiSupervisedData:
        """The labelled subset and the test split (:func:`load`).

        Raises:
          ConfigError: too few examples of a class, or more labelled examples per
            batch than the labelled set holds.
          DataNotFoundError: no test split.
        """
        state = load(config, dataset)
        self.batches(state, dataset, config, 0)  # checks the batch size now (lazy otherwise)
        return state

    def batches(self, state: SemiSupervisedData, dataset, config, epoch: int):
        """``batch_size * n_critic`` images with labels, labelled and unlabelled (-1)
        alternating (:func:`gan_tf.data.semi_supervised_batches`)."""
        return state.batches(
            dataset, config.batch_size * config.n_critic, seed=config.seed, epoch=epoch
        )

    def epoch_metrics(self, state: SemiSupervisedData, gan) -> dict:
        """``{"test_accuracy"}`` of ``gan.discriminator``'s classifier (5 digits)."""
        return {"test_accuracy": round(test_accuracy(gan.discriminator, state.test), 5)}
