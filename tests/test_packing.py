"""PacGAN's packing: the layout of a pack, the packed discriminator, what it refuses."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from gan_tf import make_config
from gan_tf.build import build_gan
from gan_tf.errors import ConfigError
from gan_tf.gan import GAN
from gan_tf.packing import pack_samples, packed_shape


def test_a_pack_holds_consecutive_examples_each_in_its_own_channels():
    images = np.arange(6 * 2 * 3 * 2, dtype=np.float32).reshape(6, 2, 3, 2)
    packed = pack_samples(tf.constant(images), 3).numpy()
    assert packed.shape == (2, 2, 3, 6)
    for pack in range(2):
        for member in range(3):
            np.testing.assert_array_equal(
                packed[pack, :, :, 2 * member : 2 * member + 2], images[3 * pack + member]
            )


def test_points_pack_along_their_coordinates_and_pack_one_is_the_identity():
    points = tf.constant([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]])
    np.testing.assert_array_equal(
        pack_samples(points, 2).numpy(), [[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]]
    )
    assert pack_samples(points, 1) is points
    assert packed_shape((28, 28, 3), 2) == (28, 28, 6)
    assert packed_shape((2,), 4) == (8,)


def test_a_batch_that_is_not_whole_packs_is_refused():
    with pytest.raises(tf.errors.InvalidArgumentError, match="multiple of pack=2"):
        pack_samples(tf.zeros([3, 2]), 2)


def _linear_gan(pack: int) -> GAN:
    generator = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)])
    discriminator = keras.Sequential([keras.Input((2 * pack,)), keras.layers.Dense(1)])
    kernel = np.arange(1, 2 * pack + 1, dtype=np.float32)[:, None] / 10
    discriminator.set_weights([kernel, np.array([0.5], np.float32)])
    gan = GAN(generator, discriminator, pack=pack)
    gan.compile(keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.1))
    return gan


def test_the_discriminator_scores_packs_of_real_examples():
    """d_real is the mean sigmoid of the packed discriminator's pre-update logits:
    packs (1, 2, 3, 4) and (5, 6, 7, 8) under weights (0.1, 0.2, 0.3, 0.4), bias 0.5
    give logits 3.5 and 7.5."""
    gan = _linear_gan(pack=2)
    real = tf.constant([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]])
    metrics = gan.run_step(real)
    expected = np.mean(1 / (1 + np.exp(-np.array([3.5, 7.5]))))
    assert float(metrics["d_real"]) == pytest.approx(expected, rel=1e-6)


def test_packed_networks_train_with_a_gradient_penalty():
    config = make_config(model="wgan_gp", dataset="ring8", pack=4, batch_size=16, n_critic=1)
    gan = build_gan(config, (2,))
    assert gan.discriminator.input_shape == (None, 8)
    before = [w.copy() for w in gan.discriminator.get_weights()]
    metrics = gan.run_step(tf.random.normal([16, 2], seed=1))
    assert np.isfinite(float(metrics["gradient_penalty"]))
    assert any(
        not np.allclose(a, b) for a, b in zip(before, gan.discriminator.get_weights(), strict=True)
    )


def test_image_discriminators_take_the_packed_channels():
    config = make_config(model="dcgan", dataset="mnist", pack=3, batch_size=12)
    gan = build_gan(config, (28, 28, 1))
    assert gan.discriminator.input_shape == (None, 28, 28, 3)
    assert gan.generator.output_shape == (None, 28, 28, 1)


@pytest.mark.parametrize(
    "overrides, message",
    [
        (dict(model="cgan", pack=2), "pack applies to unconditional models"),
        (dict(model="dcgan", pack=3, batch_size=64), "batch_size=64 must be a multiple of pack=3"),
        (dict(model="dcgan", pack=0), "pack must be a positive integer"),
    ],
)
def test_pack_refuses_what_it_cannot_pack(overrides, message):
    with pytest.raises(ConfigError, match=message):
        make_config(dataset="mnist", **overrides)


def test_the_gradient_penalty_is_taken_on_whole_packs():
    """A linear critic w . x on packs of 2 points has input gradient w (4 numbers) at
    every interpolate: the penalty is (||w|| - 1)^2 = (sqrt(0.3) - 1)^2, not a mean
    over each point's half of w."""
    from gan_tf import parts

    gan = _linear_gan(pack=2)
    gan.compile(
        keras.optimizers.SGD(0.1),
        keras.optimizers.SGD(0.1),
        loss="wasserstein",
        parts=[parts.Penalty("gradient_penalty", 10.0)],
    )
    metrics = gan.run_step(tf.random.normal([8, 2], seed=2))
    expected = (np.sqrt(0.01 + 0.04 + 0.09 + 0.16) - 1.0) ** 2
    assert float(metrics["gradient_penalty"]) == pytest.approx(expected, rel=1e-5)
