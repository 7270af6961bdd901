"""Semi-supervised runs (Salimans et al., 2016, §5): their data, their test
accuracy and the labelled-only baseline they are measured against.

A semi-supervised variant (``ModelSpec.semi_supervised``, e.g. ``ssgan``) trains
its discriminator as a K+1-way classifier on ``labels_per_class`` labelled
examples per class plus every training example unlabelled. The score that
matters is the classifier's accuracy on the test split; :func:`labelled_only_baseline`
trains the same classifier network on the labelled examples alone, with the same
optimizer and number of updates, which is what the GAN has to beat.
"""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
import tensorflow as tf

from gan_tf import data, models
from gan_tf.build import build_networks, initialize_from_data, make_optimizer
from gan_tf.config import TrainConfig
from gan_tf.models.ssgan import classifier

__all__ = ["SemiSupervisedData", "labelled_only_baseline", "load", "test_accuracy"]


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


def load(config: TrainConfig, dataset: data.ImageDataset) -> SemiSupervisedData | None:
    """The labelled subset (drawn by ``config.seed``) and the test split of a
    semi-supervised run; ``None`` for other variants.

    Raises:
      ConfigError: too few examples of a class for ``labels_per_class``.
      DataNotFoundError: no test split.
    """
    if not models.get_model(config.model).semi_supervised:
        return None
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


def labelled_only_baseline(
    config: TrainConfig,
    dataset: data.ImageDataset,
    steps: int,
    *,
    eval_every: int = 0,
    verbose: int = 0,
) -> dict:
    """Trains the semi-supervised discriminator's classifier on the labelled examples
    only (cross-entropy, ``config``'s optimizer and learning rate, batches of the
    labelled half of a semi-supervised batch, ``steps`` updates) and scores it.

    Args:
      config: the semi-supervised run's config.
      dataset: its training data, loaded with labels.
      steps: discriminator updates to train for (e.g. the GAN run's).
      eval_every: also score it every this many updates (e.g. the GAN run's
        ``steps_per_epoch``, to compare epoch by epoch); 0 = after the last only.

    Returns:
      ``{"test_accuracy"`` (after the last update), ``"best_test_accuracy"``,
      ``"accuracies"`` (every score, in order), ``"labelled", "steps"}``.
    """
    keras.utils.set_random_seed(config.seed)
    extra = load(config, dataset)
    _, discriminator = build_networks(config, dataset.image_shape, dataset.num_classes)
    initialize_from_data(discriminator, dataset)
    network = classifier(discriminator)
    network.compile(
        optimizer=make_optimizer(config, config.learning_rate, steps),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    half = config.batch_size // 2  # the labelled half of a semi-supervised batch
    examples = data.labelled_batches_for(extra.labelled, half, steps, seed=config.seed)
    every = eval_every if 0 < eval_every < steps and steps % eval_every == 0 else steps
    accuracies = []
    score = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: accuracies.append(test_accuracy(network, extra.test))
    )
    network.fit(
        examples.take(steps).repeat(),
        steps_per_epoch=every,
        epochs=steps // every,
        callbacks=[score],
        verbose=verbose,
    )
    return {
        "test_accuracy": accuracies[-1],
        "best_test_accuracy": max(accuracies),
        "accuracies": accuracies,
        "labelled": int(len(extra.labelled[1])),
        "steps": int(steps),
    }
