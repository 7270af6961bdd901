"""Gradient penalty against a finite-difference reference; weight clipping."""

import numpy as np
import pytest
import tensorflow as tf

from gan_tf import regularizers

RNG = np.random.default_rng(0)
W1 = RNG.normal(size=(6, 4))
W2 = RNG.normal(size=(4, 1))


def critic_tf(x):
    flat = tf.reshape(tf.cast(x, tf.float64), [tf.shape(x)[0], -1])
    return tf.tanh(flat @ W1) @ W2


def critic_np(x):
    return np.tanh(x.reshape(len(x), -1) @ W1) @ W2


def test_gradient_penalty_matches_finite_differences():
    real = RNG.normal(size=(3, 2, 3))  # any non-batch shape: norms over all of it
    fake = RNG.normal(size=(3, 2, 3))
    alpha = np.array([0.1, 0.5, 0.9])
    mixed = alpha[:, None, None] * real + (1 - alpha[:, None, None]) * fake
    norms = []
    for row in mixed:
        grad = np.zeros(row.size)
        for index in range(row.size):
            step = np.zeros(row.size)
            step[index] = 1e-6
            up = critic_np((row.ravel() + step)[None])[0, 0]
            down = critic_np((row.ravel() - step)[None])[0, 0]
            grad[index] = (up - down) / 2e-6
        norms.append(np.linalg.norm(grad))
    expected = np.mean((np.array(norms) - 1.0) ** 2)
    value = regularizers.gradient_penalty(
        critic_tf, tf.constant(real), tf.constant(fake), tf.constant(alpha)
    )
    assert float(value) == pytest.approx(expected, rel=1e-5)
    assert expected > 0.01  # the reference is not trivially zero


def test_unit_gradient_critic_has_zero_penalty():
    direction = np.array([[0.6], [0.0], [0.8], [0.0]], np.float32)  # unit norm

    def linear(x):
        return tf.reshape(x, [tf.shape(x)[0], -1]) @ direction

    real = tf.random.normal([5, 2, 2, 1], seed=1)
    fake = tf.random.normal([5, 2, 2, 1], seed=2)
    value = regularizers.gradient_penalty(linear, real, fake, tf.random.uniform([5], seed=3))
    assert abs(float(value)) < 1e-10


def test_finite_gradients_when_real_equals_fake():
    weight = tf.Variable(2.0)

    def square(x):  # input gradient 2 w^2 x is exactly 0 at x = 0
        return tf.reduce_sum(tf.square(weight * x), axis=[1, 2, 3])[:, None]

    zeros = tf.zeros([4, 3, 3, 7])  # 7 channels: any channel count
    with tf.GradientTape() as tape:
        penalty = regularizers.gradient_penalty(square, zeros, zeros, tf.fill([4], 0.5))
    gradient = tape.gradient(penalty, weight)
    assert float(penalty) == pytest.approx(1.0, abs=1e-5)  # (sqrt(eps) - 1)^2
    assert np.isfinite(float(gradient))


def test_interpolate_is_per_example():
    real = tf.ones([3, 2, 2, 1])
    fake = tf.zeros([3, 2, 2, 1])
    mixed = regularizers.interpolate(real, fake, tf.constant([0.0, 0.25, 1.0]))
    np.testing.assert_allclose(mixed.numpy()[:, 0, 0, 0], [0.0, 0.25, 1.0])
    assert np.all(mixed.numpy()[1] == 0.25)


def test_clip_weights():
    variables = [tf.Variable([-1.0, 0.005, 2.0]), tf.Variable([[0.3]])]
    regularizers.clip_weights(variables, 0.01)
    np.testing.assert_allclose(variables[0].numpy(), [-0.01, 0.005, 0.01])
    np.testing.assert_allclose(variables[1].numpy(), [[0.01]])
