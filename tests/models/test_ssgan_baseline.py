"""The labelled-only baseline of the semi-supervised GAN (gan_tf.models.ssgan.baseline)."""

import pytest

import gan_tf
from gan_tf import data
from gan_tf.errors import ConfigError
from gan_tf.models import ssgan


def test_labelled_only_baseline_trains_the_same_classifier_on_the_labels_alone():
    config = gan_tf.make_config(model="ssgan", dataset="mnist_5k", labels_per_class=10)
    dataset = data.load_dataset("mnist_5k", with_labels=True)
    result = ssgan.labelled_only_baseline(config, dataset, steps=60, eval_every=20)
    assert result["labelled"] == 100 and result["steps"] == 60
    assert 0.3 < result["test_accuracy"] <= 1.0  # 100 digits teach it something
    assert len(result["accuracies"]) == 3  # after updates 20, 40 and 60
    assert result["test_accuracy"] == result["accuracies"][-1]
    assert result["best_test_accuracy"] == max(result["accuracies"])
    assert len(set(result["accuracies"])) > 1  # it is scored as it trains, not once


def test_labelled_only_baseline_is_for_semi_supervised_configs():
    dataset = data.load_dataset("mnist_5k", with_labels=True, max_examples=100)
    with pytest.raises(ConfigError, match="not model=dcgan"):
        ssgan.labelled_only_baseline(gan_tf.make_config(dataset="mnist_5k"), dataset, steps=1)
