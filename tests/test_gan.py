"""The train step: weights change, losses finite, noise follows the batch."""

import numpy as np
import pytest
import tensorflow as tf

from gan_tf import make_config
from gan_tf.training import build_gan


def small_gan(model="gan", shape=(28, 28, 1)):
    config = make_config(model=model, latent_dim=8, output_dir="unused")
    return build_gan(config, shape)


def snapshot(model):
    return [variable.numpy().copy() for variable in model.trainable_variables]


@pytest.mark.parametrize("model", ["gan", "dcgan"])
def test_one_step_changes_both_networks_and_returns_finite_scalars(model):
    gan = small_gan(model)
    before_g, before_d = snapshot(gan.generator), snapshot(gan.discriminator)
    real = tf.random.uniform([8, 28, 28, 1], -1.0, 1.0, seed=2)
    out = gan.train_step(real)
    assert set(out) == {"discriminator_loss", "generator_loss", "d_real", "d_fake"}
    for key, value in out.items():
        assert value.shape == () and np.isfinite(float(value)), key
    assert 0.0 <= float(out["d_real"]) <= 1.0 and 0.0 <= float(out["d_fake"]) <= 1.0
    # At initialisation D is near chance: each BCE term is near ln 2, so the sum is near 1.386.
    assert 0.9 < float(out["discriminator_loss"]) < 2.5
    changed_g = [
        not np.array_equal(a, b) for a, b in zip(before_g, snapshot(gan.generator), strict=True)
    ]
    changed_d = [
        not np.array_equal(a, b) for a, b in zip(before_d, snapshot(gan.discriminator), strict=True)
    ]
    assert all(changed_g), "every generator variable should move"
    assert all(changed_d), "every discriminator variable should move"
    assert int(gan.step.numpy()) == 1
    assert int(gan.generator_optimizer.iterations.numpy()) == 1
    assert int(gan.discriminator_optimizer.iterations.numpy()) == 1


def test_short_last_batch_gets_matching_noise():
    gan = small_gan("dcgan")
    gan.train_step(tf.zeros([8, 28, 28, 1]))
    out = gan.train_step(tf.zeros([3, 28, 28, 1]))  # the remainder of an epoch
    assert np.isfinite(float(out["generator_loss"]))
    assert int(gan.step.numpy()) == 2
    assert gan.noise(3).shape == (3, 8)  # sampling noise outside the step


def test_generate_is_deterministic_in_inference_mode():
    gan = small_gan("dcgan")
    noise = tf.random.normal([4, 8], seed=3)
    a, b = gan.generate(noise).numpy(), gan.generate(noise).numpy()
    np.testing.assert_array_equal(a, b)
    assert a.shape == (4, 28, 28, 1)


def test_same_seed_same_first_step():
    real = tf.random.uniform([8, 28, 28, 1], -1.0, 1.0, seed=4)
    first = {k: float(v) for k, v in small_gan().train_step(real).items()}
    second = {k: float(v) for k, v in small_gan().train_step(real).items()}
    assert first == pytest.approx(second, rel=1e-5)
