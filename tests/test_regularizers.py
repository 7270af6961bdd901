"""Penalties and clipping: the gradient penalty against a finite-difference reference,
R1 against hand values, both as the train step applies them; weight clipping."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from gan_tf import ConfigError, losses, make_config, parts, regularizers
from gan_tf.build import build_gan
from gan_tf.distribute import Draws
from gan_tf.gan import GAN

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


# --- R1 (Mescheder et al., 2018): 0.5 * mean_b ||grad_x D(x_b)||^2 on real data ---------


def linear_critic(weights, bias):
    """D(x) = w . flatten(x) + b: its input gradient is w for every example."""
    kernel = tf.constant(np.reshape(weights, [-1, 1]), tf.float32)

    def critic(x):
        return tf.reshape(x, [tf.shape(x)[0], -1]) @ kernel + bias

    return critic


def test_r1_of_a_linear_critic_on_points_is_half_the_squared_weight_norm():
    # w = [3, 4]: ||w||^2 = 25, so R1 = 0.5 * 25 = 12.5 for any points and any bias
    critic = linear_critic([3.0, 4.0], bias=-2.0)
    real = tf.random.stateless_normal([7, 2], seed=[1, 2])
    assert float(regularizers.r1_penalty(critic, real)) == pytest.approx(12.5, rel=1e-6)
    assert float(regularizers.r1_penalty(critic, 10.0 * real)) == pytest.approx(12.5, rel=1e-6)


def test_r1_of_a_linear_critic_on_images_is_half_the_squared_weight_norm():
    # w = 0.5 on all 4 * 4 * 3 = 48 inputs: ||w||^2 = 48 * 0.25 = 12, so R1 = 6
    critic = linear_critic(np.full([4, 4, 3], 0.5), bias=0.3)
    real = tf.random.stateless_uniform([5, 4, 4, 3], seed=[3, 4], minval=-1, maxval=1)
    value = regularizers.r1_penalty(critic, real)
    assert value.shape == () and value.dtype == tf.float32
    assert float(value) == pytest.approx(6.0, rel=1e-6)


def test_r1_of_a_quadratic_critic_matches_numpy():
    # D(x) = sum(x^2) has input gradient 2x: R1 = 0.5 * mean_b sum (2 x_b)^2
    def quadratic(x):
        return tf.reduce_sum(tf.square(x), axis=[1, 2, 3])[:, None]

    real = RNG.normal(size=(6, 3, 3, 2)).astype(np.float32)
    expected = 0.5 * np.mean(np.sum((2 * real) ** 2, axis=(1, 2, 3)))
    value = float(regularizers.r1_penalty(quadratic, tf.constant(real)))
    assert value == pytest.approx(expected, rel=1e-5)
    assert expected > 1.0  # not trivially zero


def test_the_r1_term_reads_real_data_only():
    def quadratic(x):
        return tf.reduce_sum(tf.square(x), axis=1, keepdims=True)

    term = regularizers.PENALTIES["r1_penalty"].term
    assert regularizers.PENALTIES["r1_penalty"].weight_field == "r1_weight"
    real = tf.constant([[1.0, 2.0], [0.0, -1.0]])  # 0.5 * mean(4 * 5, 4 * 1) = 6
    fake_a, fake_b = tf.zeros([2, 2]), tf.fill([2, 2], 9.0)
    draws = Draws(tf.constant([1, 2], tf.int64))
    assert float(term(quadratic, real, fake_a, draws)) == pytest.approx(6.0, rel=1e-6)
    assert float(term(quadratic, real, fake_b, draws)) == pytest.approx(6.0, rel=1e-6)
    assert float(term(quadratic, fake_b, real, draws)) == pytest.approx(324.0, rel=1e-6)


def test_r2_of_a_linear_critic_is_half_the_squared_weight_norm_on_fakes():
    critic = linear_critic([3.0, 4.0], bias=1.0)  # 0.5 * ||w||^2 = 12.5
    fake = tf.random.stateless_normal([5, 2], seed=[5, 6])
    assert float(regularizers.r2_penalty(critic, fake)) == pytest.approx(12.5, rel=1e-6)


def test_the_r2_term_reads_generated_data_only_and_does_not_reach_the_generator():
    def quadratic(x):
        return tf.reduce_sum(tf.square(x), axis=1, keepdims=True)

    term = regularizers.PENALTIES["r2_penalty"].term
    assert regularizers.PENALTIES["r2_penalty"].weight_field == "r2_weight"
    fake = tf.Variable([[1.0, 2.0], [0.0, -1.0]])  # 0.5 * mean(4 * 5, 4 * 1) = 6
    draws = Draws(tf.constant([1, 2], tf.int64))
    with tf.GradientTape() as tape:
        value = term(quadratic, tf.fill([2, 2], 9.0), fake, draws)
    assert float(value) == pytest.approx(6.0, rel=1e-6)
    assert float(term(quadratic, tf.zeros([2, 2]), fake, draws)) == pytest.approx(6.0, rel=1e-6)
    assert tape.gradient(value, fake) is None  # the penalty trains the critic only


def _dense(units, kernel, bias):
    return keras.layers.Dense(
        units,
        kernel_initializer=keras.initializers.Constant(np.array(kernel, np.float32)),
        bias_initializer=keras.initializers.Constant(np.array(bias, np.float32)),
    )


def linear_gan(part, w, c, lr=0.1):
    """D(x) = w.x + 0.25, a generator that outputs the constant c, Wasserstein loss, SGD
    at ``lr`` for both networks and ``part`` in the step."""
    keras.utils.set_random_seed(0)
    gan = GAN(
        keras.Sequential([keras.Input((2,)), _dense(2, np.zeros([2, 2]), c)]),
        keras.Sequential([keras.Input((2,)), _dense(1, w[:, None], 0.25)]),
        latent_dim=2,
    )
    gan.compile(
        generator_optimizer=keras.optimizers.SGD(lr),
        discriminator_optimizer=keras.optimizers.SGD(lr),
        loss=losses.LossPair(
            losses.wasserstein_generator_loss, losses.wasserstein_discriminator_loss, False
        ),
        parts=[part],
    )
    return gan


def test_train_step_adds_gamma_times_r1_to_the_critic_loss_and_logs_r1():
    """D(x) = w.x + b, a generator that outputs the constant c, Wasserstein loss, SGD and
    R1 weight gamma: the logged r1_penalty is 0.5 ||w||^2 of the pre-update critic and
    the update is w <- w - lr * (c - mean(real) + gamma * w), b unchanged."""
    lr, gamma, w, c = 0.1, 10.0, np.array([0.6, -0.8]), np.array([1.0, 2.0])
    r1 = parts.Penalty("r1_penalty", gamma, regularizers.PENALTIES["r1_penalty"].term)
    gan = linear_gan(r1, w, c, lr)
    real = tf.random.stateless_normal([8, 2], seed=[5, 6])
    out = gan.run_step(real)
    assert float(out["r1_penalty"]) == pytest.approx(0.5 * (0.36 + 0.64), rel=1e-6)  # 0.5
    kernel, bias = (v.numpy() for v in gan.discriminator.trainable_variables)
    expected = w - lr * (c - real.numpy().mean(axis=0) + gamma * w)
    np.testing.assert_allclose(kernel[:, 0], expected, rtol=1e-5, atol=1e-6)
    assert float(bias[0]) == pytest.approx(0.25, abs=1e-7)


def test_r1_weight_from_the_config_logs_r1_of_the_pre_step_discriminator():
    config = make_config(model="dcgan", dataset="ring8", r1_weight=10.0, batch_size=16)
    gan = build_gan(config, (2,))
    assert gan.metric_names[-1] == "r1_penalty"
    real = tf.random.stateless_normal([16, 2], seed=[7, 8])

    def critic(x):
        return gan.discriminator(x, training=True)

    expected = float(regularizers.r1_penalty(critic, real))
    out = gan.run_step(real)
    assert expected > 0.0
    assert float(out["r1_penalty"]) == pytest.approx(expected, rel=1e-5)
    after = float(regularizers.r1_penalty(critic, real))
    assert after != pytest.approx(expected, rel=1e-5)  # the critic did change


def test_gradient_penalty_in_the_step_uses_the_steps_fakes_and_alphas():
    """The logged gradient_penalty equals gradient_penalty(D, real, G(noise), alpha) with
    the step's own draws: the noise first, then alpha (replayed from the step's seed,
    ``(config.seed, step)``)."""
    config = make_config(model="wgan_gp", dataset="ring8", n_critic=1, batch_size=16, seed=3)
    gan = build_gan(config, (2,))
    real = tf.random.stateless_normal([16, 2], seed=[9, 9])
    draws = Draws(tf.constant([3, 0], tf.int64))  # (seed, step) of the first step
    fake = gan.generator(draws.normal([16, config.latent_dim]), training=True)
    alpha = draws.uniform([16])

    def critic(x):
        return gan.discriminator(x, training=True)

    expected = float(regularizers.gradient_penalty(critic, real, fake, alpha))
    out = gan.run_step(real)
    assert float(out["gradient_penalty"]) == pytest.approx(expected, rel=1e-4)
    other_alpha = float(regularizers.gradient_penalty(critic, real, fake, 1.0 - alpha))
    assert other_alpha != pytest.approx(expected, rel=1e-3)


def test_historical_averaging_penalty_hand_computed():
    # (1 - 0)^2 + (2 - 0)^2 + (3 - 1)^2 = 9
    variables = [tf.Variable([1.0, 2.0]), tf.Variable([[3.0]])]
    averages = [tf.Variable([0.0, 0.0]), tf.Variable([[1.0]])]
    value = regularizers.historical_averaging_penalty(variables, averages)
    assert float(value) == pytest.approx(9.0, abs=1e-6)
    with tf.GradientTape() as tape:  # d/dtheta = 2 (theta - average); the average is constant
        value = regularizers.historical_averaging_penalty(variables, averages)
    gradients = tape.gradient(value, variables + averages)
    np.testing.assert_allclose(gradients[0].numpy(), [2.0, 4.0])
    np.testing.assert_allclose(gradients[1].numpy(), [[4.0]])
    assert gradients[2] is None and gradients[3] is None


def test_running_average_is_the_mean_of_every_value_so_far():
    average = [tf.Variable([2.0])]
    regularizers.update_running_average(average, [tf.Variable([4.0])], 2)  # mean(2, 4)
    assert float(average[0][0]) == pytest.approx(3.0)
    regularizers.update_running_average(average, [tf.Variable([9.0])], 3)  # mean(2, 4, 9)
    assert float(average[0][0]) == pytest.approx(5.0)


def test_lecam_penalty_hand_computed():
    """real - a_F = (2.5, 1, -0.5) -> relu^2 mean 7.25/3; a_R - fake = (4, 0, 1) -> 17/3."""
    real = tf.constant([[2.0], [0.5], [-1.0]])
    fake = tf.constant([[-3.0], [1.0], [0.0]])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([real, fake])
        value = regularizers.lecam_penalty(real, fake, tf.constant(1.0), tf.constant(-0.5))
    assert float(value) == pytest.approx(7.25 / 3 + 17 / 3, abs=1e-6)
    # d/dreal = 2 relu(real - a_F) / 3; d/dfake = -2 relu(a_R - fake) / 3
    np.testing.assert_allclose(tape.gradient(value, real).numpy()[:, 0], [5 / 3, 2 / 3, 0.0])
    np.testing.assert_allclose(tape.gradient(value, fake).numpy()[:, 0], [-8 / 3, 0.0, -2 / 3])
    inside = regularizers.lecam_penalty(real, fake, tf.constant(-5.0), tf.constant(5.0))
    assert float(inside) == 0.0  # every score on its own side of the other's average


def test_lecam_in_the_step_uses_the_averages_then_updates_them(tmp_path):
    """D(x) = w.x + 0.25 and a generator that outputs the constant c. Step 0 uses averages
    of 0: the penalty is mean(relu(D(x))^2) + relu(-D(c))^2, and the update adds
    lambda * its gradient to the Wasserstein one. After it the averages hold 0.9 x the
    step's mean scores (decay warm-up: min(0.99, 1/10) = 0.1)."""
    weight, w, c = 0.5, np.array([0.6, -0.8]), np.array([-1.0, 1.0])
    gan = linear_gan(parts.LeCam(weight), w, c)
    real = tf.random.stateless_normal([8, 2], seed=[5, 6])
    scores = real.numpy() @ w + 0.25
    fake_score = float(c @ w + 0.25)  # -1.15: below 0, so its half is active
    out = gan.run_step(real)
    expected = np.mean(np.maximum(scores, 0) ** 2) + max(-fake_score, 0.0) ** 2
    assert float(out["lecam"]) == pytest.approx(expected, rel=1e-5)
    assert float(out["real_score"]) == pytest.approx(scores.mean(), abs=1e-5)
    assert float(out["fake_score"]) == pytest.approx(fake_score, abs=1e-5)
    kernel = gan.discriminator.trainable_variables[0].numpy()[:, 0]
    active = scores > 0  # d/dw: 2 mean(relu(D(x)) x) + 2 relu(-D(c)) (-c)
    lecam_grad = 2 * (scores[active, None] * real.numpy()[active]).sum(0) / 8 - 2 * 1.15 * c
    expected_w = w - 0.1 * (c - real.numpy().mean(0) + weight * lecam_grad)
    np.testing.assert_allclose(kernel, expected_w, rtol=1e-5, atol=1e-6)
    (lecam,) = gan.parts
    assert float(lecam.averages.real) == pytest.approx(0.9 * scores.mean(), abs=1e-5)
    assert float(lecam.averages.fake) == pytest.approx(0.9 * fake_score, abs=1e-5)
    path = gan.checkpoint().save(str(tmp_path / "ckpt"))  # the averages are state
    restored = linear_gan(parts.LeCam(weight), w, c)
    restored.checkpoint().restore(path).assert_existing_objects_matched()
    assert float(restored.parts[0].averages.real) == float(lecam.averages.real)
    assert float(restored.parts[0].averages.fake) == float(lecam.averages.fake)
    second = gan.run_step(real)  # decay min(0.99, 2/11)
    d = 2 / 11
    expected_real = d * 0.9 * scores.mean() + (1 - d) * float(second["real_score"])
    assert float(lecam.averages.real) == pytest.approx(expected_real, abs=1e-5)


def test_lecam_weight_from_the_config():
    config = make_config(model="dcgan", recipe="paper", lecam_weight=0.01)
    (lecam,) = parts.from_config(config)
    assert (type(lecam).__name__, lecam.weight, lecam.decay) == ("LeCam", 0.01, 0.99)
    gan = build_gan(config, (28, 28, 1))
    assert gan.metric_names[-3:] == ("lecam", "real_score", "fake_score")
    with pytest.raises(ConfigError, match="lecam_weight must be >= 0"):
        make_config(model="dcgan", lecam_weight=-1.0)
