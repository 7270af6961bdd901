"""Generated images as training data: does adding them to a real labelled set help?

The protocol (:func:`augmentation_accuracy`) trains the small domain classifier of
:mod:`gan_tf.eval.features` twice with the same optimisation budget and seed: once
on a real labelled training set alone, once on that set plus a class-conditional
GAN's labelled samples, and compares the two models on a real test set (accuracy
and confusion matrix). A gain means the samples carry class information the real
set lacks; a loss means they mislead the classifier (wrong-looking classes, low
diversity, artefacts the real test images do not have).

Related protocols that train classifiers on generated data: GAN-train (train on
generated images, test on real ones; Shmelkov, Schmid & Alahari, "How good is my
GAN?", ECCV 2018), the Classification Accuracy Score (the same idea for conditional
models; Ravuri & Vinyals, NeurIPS 2019), and mixtures of real ImageNet and BigGAN
images as training data (Ravuri & Vinyals, "Seeing is not necessarily believing:
limitations of BigGANs for data augmentation", ICLR 2019 LLD workshop), which
found that adding generated images at best helps marginally.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from gan_tf.data import to_float_images
from gan_tf.errors import ConfigError
from gan_tf.eval.features import train_classifier

__all__ = ["augmentation_accuracy", "classifier_confusion", "confusion_matrix"]


def confusion_matrix(true_labels, predicted_labels, num_classes: int) -> np.ndarray:
    """Counts of (true, predicted) label pairs.

    Args:
      true_labels: int ``[N]`` in ``[0, num_classes)``.
      predicted_labels: int ``[N]`` in ``[0, num_classes)``.
      num_classes: K.

    Returns:
      int64 ``[K, K]``: entry ``[i, j]`` counts examples of true class ``i``
      predicted as class ``j`` (rows = true class, columns = prediction). The trace
      over the sum is the accuracy.

    Raises:
      ConfigError: for unequal lengths or labels outside ``[0, num_classes)``.
    """
    true_labels = _class_ids(true_labels, num_classes, "true_labels")
    predicted_labels = _class_ids(predicted_labels, num_classes, "predicted_labels")
    if len(true_labels) != len(predicted_labels):
        raise ConfigError(
            f"need as many predictions as labels, got {len(predicted_labels)} and "
            f"{len(true_labels)}"
        )
    pairs = true_labels * num_classes + predicted_labels
    return np.bincount(pairs, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def augmentation_accuracy(
    real_train,
    generated,
    test,
    *,
    num_classes: int,
    steps: int | None = None,
    epochs: int = 5,
    batch_size: int = 128,
    learning_rate: float = 1e-3,
    seed: int = 0,
) -> dict:
    """Test accuracy of a classifier trained on real data with and without generated data.

    Trains :func:`gan_tf.eval.features.build_classifier` twice with the same budget
    (steps of ``batch_size``, cosine schedule, seed): on ``real_train`` alone and on
    ``real_train`` and ``generated`` shuffled together. The real-only model makes more
    passes over its smaller set; the comparison asks only whether the extra examples help.

    Args:
      real_train: ``(images, labels)``: uint8 ``[N, H, W, C]`` and int ``[N]``.
      generated: ``(images, labels)`` of generated images with the classes they were
        generated for, same image shape (e.g. a conditional run's
        ``sample(num, labels=...)``).
      test: ``(images, labels)`` of real held-out images, same image shape.
      num_classes: K; every label must be in ``[0, K)``.
      steps: optimisation steps of each model; default ``epochs`` passes over the
        augmented set (``epochs * ceil((N_real + N_generated) / batch_size)``).
      epochs: sets the default ``steps``.
      batch_size, learning_rate: optimisation settings, shared by both models.
      seed: seeds both models identically, so the real-only result is reproducible.

    Returns:
      ``real_accuracy``, ``augmented_accuracy`` (on ``test``), ``accuracy_gain``, the
      int ``[K, K]`` ``real_confusion`` and ``augmented_confusion`` (rows = true class),
      the budget and the three set sizes.

    Raises:
      ConfigError: mismatched lengths, empty sets, labels outside ``[0, num_classes)``,
        images that are not uint8 ``[N, H, W, C]`` of one shape, or ``steps`` < 1.
    """
    if num_classes < 2:
        raise ConfigError(f"num_classes must be at least 2, got {num_classes}", "num_classes")
    sets = _checked_sets(
        {"real_train": real_train, "generated": generated, "test": test}, num_classes
    )
    (real_images, real_labels), (generated_images, generated_labels), test = sets
    test_images = test[0]
    if steps is None:
        steps = epochs * int(np.ceil((len(real_images) + len(generated_images)) / batch_size))
    if steps < 1:
        raise ConfigError(f"steps must be at least 1, got {steps}", "steps")

    budget = dict(
        num_classes=int(num_classes),
        steps=int(steps),
        batch_size=int(batch_size),
        learning_rate=float(learning_rate),
        seed=int(seed),
    )
    real_confusion = classifier_confusion((real_images, real_labels), test, **budget)
    augmented = (
        np.concatenate([real_images, generated_images]),
        np.concatenate([real_labels, generated_labels]),
    )
    augmented_confusion = classifier_confusion(augmented, test, **budget)
    real_accuracy = _accuracy(real_confusion)
    augmented_accuracy = _accuracy(augmented_confusion)
    return {
        "real_accuracy": real_accuracy,
        "augmented_accuracy": augmented_accuracy,
        "accuracy_gain": augmented_accuracy - real_accuracy,
        "real_confusion": real_confusion,
        "augmented_confusion": augmented_confusion,
        **budget,
        "real_count": len(real_images),
        "generated_count": len(generated_images),
        "test_count": len(test_images),
    }


def _checked_sets(sets: dict, num_classes: int) -> list:
    """Each ``(images, labels)`` pair checked; all images must share one ``[H, W, C]``."""
    checked = [_labelled_set(pair, num_classes, name) for name, pair in sets.items()]
    shapes = {name: pair[0].shape[1:] for name, pair in zip(sets, checked, strict=True)}
    if len(set(shapes.values())) != 1:
        described = ", ".join(f"{name} {tuple(shape)}" for name, shape in shapes.items())
        raise ConfigError(f"all images must have the same [H, W, C]; got {described}")
    return checked


def classifier_confusion(
    train,
    test,
    *,
    num_classes: int,
    steps: int,
    batch_size: int = 128,
    learning_rate: float = 1e-3,
    seed: int = 0,
) -> np.ndarray:
    """The test confusion matrix of the domain classifier trained on ``train``.

    One half of :func:`augmentation_accuracy` (which calls it once on the real set
    and once on real + generated, with the same arguments otherwise): use it to
    score several generated sets against one real-only model without retraining
    that model (the same arguments give the same model).

    Args:
      train: ``(uint8 images [N, H, W, C], int labels [N])``.
      test: ``(images, labels)`` of the same image shape.
      num_classes: K.
      steps, batch_size, learning_rate, seed: the budget, as in
        :func:`augmentation_accuracy`.

    Returns:
      int ``[K, K]``, rows = true test class, columns = predicted.

    Raises:
      ConfigError: as :func:`augmentation_accuracy` does.
    """
    if num_classes < 2:
        raise ConfigError(f"num_classes must be at least 2, got {num_classes}", "num_classes")
    train_images, train_labels = _labelled_set(train, num_classes, "train")
    test_images, test_labels = _labelled_set(test, num_classes, "test")
    if train_images.shape[1:] != test_images.shape[1:]:
        raise ConfigError(
            f"all images must have the same [H, W, C]; got train "
            f"{tuple(train_images.shape[1:])}, test {tuple(test_images.shape[1:])}"
        )
    if steps < 1:
        raise ConfigError(f"steps must be at least 1, got {steps}", "steps")
    model = train_classifier(
        train_images,
        train_labels,
        num_classes=num_classes,
        steps=steps,
        batch_size=batch_size,
        learning_rate=learning_rate,
        seed=seed,
    )
    return _test_confusion(model, test_images, test_labels, num_classes)


def _accuracy(confusion: np.ndarray) -> float:
    return float(np.trace(confusion) / confusion.sum())


def _test_confusion(model, images, labels, num_classes: int, batch_size: int = 500):
    starts = range(0, len(images), batch_size)
    predictions = [
        np.argmax(
            model(to_float_images(tf.constant(images[i : i + batch_size])), training=False), 1
        )
        for i in starts
    ]
    predictions = np.concatenate(predictions)
    return confusion_matrix(labels, predictions, num_classes)


def _class_ids(labels, num_classes: int, name: str) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.ndim != 1 or (labels.size and not np.issubdtype(labels.dtype, np.integer)):
        raise ConfigError(
            f"{name} must be a 1-D array of integer class ids, got {labels.dtype} "
            f"shape {labels.shape}"
        )
    labels = labels.astype(np.int64)
    outside = (labels < 0) | (labels >= num_classes)
    if outside.any():
        raise ConfigError(
            f"{name} must be in [0, {num_classes}) (num_classes={num_classes}); "
            f"{int(outside.sum())} are not, e.g. {int(labels[outside][0])}"
        )
    return labels


def _labelled_set(pair, num_classes: int, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Checks one ``(uint8 images [N, H, W, C], int labels [N])`` pair."""
    if not isinstance(pair, tuple | list) or len(pair) != 2:
        raise ConfigError(f"{name} must be an (images, labels) pair", name)
    images, labels = np.asarray(pair[0]), _class_ids(pair[1], num_classes, f"{name} labels")
    if images.ndim != 4 or images.dtype != np.uint8:
        raise ConfigError(
            f"{name} images must be uint8 [N, H, W, C], got {images.dtype} shape {images.shape}",
            name,
        )
    if len(images) != len(labels):
        raise ConfigError(
            f"{name} needs one label per image, got {len(images)} images and {len(labels)} labels",
            name,
        )
    if len(images) == 0:
        raise ConfigError(f"{name} is empty", name)
    return images, labels
