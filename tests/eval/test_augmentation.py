"""The data-augmentation test: confusion matrix math, the protocol's budget and seed, and
on real Fashion-MNIST that correct extra data does not hurt while mislabelled data does."""

import imageio.v3 as iio
import numpy as np
import pytest
from real_data import requires_fashion_mnist

from gan_tf import data
from gan_tf.errors import ConfigError
from gan_tf.eval.augmentation import (
    augmentation_accuracy,
    classifier_confusion,
    confusion_matrix,
)
from gan_tf.visualize import plot_confusion_matrices

STEPS = 60  # both models of every call: the same budget


def test_confusion_matrix_matches_a_hand_computed_case():
    true = [0, 0, 1, 2, 2, 2, 1]
    predicted = [0, 1, 1, 2, 0, 2, 1]
    expected = np.array([[1, 1, 0], [0, 2, 0], [1, 0, 2]])
    matrix = confusion_matrix(true, predicted, 3)
    np.testing.assert_array_equal(matrix, expected)
    assert np.issubdtype(matrix.dtype, np.integer)
    assert np.trace(matrix) / matrix.sum() == pytest.approx(5 / 7)
    np.testing.assert_array_equal(confusion_matrix([], [], 2), np.zeros((2, 2)))


def test_confusion_matrix_rejects_bad_labels():
    with pytest.raises(ConfigError, match="as many predictions"):
        confusion_matrix([0, 1], [0], 2)
    with pytest.raises(ConfigError, match=r"in \[0, 2\)"):
        confusion_matrix([0, 2], [0, 1], 2)
    with pytest.raises(ConfigError, match="integer class ids"):
        confusion_matrix([0.5, 1.0], [0, 1], 2)


def _downsampled(images):
    """28x28 -> 14x14 (2x2 means): a quarter of the classifier's cost, still learnable."""
    blocks = images.reshape(len(images), 14, 2, 14, 2, 1).astype(np.float32)
    return np.round(blocks.mean(axis=(2, 4))).astype(np.uint8)


@pytest.fixture(scope="module")
def fashion():
    """1,000 real train and 500 real test images (14x14) with labels."""
    kwargs = dict(with_labels=True, download=False)
    train = data.as_arrays(data.load_dataset("fashion_mnist", max_examples=1000, **kwargs))
    test = data.as_arrays(
        data.load_dataset("fashion_mnist", split="test", max_examples=500, **kwargs)
    )
    return (_downsampled(train[0]), train[1]), (_downsampled(test[0]), test[1])


@pytest.fixture(scope="module")
def copied(fashion):
    """Generated data that is a copy of the real train set with correct labels."""
    train, test = fashion
    return augmentation_accuracy(train, train, test, num_classes=10, steps=STEPS, seed=3)


@pytest.fixture(scope="module")
def mislabelled(fashion):
    """Twice the real train set again, every label shifted to the next class."""
    (images, labels), test = fashion
    wrong = (np.concatenate([images, images]), np.tile((labels + 1) % 10, 2))
    return augmentation_accuracy((images, labels), wrong, test, num_classes=10, steps=STEPS, seed=3)


@requires_fashion_mnist
def test_accuracies_are_the_confusion_matrices_traces(fashion, copied):
    test_labels = fashion[1][1]
    for name in ("real", "augmented"):
        matrix = copied[f"{name}_confusion"]
        assert matrix.shape == (10, 10)
        np.testing.assert_array_equal(matrix.sum(axis=1), np.bincount(test_labels, minlength=10))
        assert copied[f"{name}_accuracy"] == pytest.approx(np.trace(matrix) / 500)
    assert copied["accuracy_gain"] == pytest.approx(
        copied["augmented_accuracy"] - copied["real_accuracy"]
    )
    assert copied["real_accuracy"] > 0.55  # 60 steps on 1,000 images learn something
    budget = {key: copied[key] for key in ("steps", "batch_size", "seed", "num_classes")}
    assert budget == {"steps": STEPS, "batch_size": 128, "seed": 3, "num_classes": 10}
    assert (copied["real_count"], copied["generated_count"], copied["test_count"]) == (
        1000,
        1000,
        500,
    )


