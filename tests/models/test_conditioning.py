"""Conditional networks: gan_tf.models.conditioning (label planes, the wrappers) and the
cgan variant built from them. (Named after conditioning.py: tests/test_cgan.py holds the
cgan end-to-end tests, and pytest needs unique basenames.)"""

import keras
import numpy as np
import pytest
import tensorflow as tf

import gan_tf
from gan_tf import build, models
from gan_tf.models import conditioning, dcgan


def cgan_networks(shape, num_classes=10, latent_dim=8):
    """float32 networks: the label wrapper is then the outermost layer on any hardware."""
    config = gan_tf.make_config(model="cgan", latent_dim=latent_dim, precision="float32")
    return build.build_networks(config, shape, num_classes)


def test_cgan_is_dcgan_with_labels():
    spec = models.get_model("cgan")
    assert spec.conditional and spec.architecture == dcgan.ARCHITECTURE
    assert spec.build_generator is dcgan.build_generator
    assert spec.build_discriminator is dcgan.build_discriminator


@pytest.mark.parametrize("shape", [(28, 28, 1), (32, 32, 3), (64, 64, 3), (2,)])
def test_cgan_models_take_labels(shape):
    generator, discriminator = cgan_networks(shape)
    noise = tf.random.normal([4, 8], seed=1)
    labels = tf.constant([0, 3, 9, 3])
    samples = generator([noise, labels], training=False)
    assert samples.shape == (4, *shape) and samples.dtype == tf.float32
    logits = discriminator([samples, labels], training=False)
    assert logits.shape == (4, 1) and logits.dtype == tf.float32
    same_noise = tf.tile(noise[:1], [2, 1])
    pair = generator([same_noise, tf.constant([1, 2])], training=False).numpy()
    assert not np.allclose(pair[0], pair[1]), "the label must change the sample"
    same_samples = tf.tile(samples[:1], [2, 1, 1, 1] if len(shape) == 3 else [2, 1])
    scores = discriminator([same_samples, tf.constant([1, 2])], training=False).numpy()
    assert scores[0, 0] != scores[1, 0], "the label must change the score"


def test_cgan_bodies_see_the_one_hot_and_the_label_planes():
    generator, discriminator = cgan_networks((28, 28, 1), num_classes=10)
    generator_body, discriminator_body = generator.layers[-1], discriminator.layers[-1]
    assert generator_body.inputs[0].shape == (None, 8 + 10)
    assert discriminator_body.inputs[0].shape == (None, 28, 28, 1 + 10)
    assert conditioning.body_shape((28, 28, 1), 10) == (28, 28, 11)
    assert conditioning.body_shape((2,), 3) == (5,)


def test_label_planes_on_images_and_points():
    planes = conditioning.LabelPlanes(3)
    images = tf.fill([2, 2, 2, 1], 0.5)
    joined = planes([images, tf.constant([2, 0])]).numpy()
    assert joined.shape == (2, 2, 2, 4)
    np.testing.assert_array_equal(joined[..., 0], 0.5)
    np.testing.assert_array_equal(joined[0, :, :, 1:], np.tile([0, 0, 1], [2, 2, 1]))
    np.testing.assert_array_equal(joined[1, :, :, 1:], np.tile([1, 0, 0], [2, 2, 1]))
    joined = planes([tf.constant([[7.0, 8.0]]), tf.constant([1])]).numpy()
    np.testing.assert_array_equal(joined, [[7, 8, 0, 1, 0]])
    with build.dtype_policy("mixed_bfloat16"):  # planes in the samples' compute dtype
        mixed = conditioning.LabelPlanes(3)([images, tf.constant([1, 1])])
    assert mixed.dtype == tf.bfloat16
    np.testing.assert_array_equal(tf.cast(mixed, tf.float32)[0, 0, 0], [0.5, 0, 1, 0])
    clone = conditioning.LabelPlanes.from_config(planes.get_config())
    assert clone.num_classes == 3


def test_conditional_generator_is_its_body_on_noise_and_one_hot():
    body = keras.Sequential([keras.Input((2 + 3,)), keras.layers.Dense(4)])
    generator = conditioning.conditional_generator(body, latent_dim=2, num_classes=3)
    noise = tf.constant([[0.5, -1.0], [2.0, 0.0]])
    expected = body(tf.constant([[0.5, -1.0, 0, 0, 1], [2.0, 0.0, 1, 0, 0]]))
    np.testing.assert_allclose(generator([noise, tf.constant([2, 0])]), expected, atol=1e-6)
    layer_types = {type(layer).__name__ for layer in generator.layers}
    assert "CategoryEncoding" in layer_types  # stock Keras: exports load without gan_tf


def test_conditional_discriminator_is_its_body_on_label_planes():
    body = keras.Sequential(
        [keras.Input((2, 2, 1 + 2)), keras.layers.Flatten(), keras.layers.Dense(1)]
    )
    discriminator = conditioning.conditional_discriminator(body, (2, 2, 1), num_classes=2)
    images = tf.random.stateless_normal([2, 2, 2, 1], seed=[1, 1])
    planes = np.zeros([2, 2, 2, 2], np.float32)
    planes[0, ..., 1], planes[1, ..., 0] = 1.0, 1.0  # labels 1 and 0
    expected = body(tf.concat([images, planes], axis=-1))
    np.testing.assert_allclose(
        discriminator([images, tf.constant([1, 0])]), expected, rtol=1e-5, atol=1e-6
    )
