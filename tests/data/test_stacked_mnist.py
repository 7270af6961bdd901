"""Stacked MNIST: three digits of the base MNIST source as the channels of one image."""

import numpy as np
import pytest

from gan_tf import data
from gan_tf.data.sources import mnist_5k, stacked_mnist


@pytest.fixture(scope="module")
def stacked():
    return data.load_dataset("stacked_mnist_5k", with_labels=True, max_examples=500)


def test_each_channel_is_a_real_digit_and_the_label_is_their_mode(stacked):
    train = mnist_5k.mnist_5k_arrays("train")
    test = mnist_5k.mnist_5k_arrays("test")
    digits = np.concatenate([train[0], test[0]])[..., 0]  # the pooled digits the code draws
    labels = np.concatenate([train[1], test[1]])
    images, modes = data.as_arrays(stacked)
    assert images.shape == (500, 28, 28, 3) and images.dtype == np.uint8
    assert stacked.num_classes == 1000 and stacked.image_shape == (28, 28, 3)
    for image, mode in zip(images[:20], modes[:20], strict=True):
        found = []
        for channel in range(3):
            matches = np.flatnonzero((digits == image[..., channel]).all(axis=(1, 2)))
            assert len(matches) >= 1  # an MNIST image, unchanged
            found.append(labels[matches[0]])
        assert mode == 100 * found[0] + 10 * found[1] + found[2]
    # the 500 stacks spread over many of the 1,000 modes (uniform draws)
    assert len(np.unique(modes)) > 350


def test_the_stacks_are_fixed_so_runs_and_resumes_see_the_same_data(stacked):
    again = data.load_dataset("stacked_mnist_5k", with_labels=True, max_examples=500)
    first, second = data.as_arrays(stacked), data.as_arrays(again)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    full = data.load_dataset("stacked_mnist_5k")
    assert full.num_examples == stacked_mnist.EXAMPLES["train"] == 128_000
    test = data.load_dataset("stacked_mnist_5k", split="test", max_examples=10)
    assert not np.array_equal(data.as_arrays(test)[0], first[0][:10])


def test_a_resized_stack_and_the_shape_without_loading():
    assert data.image_shape_of("stacked_mnist_5k") == (28, 28, 3)
    assert data.image_shape_of("stacked_mnist", image_size=32) == (32, 32, 3)
    resized = data.load_dataset("stacked_mnist_5k", image_size=32, max_examples=4)
    assert data.as_arrays(resized)[0].shape == (4, 32, 32, 3)
    assert data.dataset_metrics("stacked_mnist_5k") == ("modes",)
    assert data.dataset_metrics("mnist") == ()