@requires_fashion_mnist
@pytest.mark.slow  # ~15 s (a third training): `make test-slow` (the suite budget)
def test_real_only_model_is_reproducible_with_the_seed(fashion, copied, mislabelled):
    # Same real data, steps and seed in both calls: the real-only model is the same model,
    # and classifier_confusion (the half that trains one model) gives it too.
    np.testing.assert_array_equal(copied["real_confusion"], mislabelled["real_confusion"])
    assert copied["real_accuracy"] == mislabelled["real_accuracy"]
    train, test = fashion
    alone = classifier_confusion(train, test, num_classes=10, steps=STEPS, seed=3)
    np.testing.assert_array_equal(alone, copied["real_confusion"])


@pytest.mark.slow  # ~30 s with its fixture: `make test-slow`
@requires_fashion_mnist
def test_correct_extra_data_does_not_hurt_and_wrong_labels_do(copied, mislabelled):
    assert abs(copied["accuracy_gain"]) < 0.08
    # Two wrong labels for every right one: the augmented model mostly predicts the
    # shifted class, far below the real-only model.
    assert mislabelled["accuracy_gain"] < -0.3
    shifted = np.roll(np.eye(10, dtype=bool), 1, axis=1)  # [i, i + 1]
    confusion = mislabelled["augmented_confusion"]
    assert confusion[shifted].sum() > np.trace(confusion)


def test_default_budget_is_epochs_over_the_augmented_set():
    result = augmentation_accuracy(
        _set(200), _set(100), _set(30), num_classes=3, epochs=1, batch_size=64
    )
    assert result["steps"] == 5  # ceil(300 / 64)
    assert (result["real_count"], result["generated_count"], result["test_count"]) == (200, 100, 30)


def test_plot_confusion_matrices_writes_a_picture(tmp_path):
    matrix = np.array([[5, 1, 0], [0, 4, 2], [1, 0, 6]])
    path = tmp_path / "confusion.png"
    plot_confusion_matrices(
        {"real": matrix, "real + generated": matrix.T}, str(path), class_names=["a", "b", "c"]
    )
    image = iio.imread(path)
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > image.shape[0]
    assert image.std() > 10  # not blank
    with pytest.raises(ValueError, match=r"\[K, K\]"):
        plot_confusion_matrices({"a": matrix, "b": np.eye(2)}, str(path))
    with pytest.raises(ValueError, match="class_names"):
        plot_confusion_matrices({"a": matrix}, str(path), class_names=["x"])


def _set(count, side=8, classes=3):
    rng = np.random.default_rng(count)
    images = rng.integers(0, 256, (count, side, side, 1), dtype=np.uint8)
    return images, np.arange(count) % classes


@pytest.mark.parametrize(
    ("real", "generated", "test", "kwargs", "message"),
    [
        (_set(6), (_set(6)[0], np.arange(5) % 3), _set(6), {}, "one label per image"),
        (_set(6), _set(6), (_set(6)[0], np.arange(6) + 1), {}, r"test labels must be in \[0, 3\)"),
        (_set(6), (_set(6)[0], -np.ones(6, int)), _set(6), {}, r"in \[0, 3\)"),
        (_set(6), _set(6, side=9), _set(6), {}, "same \\[H, W, C\\].*generated \\(9, 9, 1\\)"),
        (_set(6), (_set(6)[0] / 255.0, _set(6)[1]), _set(6), {}, "uint8"),
        (_set(6), (_set(0)[0], _set(0)[1]), _set(6), {}, "generated is empty"),
        (_set(6), _set(6), _set(6), {"steps": 0}, "steps must be at least 1"),
        (_set(6), _set(6), _set(6), {"num_classes": 1}, "num_classes must be at least 2"),
    ],
)
def test_bad_input_is_a_one_line_config_error(real, generated, test, kwargs, message):
    kwargs = {"num_classes": 3, **kwargs}
    with pytest.raises(ConfigError, match=message):
        augmentation_accuracy(real, generated, test, **kwargs)


def test_classifier_confusion_checks_its_sets():
    with pytest.raises(ConfigError, match=r"same \[H, W, C\].*test \(9, 9, 1\)"):
        classifier_confusion(_set(6), _set(6, side=9), num_classes=3, steps=1)
    with pytest.raises(ConfigError, match="train needs one label per image"):
        classifier_confusion((_set(6)[0], [0, 1]), _set(6), num_classes=3, steps=1)
