"""DiffAugment transformations and the adaptive probability (ADA)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import gan_tf
from gan_tf import augment, parts
from gan_tf.build import build_gan
from gan_tf.distribute import Draws
from gan_tf.errors import ConfigError

NAMES = list(augment.AUGMENTATIONS)


def draws(seed=1):
    return Draws(tf.constant([seed, 7], tf.int64))


def images(batch=6, side=16, seed=0):
    return tf.random.stateless_uniform([batch, side, side, 3], seed=[seed, 1], minval=-1, maxval=1)


@pytest.mark.parametrize("name", NAMES)
def test_shapes_dtype_range_and_gradients(name):
    x = images()
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = augment.augment(x, (name,), draws())
        weights = tf.reshape(tf.range(16 * 16 * 3, dtype=tf.float32), [1, 16, 16, 3]) / 1000.0
        weighted = tf.reduce_sum(y * weights)
    assert y.shape == x.shape and y.dtype == tf.float32
    assert float(tf.reduce_min(y)) >= -1.0 and float(tf.reduce_max(y)) <= 1.0
    gradient = tape.gradient(weighted, x)
    assert gradient is not None and float(tf.reduce_sum(tf.abs(gradient))) > 0
    again = augment.augment(x, (name,), draws())  # stateless: same draws, same result
    np.testing.assert_array_equal(y.numpy(), again.numpy())
    assert not np.array_equal(y.numpy(), augment.augment(x, (name,), draws(2)).numpy())


def test_flip_mirrors_or_keeps_each_image():
    x = images(batch=32)
    y = augment.flip(x, draws()).numpy()
    mirrored = [np.array_equal(a, b[:, ::-1]) for a, b in zip(y, x.numpy(), strict=True)]
    kept = [np.array_equal(a, b) for a, b in zip(y, x.numpy(), strict=True)]
    assert all(m or k for m, k in zip(mirrored, kept, strict=True))
    assert 6 <= sum(mirrored) <= 26  # about half of 32


def test_translation_shifts_by_at_most_an_eighth_and_fills_with_zero():
    x = images(batch=12).numpy()
    y = augment.translation(tf.constant(x), draws()).numpy()
    for source, moved in zip(x, y, strict=True):
        matches = []
        for dy in range(-2, 3):  # 16 px * 0.125 = 2
            for dx in range(-2, 3):
                expected = np.zeros_like(source)
                rows = slice(max(dy, 0), 16 + min(dy, 0))
                cols = slice(max(dx, 0), 16 + min(dx, 0))
                src_rows = slice(max(-dy, 0), 16 + min(-dy, 0))
                src_cols = slice(max(-dx, 0), 16 + min(-dx, 0))
                expected[rows, cols] = source[src_rows, src_cols]
                matches.append(np.array_equal(moved, expected))
        assert sum(matches) == 1


def test_cutout_zeroes_one_square_of_half_the_side():
    x = tf.ones([20, 16, 16, 3])
    y = augment.cutout(x, draws()).numpy()
    holes = (y[..., 0] == 0).sum(axis=(1, 2))
    assert holes.max() == 64 and holes.min() >= 16  # an 8x8 square, clipped at the edges
    for image in y[..., 0]:
        rows, cols = np.nonzero(image == 0)
        assert rows.max() - rows.min() < 8 and cols.max() - cols.min() < 8  # one square


def test_probability_zero_is_the_identity_and_one_always_augments():
    x = tf.ones([16, 16, 16, 3]) * 0.5
    np.testing.assert_array_equal(augment.augment(x, ("cutout",), draws(), p=0.0).numpy(), x)
    always = augment.augment(x, ("cutout",), draws(), p=1.0).numpy()
    assert ((always == 0).sum(axis=(1, 2, 3)) > 0).all()
    half = augment.augment(x, ("cutout",), draws(), p=tf.constant(0.5)).numpy()
    assert 2 <= ((half == 0).sum(axis=(1, 2, 3)) > 0).sum() <= 14
    points = tf.ones([4, 2])  # 2-D toys pass through
    assert augment.augment(points, ("flip",), draws()) is points


def test_parse_policy_orders_and_rejects():
    assert augment.parse_policy("flip, color") == ("color", "flip")
    assert augment.parse_policy("") == ()
    with pytest.raises(ConfigError, match="unknown augment rotate; choose from: color"):
        augment.parse_policy("flip,rotate")
    with pytest.raises(ConfigError, match="ada_target needs augment"):
        gan_tf.make_config(ada_target=0.6)


@pytest.mark.parametrize("name", NAMES)
def test_the_generator_learns_through_every_augmentation(name):
    config = gan_tf.make_config(model="dcgan", augment=name, batch_size=4, latent_dim=8)
    gan = build_gan(config, (32, 32, 3))
    before = [w.numpy().copy() for w in gan.generator.trainable_weights]
    out = gan.run_step(images(batch=4, side=32))
    assert float(out["augment_p"]) == 1.0 and np.isfinite(float(out["generator_loss"]))
    after = gan.generator.trainable_weights
    assert all(not np.array_equal(a, b.numpy()) for a, b in zip(before, after, strict=True))


def _augment_part(gan):
    """The GAN's augmentation part (its ``p`` is checkpointed as ``augment_p``)."""
    (part,) = [part for part in gan.parts if isinstance(part, parts.Augment)]
    return part


def _constant_critic(logit):
    """A discriminator that outputs ``logit`` whatever it sees (and barely learns)."""
    return keras.Sequential(
        [
            keras.Input((8, 8, 3)),
            keras.layers.Flatten(),
            keras.layers.Dense(
                1, kernel_initializer="zeros", bias_initializer=keras.initializers.Constant(logit)
            ),
        ]
    )


def _tiny_generator():
    return keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(8 * 8 * 3, activation="tanh"),
            keras.layers.Reshape((8, 8, 3)),
        ]
    )


@pytest.mark.parametrize("logit, expected", [(5.0, [0.0, 0.016, 0.032, 0.048]), (-5.0, [0.0] * 4)])
def test_ada_probability_follows_the_sign_of_d_on_real_images(logit, expected, tmp_path):
    # batch 16 / (ada_kimg 1 * 1000) = 0.016 per step: up while D calls every real image
    # real (sign +1 > target 0.6), held at 0 while it calls them fake
    config = gan_tf.make_config(
        augment="flip,translation",
        ada_target=0.6,
        ada_kimg=1,
        batch_size=16,
        latent_dim=4,
        learning_rate=1e-9,
    )
    gan = build_gan(
        config, (8, 8, 3), generator=_tiny_generator(), discriminator=_constant_critic(logit)
    )
    ada = _augment_part(gan)
    seen = [float(ada.p.numpy())]
    for _ in range(3):
        out = gan.run_step(images(batch=16, side=8))
        assert float(out["real_sign"]) == (1.0 if logit > 0 else -1.0)
        seen.append(float(ada.p.numpy()))
    np.testing.assert_allclose(seen, expected, atol=1e-6)
    path = gan.checkpoint().save(str(tmp_path / "ckpt"))  # p is checkpointed
    restored = build_gan(
        config, (8, 8, 3), generator=_tiny_generator(), discriminator=_constant_critic(logit)
    )
    restored.checkpoint().restore(path).assert_existing_objects_matched()
    assert float(_augment_part(restored).p.numpy()) == pytest.approx(expected[-1], abs=1e-6)
