"""The semi-supervised GAN's networks (gan_tf.models.ssgan.networks)."""

import numpy as np
import pytest
import tensorflow as tf

import gan_tf
from gan_tf.build import build_networks
from gan_tf.errors import ConfigError
from gan_tf.models import ssgan
from gan_tf.models.layers import WeightNormDense


def networks(**overrides):
    config = gan_tf.make_config(model="ssgan", precision="float32", **overrides)
    return build_networks(config, (28, 28, 1), 10)


def test_discriminator_logit_is_the_logsumexp_of_its_class_logits():
    """P(real) = Z / (Z + 1) with the generated class's logit fixed at 0."""
    generator, discriminator = networks()
    images = tf.random.stateless_uniform([5, 28, 28, 1], [1, 2], -1.0, 1.0)
    logits = discriminator(images, training=False)
    class_logits = ssgan.classifier(discriminator)(images, training=False)
    assert logits.shape == (5, 1) and logits.dtype == tf.float32
    assert class_logits.shape == (5, 10)
    z = np.exp(class_logits.numpy().astype(np.float64)).sum(-1)
    np.testing.assert_allclose(
        tf.sigmoid(logits).numpy()[:, 0], z / (z + 1.0), rtol=1e-5, atol=1e-6
    )
    samples = generator(tf.zeros([3, 100]), training=False)
    assert samples.shape == (3, 28, 28, 1)
    assert float(tf.reduce_max(tf.abs(samples))) <= 1.0


def test_paper_widths_and_noise_only_in_training():
    _, discriminator = networks()
    dense = [layer for layer in discriminator.layers if isinstance(layer, WeightNormDense)]
    assert [layer.units for layer in dense] == [1000, 500, 250, 250, 250, 10]
    assert dense[-2].name == "features" and dense[-1].name == "class_logits"
    # the authors' nn.DenseLayer: unit column norms, a learned scale only for the logits
    assert [layer.train_scale for layer in dense] == [False] * 5 + [True]
    noise = [layer.stddev for layer in discriminator.layers if "gaussian_noise" in layer.name]
    assert noise == [0.3] + [0.5] * 5
    images = tf.random.stateless_uniform([4, 28, 28, 1], [3, 4], -1.0, 1.0)
    first, second = discriminator(images, training=False), discriminator(images, training=False)
    np.testing.assert_array_equal(first.numpy(), second.numpy())  # deterministic at test time
    noisy = discriminator(images, training=True)
    assert not np.allclose(noisy.numpy(), first.numpy())


def test_widths_knob_and_its_error():
    _, discriminator = networks(arch={"widths": "64-32"})
    dense = [layer for layer in discriminator.layers if isinstance(layer, WeightNormDense)]
    assert [layer.units for layer in dense] == [64, 32, 10]
    with pytest.raises(ConfigError, match="widths must be positive integers"):
        networks(arch={"widths": "64-x"})


def test_ssgan_needs_labels_and_its_loss():
    """The plug's checks reach make_config; labels_per_class belongs to ssgan alone."""
    with pytest.raises(ConfigError, match="labels_per_class >= 1"):
        gan_tf.make_config(model="ssgan", labels_per_class=0)
    with pytest.raises(ConfigError, match="trains with loss=semi_supervised"):
        gan_tf.make_config(model="ssgan", loss="non_saturating")
    with pytest.raises(ConfigError, match="labels_per_class applies to model=ssgan"):
        gan_tf.make_config(model="dcgan", labels_per_class=10)
    with pytest.raises(ConfigError, match="needs labelled data"):
        build_networks(gan_tf.make_config(model="ssgan"), (28, 28, 1), None)
    with pytest.raises(ConfigError, match="no class_logits layer"):
        ssgan.classifier(build_networks(gan_tf.make_config(), (28, 28, 1))[1])
