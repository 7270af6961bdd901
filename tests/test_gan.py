"""The adversarial train step (gan_tf.gan): what each update sees and computes.

Tested through public seams only: ``GAN(...)`` + ``compile`` (tiny networks, plain SGD,
loss wrappers that record what the step passes them, parts), ``run_step``/``train_steps``
and the returned metrics. The step's random numbers are replayed from
``gan_tf.distribute.Draws`` with the seed ``[seed, step]`` the step uses.
"""

import csv
import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from fake_data import tiny_mnist_config, write_mnist_idx

import gan_tf
from gan_tf import losses, parts, regularizers
from gan_tf.build import build_gan
from gan_tf.distribute import Draws
from gan_tf.gan import GAN, latent_noise

# --- helpers ---------------------------------------------------------------------------


def dense(units, kernel=None, bias=0.0, **kwargs):
    """A Dense layer with a fixed bias and a fixed kernel (Keras' default init if None)."""
    if kernel is not None:
        kwargs["kernel_initializer"] = keras.initializers.Constant(np.array(kernel, np.float32))
    bias = keras.initializers.Constant(np.array(bias, np.float32))
    return keras.layers.Dense(units, bias_initializer=bias, **kwargs)


def tiny_gan(
    *,
    generator=None,
    discriminator=None,
    latent_dim=2,
    generator_loss=losses.wasserstein_generator_loss,
    discriminator_loss=losses.wasserstein_discriminator_loss,
    sigmoid_outputs=False,
    learning_rate=0.1,
    seed=0,
    feature_layer="",
    latent_distribution="normal",
    **compile_args,
):
    """A GAN on 2-D points with SGD (so an update is exactly ``-lr * gradient``);
    ``compile_args``: ``parts``, ``n_critic``, ``update``, ``label_smoothing``."""
    keras.utils.set_random_seed(seed)
    if generator is None:
        generator = keras.Sequential([keras.Input((latent_dim,)), dense(2)])
    if discriminator is None:
        discriminator = keras.Sequential([keras.Input((2,)), dense(4, activation="tanh"), dense(1)])
    gan = GAN(
        generator,
        discriminator,
        latent_dim=latent_dim,
        seed=seed,
        feature_layer=feature_layer,
        latent_distribution=latent_distribution,
    )
    gan.compile(
        generator_optimizer=keras.optimizers.SGD(learning_rate),
        discriminator_optimizer=keras.optimizers.SGD(learning_rate),
        loss=losses.LossPair(generator_loss, discriminator_loss, sigmoid_outputs),
        **compile_args,
    )
    return gan


def replayed_draws(seed, step=0):
    """The ``Draws`` of train step ``step`` of a GAN seeded with ``seed``."""
    return Draws(tf.constant([seed, step], tf.int64))


def weights(model):
    return [variable.numpy().copy() for variable in model.trainable_variables]


def points(count, seed=0):
    return tf.random.stateless_normal([count, 2], seed=[seed, 7])


def small_gan(model="gan", shape=(28, 28, 1), **overrides):
    return build_gan(gan_tf.make_config(model=model, latent_dim=8, **overrides), shape)


# --- latent noise: normal or uniform in [-1, 1] ---------------------------------------


def test_uniform_latent_noise_hand_computed_and_roughly_uniform():
    # erf(z / sqrt 2) = 2 Phi(z) - 1: 0 -> 0, 1 -> 0.682689, -1.959964 -> -0.95
    mapped = latent_noise(tf.constant([0.0, 1.0, -1.959964]), "uniform").numpy()
    np.testing.assert_allclose(mapped, [0.0, 0.682689, -0.95], rtol=1e-5, atol=1e-6)
    normal = tf.constant([0.3, -2.0])
    assert latent_noise(normal) is normal  # the default is the standard normal itself
    gan = tiny_gan(latent_distribution="uniform")
    values = gan.noise([20000, 4], seed=3).numpy()
    assert -1.0 <= values.min() < -0.999 and 0.999 < values.max() <= 1.0
    assert values.mean() == pytest.approx(0.0, abs=0.01)
    assert values.var() == pytest.approx(1.0 / 3.0, rel=0.02)  # U[-1, 1]: var 1/3
    shares = np.histogram(values, bins=10, range=(-1.0, 1.0))[0] / values.size
    np.testing.assert_allclose(shares, np.full(10, 0.1), atol=0.006)
    # the step's noise: its standard normal draws, mapped
    step_noise = gan.noise([5, 2], replayed_draws(0)).numpy()
    expected = tf.math.erf(replayed_draws(0).normal([5, 2]) / np.sqrt(2.0)).numpy()
    np.testing.assert_allclose(step_noise, expected, rtol=1e-6)
    images = gan.generate(3, seed=1)
    assert images.shape == (3, 2)
    with pytest.raises(
        gan_tf.ConfigError, match="unknown latent_distribution 'cauchy'; choose one of"
    ):
        tiny_gan(latent_distribution="cauchy")


def test_a_uniform_latent_gan_trains_one_step():
    gan = small_gan("dcgan", latent_distribution="uniform", arch={"base_width": 8})
    assert gan.latent_distribution == "uniform"
    before = weights(gan.generator)
    out = gan.run_step(tf.random.uniform([4, 28, 28, 1], -1.0, 1.0, seed=2))
    assert all(np.isfinite(float(value)) for value in out.values())
    assert all(
        not np.array_equal(a, b) for a, b in zip(before, weights(gan.generator), strict=True)
    )


@pytest.mark.parametrize("n_critic", [1, 2])
def test_fakes_for_discriminator_feeds_each_discriminator_update_only(n_critic):
    calls = []

    class Sevens(parts.Part):
        def fakes_for_discriminator(self, fake, draws):
            calls.append(fake.shape)
            return tf.fill(tf.shape(fake), 7.0)

    gan = tiny_gan(parts=[Sevens()], n_critic=n_critic)
    before = float(gan.discriminator(tf.fill([1, 2], 7.0))[0, 0])  # D's score of (7, 7)
    out = gan.run_step(points(4 * n_critic))
    assert len(calls) == n_critic  # traced once; the generator update never calls it
    if n_critic == 1:  # d_fake: the mean raw score of the (replaced) fakes D was updated on
        assert float(out["d_fake"]) == pytest.approx(before, rel=1e-5)


# --- one step of a registered variant --------------------------------------------------


@pytest.mark.parametrize("model", ["gan", "dcgan"])
def test_one_step_changes_both_networks_and_returns_finite_scalars(model):
    gan = small_gan(model)
    before_g, before_d = weights(gan.generator), weights(gan.discriminator)
    real = tf.random.uniform([8, 28, 28, 1], -1.0, 1.0, seed=2)
    out = gan.run_step(real)
    assert list(out) == list(gan.metric_names)
    assert gan.metric_names == ("discriminator_loss", "generator_loss", "d_real", "d_fake")
    for key, value in out.items():
        assert value.shape == () and value.dtype == tf.float32 and np.isfinite(float(value)), key
    assert 0.0 <= float(out["d_real"]) <= 1.0 and 0.0 <= float(out["d_fake"]) <= 1.0
    # At initialisation D is near chance: each BCE term is near ln 2, the sum near 1.386.
    assert 0.9 < float(out["discriminator_loss"]) < 2.5
    for before, network in ((before_g, gan.generator), (before_d, gan.discriminator)):
        moved = [not np.array_equal(a, b) for a, b in zip(before, weights(network), strict=True)]
        assert all(moved), f"every {network.name} variable should move"
    assert int(gan.step.numpy()) == 1
    assert int(gan.generator_optimizer.iterations.numpy()) == 1
    assert int(gan.discriminator_optimizer.iterations.numpy()) == 1


def test_generate_is_deterministic_in_inference_mode():
    gan = small_gan("dcgan")
    noise = tf.random.normal([4, 8], seed=3)
    a, b = gan.generate(noise).numpy(), gan.generate(noise).numpy()
    np.testing.assert_array_equal(a, b)
    assert a.shape == (4, 28, 28, 1)


def test_same_seed_same_first_step_other_seed_other_step():
    real = tf.random.uniform([8, 28, 28, 1], -1.0, 1.0, seed=4)
    first = {k: float(v) for k, v in small_gan().run_step(real).items()}
    second = {k: float(v) for k, v in small_gan().run_step(real).items()}
    assert first == pytest.approx(second, rel=1e-5)
    other = {k: float(v) for k, v in small_gan(seed=1).run_step(real).items()}
    assert other["generator_loss"] != pytest.approx(first["generator_loss"], rel=1e-3)


# --- what each update sees -------------------------------------------------------------


def test_each_critic_update_scores_its_own_real_chunk():
    """n_critic=5 on 10 real rows: critic update i must see rows 2i and 2i+1. The five
    updates are unrolled at trace time, so a Python counter in the loss indexes them."""
    seen = tf.Variable(tf.fill([5, 2], -1.0))
    calls = []

    def recording_loss(*, real_logits, fake_logits):
        row = len(calls) % 5
        calls.append(row)
        seen[row].assign(tf.reshape(real_logits, [-1]))
        return losses.wasserstein_discriminator_loss(
            real_logits=real_logits, fake_logits=fake_logits
        )

    # D(x) = x_0, and a learning rate so small that it stays so over the five updates
    critic = keras.Sequential([keras.Input((2,)), dense(1, kernel=[[1.0], [0.0]])])
    gan = tiny_gan(
        discriminator=critic,
        discriminator_loss=recording_loss,
        learning_rate=1e-9,
        n_critic=5,
    )
    real = tf.reshape(tf.range(20, dtype=tf.float32), [10, 2])  # rows [0, 1], [2, 3], ...
    out = gan.run_step(real)
    # reusing one chunk (or the whole batch) would repeat a row or change the shape
    np.testing.assert_allclose(
        seen.numpy(), [[0, 2], [4, 6], [8, 10], [12, 14], [16, 18]], atol=1e-4
    )
    assert float(out["d_real"]) == pytest.approx(17.0, abs=1e-4)  # the last update's chunk
    assert int(gan.discriminator_optimizer.iterations.numpy()) == 5
    assert int(gan.generator_optimizer.iterations.numpy()) == 1


@pytest.mark.parametrize("n_critic, rows", [(1, 6), (1, 4), (2, 8)])
def test_noise_batch_follows_the_real_batch(n_critic, rows):
    """Every fake batch has as many examples as the real chunk it is scored against."""
    shapes = []

    def d_loss(*, real_logits, fake_logits):
        shapes.append(("d", tuple(real_logits.shape), tuple(fake_logits.shape)))
        return losses.wasserstein_discriminator_loss(
            real_logits=real_logits, fake_logits=fake_logits
        )

    def g_loss(*, real_logits=None, fake_logits):
        shapes.append(("g", real_logits, tuple(fake_logits.shape)))
        return losses.wasserstein_generator_loss(fake_logits=fake_logits)

    gan = tiny_gan(
        discriminator_loss=d_loss,
        generator_loss=g_loss,
        n_critic=n_critic,
    )
    out = gan.run_step(points(rows))
    chunk = rows // n_critic
    assert set(shapes) == {("d", (chunk, 1), (chunk, 1)), ("g", None, (chunk, 1))}
    assert all(np.isfinite(float(value)) for value in out.values())


def test_generator_loss_gets_real_logits_only_when_it_uses_them():
    """A generator loss that declares ``real_logits`` without a default reads the real
    batch's scores; one with ``real_logits=None`` gets None and no real batch is scored."""
    received = {}

    def record(real_logits, fake_logits):
        received["real"] = None if real_logits is None else tuple(real_logits.shape)
        return losses.relativistic_generator_loss(
            real_logits=fake_logits if real_logits is None else real_logits,
            fake_logits=fake_logits,
        )

    def uses_real(*, real_logits, fake_logits):
        return record(real_logits, fake_logits)

    def ignores_real(*, real_logits=None, fake_logits):
        return record(real_logits, fake_logits)

    for g_loss, expected in ((uses_real, (6, 1)), (ignores_real, None)):
        gan = tiny_gan(
            generator_loss=g_loss, discriminator_loss=losses.relativistic_discriminator_loss
        )
        out = gan.run_step(points(6))
        assert received["real"] == expected and np.isfinite(float(out["generator_loss"]))


@pytest.mark.parametrize("sigmoid_outputs", [True, False])
def test_label_smoothing_reaches_only_sigmoid_losses(sigmoid_outputs):
    received = []

    def d_loss(*, real_logits, fake_logits, **kwargs):
        received.append(kwargs)
        return losses.wasserstein_discriminator_loss(
            real_logits=real_logits, fake_logits=fake_logits
        )

    gan = tiny_gan(
        discriminator_loss=d_loss,
        label_smoothing=0.1,
        fake_label_smoothing=0.2,
        sigmoid_outputs=sigmoid_outputs,
    )
    out = gan.run_step(points(4))
    smoothing = {"label_smoothing": 0.1, "fake_label_smoothing": 0.2}
    assert received == ([smoothing] if sigmoid_outputs else [{}])
    assert np.isfinite(float(out["discriminator_loss"]))


def test_label_flip_swaps_the_roles_of_about_that_fraction_of_examples():
    """Real points score 10 and fakes 0 (D(x) = x_0, the generator outputs 0): a flipped
    example shows the loss 0 as its real score and 10 as its fake score."""
    count = 400
    scored = tf.Variable(tf.zeros([2, count]))

    def d_loss(*, real_logits, fake_logits):
        scored.assign(tf.stack([tf.reshape(real_logits, [-1]), tf.reshape(fake_logits, [-1])]))
        return losses.wasserstein_discriminator_loss(
            real_logits=real_logits, fake_logits=fake_logits
        )

    def build(flip):
        return tiny_gan(
            generator=keras.Sequential([keras.Input((2,)), dense(2, kernel=[[0, 0], [0, 0]])]),
            discriminator=keras.Sequential([keras.Input((2,)), dense(1, kernel=[[1.0], [0.0]])]),
            discriminator_loss=d_loss,
            learning_rate=1e-9,
            parts=[parts.LabelFlip(flip)],
        )

    real = tf.tile([[10.0, 0.0]], [count, 1])
    out = build(0.5).run_step(real)
    real_scores, fake_scores = scored.numpy()
    flipped = real_scores < 5.0
    np.testing.assert_allclose(real_scores[flipped], 0.0, atol=1e-4)
    np.testing.assert_allclose(fake_scores[flipped], 10.0, atol=1e-4)  # swapped together
    np.testing.assert_allclose(real_scores[~flipped], 10.0, atol=1e-4)
    np.testing.assert_allclose(fake_scores[~flipped], 0.0, atol=1e-4)
    assert 0.4 < flipped.mean() < 0.6  # binomial(400, 0.5): std 0.025
    # the reported scores are the true (unflipped) ones
    assert float(out["d_real"]) == pytest.approx(10.0, abs=1e-4)
    assert float(out["d_fake"]) == pytest.approx(0.0, abs=1e-4)
    build(0.0).run_step(real)
    np.testing.assert_allclose(scored.numpy()[0], 10.0, atol=1e-4)  # no flips when off


def test_instance_noise_std_is_set_and_annealed():
    """D(x) = mean(x^2) with Wasserstein losses (raw scores): on all-zero real and fake
    images the reported scores are the mean squared instance noise, i.e. its variance.
    The std anneals linearly from its value at step 0 to 0 at the run's last step."""

    def build(noise):
        config = gan_tf.make_config(
            loss="wasserstein", latent_dim=2, learning_rate=1e-9, instance_noise=noise
        )
        zeros = keras.Sequential(  # the generator outputs zero images
            [
                keras.Input((2,)),
                dense(64, kernel=np.zeros([2, 64])),
                keras.layers.Reshape((8, 8, 1)),
            ]
        )
        mean_square = keras.Sequential(
            [
                keras.Input((8, 8, 1)),
                keras.layers.Lambda(lambda x: x * x),
                keras.layers.GlobalAveragePooling2D(),
                dense(1, kernel=[[1.0]]),
            ]
        )
        return build_gan(
            config, (8, 8, 1), total_steps=100, generator=zeros, discriminator=mean_square
        )

    real = tf.zeros([64, 8, 8, 1])  # 4096 squared draws per estimate: relative std 2%
    gan = build(0.5)
    first = gan.run_step(real)
    assert float(first["d_real"]) == pytest.approx(0.25, abs=0.025)
    assert float(first["d_fake"]) == pytest.approx(0.25, abs=0.025)  # fakes get noise too
    assert float(first["generator_loss"]) == pytest.approx(-0.25, abs=0.025)
    second = gan.run_step(real)
    assert float(second["d_real"]) != float(first["d_real"])  # fresh noise every step
    gan.step.assign(50)  # half way: std 0.25, variance 0.0625
    third = gan.run_step(real)
    assert float(third["d_real"]) == pytest.approx(0.0625, abs=0.0065)
    assert float(third["d_fake"]) == pytest.approx(0.0625, abs=0.0065)
    (noise,) = [part for part in gan.parts if isinstance(part, parts.InstanceNoise)]
    stds = []
    for step in (0, 25, 50, 100, 150):
        gan.step.assign(step)
        stds.append(float(noise.current_std()))
    assert stds == pytest.approx([0.5, 0.375, 0.25, 0.0, 0.0], abs=1e-7)
    off = build(0.0).run_step(real)
    assert float(off["d_real"]) == 0.0 and float(off["d_fake"]) == 0.0


# --- update order ----------------------------------------------------------------------


def _bce_gan(update):
    return tiny_gan(
        generator_loss=losses.non_saturating_generator_loss,
        discriminator_loss=losses.bce_discriminator_loss,
        sigmoid_outputs=True,
        update=update,
        seed=3,
        learning_rate=0.5,
    )


def test_simultaneous_update_scores_the_generator_with_the_pre_update_discriminator():
    gan = _bce_gan("simultaneous")
    real = points(8, seed=1)
    noise = replayed_draws(3).normal([8, 2])  # the step's one draw
    with tf.GradientTape() as tape:
        fake = gan.generator(noise, training=True)
        expected_g = losses.non_saturating_generator_loss(fake_logits=gan.discriminator(fake))
    g_gradients = tape.gradient(expected_g, gan.generator.trainable_variables)
    expected_d = losses.bce_discriminator_loss(
        real_logits=gan.discriminator(real), fake_logits=gan.discriminator(fake)
    )
    g_before = weights(gan.generator)
    out = gan.run_step(real)
    assert float(out["generator_loss"]) == pytest.approx(float(expected_g), rel=1e-5)
    assert float(out["discriminator_loss"]) == pytest.approx(float(expected_d), rel=1e-5)
    # the discriminator moved enough that the post-update score would be different
    # (by far more than the rel=1e-5 the loss is checked to)
    after_d = float(losses.non_saturating_generator_loss(fake_logits=gan.discriminator(fake)))
    assert abs(after_d - float(expected_g)) > 1e-3
    # and the generator stepped down the gradient of the pre-update loss (SGD, lr 0.5)
    for before, gradient, after in zip(g_before, g_gradients, weights(gan.generator), strict=True):
        np.testing.assert_allclose(after, before - 0.5 * gradient.numpy(), rtol=1e-5, atol=1e-6)


def test_alternating_update_scores_fresh_fakes_with_the_updated_discriminator():
    gan = _bce_gan("alternating")
    real = points(8, seed=1)
    draws = replayed_draws(3)
    d_noise, g_noise = draws.normal([8, 2]), draws.normal([8, 2])  # the step's two draws
    generator_before = keras.models.clone_model(gan.generator)
    generator_before.set_weights(gan.generator.get_weights())
    expected_d = losses.bce_discriminator_loss(
        real_logits=gan.discriminator(real),
        fake_logits=gan.discriminator(gan.generator(d_noise)),
    )
    out = gan.run_step(real)
    assert float(out["discriminator_loss"]) == pytest.approx(float(expected_d), rel=1e-5)
    expected_g = losses.non_saturating_generator_loss(
        fake_logits=gan.discriminator(generator_before(g_noise))  # D after, G before its update
    )
    assert float(out["generator_loss"]) == pytest.approx(float(expected_g), rel=1e-5)
    reused = losses.non_saturating_generator_loss(
        fake_logits=gan.discriminator(generator_before(d_noise))
    )
    assert abs(float(reused) - float(expected_g)) > 1e-3  # the noise was fresh


def test_reuse_update_scores_the_same_fakes_with_the_updated_discriminator():
    gan = _bce_gan("reuse")
    real = points(8, seed=1)
    noise = replayed_draws(3).normal([8, 2])  # the step's one draw
    generator_before = keras.models.clone_model(gan.generator)
    generator_before.set_weights(gan.generator.get_weights())
    fake = gan.generator(noise, training=True)
    expected_d = losses.bce_discriminator_loss(
        real_logits=gan.discriminator(real), fake_logits=gan.discriminator(fake)
    )
    discriminator_before = keras.models.clone_model(gan.discriminator)
    discriminator_before.set_weights(gan.discriminator.get_weights())
    out = gan.run_step(real)
    assert float(out["discriminator_loss"]) == pytest.approx(float(expected_d), rel=1e-5)
    # G's loss and gradient: the same fakes, scored by the updated D (SGD, lr 0.5)
    with tf.GradientTape() as tape:
        fake = generator_before(noise, training=True)
        expected_g = losses.non_saturating_generator_loss(fake_logits=gan.discriminator(fake))
    gradients = tape.gradient(expected_g, generator_before.trainable_variables)
    assert float(out["generator_loss"]) == pytest.approx(float(expected_g), rel=1e-5)
    pre_update = losses.non_saturating_generator_loss(fake_logits=discriminator_before(fake))
    assert abs(float(pre_update) - float(expected_g)) > 1e-3  # D's update was seen
    updated = zip(weights(generator_before), gradients, weights(gan.generator), strict=True)
    for before, gradient, after in updated:
        np.testing.assert_allclose(after, before - 0.5 * gradient.numpy(), rtol=1e-5, atol=1e-6)


def test_reuse_with_two_critic_updates_shares_the_last_ones_fakes():
    gan = tiny_gan(update="reuse", n_critic=2, seed=3, learning_rate=0.5)
    real = points(16, seed=1)
    draws = replayed_draws(3)
    first, last = draws.normal([8, 2]), draws.normal([8, 2])  # one draw per D update
    generator_before = keras.models.clone_model(gan.generator)
    generator_before.set_weights(gan.generator.get_weights())
    out = gan.run_step(real)
    # the Wasserstein G loss -mean D(G(z)) of the last D update's noise, D after both
    expected = -tf.reduce_mean(gan.discriminator(generator_before(last)))
    assert float(out["generator_loss"]) == pytest.approx(float(expected), rel=1e-5)
    other = -tf.reduce_mean(gan.discriminator(generator_before(first)))
    assert abs(float(other) - float(expected)) > 1e-3


def mean_real_score(critic, real, fake, draws):
    """A penalty term for the tests: the critic's mean score on the real batch."""
    del fake, draws
    return tf.reduce_mean(critic(real))


def linear_pair(c, learning_rate, step_parts):
    """The generator outputs the constant ``c``; D(x) = (0.3, -0.2).x + 0.1."""
    return tiny_gan(
        generator=keras.Sequential([keras.Input((2,)), dense(2, kernel=np.zeros([2, 2]), bias=c)]),
        discriminator=keras.Sequential(
            [keras.Input((2,)), dense(1, kernel=[[0.3], [-0.2]], bias=0.1)]
        ),
        learning_rate=learning_rate,
        parts=step_parts,
    )


def test_penalties_are_weighted_into_the_discriminator_update_and_logged():
    """D(x) = w.x + b, the generator outputs the constant c, Wasserstein loss and a penalty
    term P = mean D(real) with weight 3: the SGD update of w is
    -lr * (c - mean(real) + 3 * mean(real)) and of b is -lr * (1 - 1 + 3)."""
    lr, weight, c = 0.01, 3.0, np.array([0.5, -1.0], np.float32)

    def constant_term(critic, real, fake, draws):
        return tf.constant(7.0)

    gan = linear_pair(
        c,
        lr,
        [
            parts.Penalty("mean_real", weight, mean_real_score),
            parts.Penalty("seven", 0.0, constant_term),
        ],
    )
    real = points(6, seed=2)
    mean_real = real.numpy().mean(axis=0)
    out = gan.run_step(real)
    assert (
        list(out)
        == [*gan.metric_names]
        == [
            "discriminator_loss",
            "generator_loss",
            "d_real",
            "d_fake",
            "mean_real",
            "seven",
        ]
    )
    w0, b0 = np.array([0.3, -0.2]), 0.1
    assert float(out["mean_real"]) == pytest.approx(float(mean_real @ w0 + b0), abs=1e-5)
    assert float(out["seven"]) == 7.0
    # the logged discriminator loss is the loss alone, without the penalties
    expected_loss = float(c @ w0 - mean_real @ w0)
    assert float(out["discriminator_loss"]) == pytest.approx(expected_loss, abs=1e-5)
    kernel, bias = (v.numpy() for v in gan.discriminator.trainable_variables)
    expected_w = w0 - lr * (c - mean_real + weight * mean_real)
    np.testing.assert_allclose(kernel[:, 0], expected_w, rtol=1e-5, atol=1e-7)
    assert float(bias[0]) == pytest.approx(b0 - lr * weight, abs=1e-7)


def test_a_lazy_penalty_is_applied_every_n_steps_times_n():
    """Lazy regularization (StyleGAN2): with every=2 the penalty P = mean D(real) of the
    test above (weight 3) acts on steps 0 and 2 only, weighted 2 x 3. The Wasserstein
    loss leaves D's bias untouched (its gradient is 1 - 1), so the bias moves by
    -lr * 6 on those steps and not at all on steps 1 and 3; the metric is 2 P, then 0."""
    lr, weight, c = 0.01, 3.0, np.array([0.5, -1.0], np.float32)
    gan = linear_pair(c, lr, [parts.Penalty("mean_real", weight, mean_real_score, every=2)])
    real = points(6, seed=2)
    mean_real = real.numpy().mean(axis=0)
    biases, logged = [], []
    for _ in range(4):
        kernel_before, bias_before = (v.numpy() for v in gan.discriminator.trainable_variables)
        out = gan.run_step(real)
        logged.append(
            (float(out["mean_real"]), float(mean_real @ kernel_before[:, 0] + bias_before[0]))
        )
        biases.append(float(gan.discriminator.trainable_variables[1].numpy()[0]))
    assert logged[0][0] == pytest.approx(2 * logged[0][1], abs=1e-5)
    assert logged[2][0] == pytest.approx(2 * logged[2][1], abs=1e-5)
    assert logged[1][0] == logged[3][0] == 0.0
    assert biases == pytest.approx([0.1 - 0.06, 0.1 - 0.06, 0.1 - 0.12, 0.1 - 0.12], abs=1e-6)


def test_penalty_every_switches_the_config_penalties_to_lazy():
    config = gan_tf.make_config(model="dcgan", recipe="paper", r1_weight=1.0, penalty_every=16)
    (penalty,) = parts.from_config(config)
    assert (penalty.name, penalty.weight, penalty.every) == ("r1_penalty", 1.0, 16)
    with pytest.raises(gan_tf.ConfigError, match="penalty_every must be a positive integer, got 0"):
        gan_tf.make_config(model="dcgan", penalty_every=0)


def test_ema_decay_warms_up_to_its_value():
    """min(decay, (1 + n) / (10 + n)) after n updates, as tf.train.ExponentialMovingAverage."""
    assert float(parts.ema_decay(0.999, tf.constant(0, tf.int64))) == pytest.approx(0.1)
    assert float(parts.ema_decay(0.999, tf.constant(90, tf.int64))) == pytest.approx(0.91)
    assert float(parts.ema_decay(0.999, tf.constant(8990, tf.int64))) == pytest.approx(0.999)
    assert float(parts.ema_decay(0.9, tf.constant(1000, tf.int64))) == pytest.approx(0.9)


def test_ema_generator_follows_the_warmed_up_decay_and_is_sampled():
    gan = tiny_gan(parts=[parts.EMA(0.9)])
    assert gan.sampling_generator is gan.generator_ema is not gan.generator
    for step, decay in ((0, 0.1), (1, 2 / 11)):  # the first updates follow the weights closely
        before = gan.generator_ema.get_weights()
        gan.run_step(points(4))
        current = gan.generator.get_weights()
        assert int(gan.step.numpy()) == step + 1
        for average, old, new in zip(gan.generator_ema.get_weights(), before, current, strict=True):
            np.testing.assert_allclose(
                average, decay * old + (1 - decay) * new, rtol=1e-5, atol=1e-7
            )
    assert not np.allclose(gan.generator_ema.get_weights()[0], gan.generator.get_weights()[0])
    noise = tf.ones([3, 2])
    np.testing.assert_allclose(gan.generate(noise), gan.generator_ema(noise), atol=1e-6)


def test_wgan_clips_every_critic_weight_after_every_critic_update(monkeypatch):
    calls = []
    original = regularizers.clip_weights
    monkeypatch.setattr(
        regularizers, "clip_weights", lambda v, c: calls.append((len(v), c)) or original(v, c)
    )
    config = gan_tf.make_config(model="wgan", latent_dim=8)
    assert (config.n_critic, config.clip_value, config.optimizer) == (5, 0.01, "rmsprop")
    gan = build_gan(config, (28, 28, 1))
    real = tf.random.uniform([20, 28, 28, 1], -1.0, 1.0, seed=5)
    for _ in range(3):
        gan.run_step(real)
    for variable in gan.discriminator.trainable_variables:
        values = variable.numpy()
        assert values.min() >= -0.01 and values.max() <= 0.01, variable.path
    assert int(gan.generator_optimizer.iterations.numpy()) == 3
    assert int(gan.discriminator_optimizer.iterations.numpy()) == 15
    # traced once: a clip after each of the 5 critic updates, on every critic variable
    assert calls == [(len(gan.discriminator.trainable_variables), 0.01)] * 5
    unclipped = build_gan(
        gan_tf.make_config(model="wgan", latent_dim=8, clip_value=0.0), (28, 28, 1)
    )
    unclipped.run_step(real)
    kernel = unclipped.discriminator.trainable_variables[0].numpy()
    assert np.abs(kernel).max() > 0.03  # N(0, 0.02) init: without clipping weights exceed c


# --- several steps per call (--steps_per_call) -----------------------------------------


def _batches(count, size, seed=0):
    return tf.random.stateless_uniform(
        [count, size, 28, 28, 1], seed=[seed, 1], minval=-1, maxval=1
    )


def test_four_steps_in_one_call_equal_four_single_calls():
    config = gan_tf.make_config(model="dcgan", batch_size=8, latent_dim=8)
    single, fused = build_gan(config, (28, 28, 1)), build_gan(config, (28, 28, 1))
    for a, b in zip(single.generator.weights, fused.generator.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())  # same seed, same start
    batches = _batches(4, 8)
    singles = [single.run_step(batches[i]) for i in range(4)]
    outputs = fused.train_steps(iter(tf.data.Dataset.from_tensor_slices(batches)), 4)
    assert int(fused.step.numpy()) == int(single.step.numpy()) == 4
    for key in single.metric_names:
        assert outputs[key].shape == (4,)
        np.testing.assert_allclose(
            outputs[key].numpy(), [float(s[key]) for s in singles], rtol=1e-4, atol=1e-6
        )
    for network in ("generator", "discriminator"):
        for a, b in zip(
            getattr(single, network).weights, getattr(fused, network).weights, strict=True
        ):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-6)


def test_looped_calls_of_any_count_share_one_trace():
    config = gan_tf.make_config(model="dcgan", batch_size=8, latent_dim=8)
    gan = build_gan(config, (28, 28, 1))
    iterator = iter(tf.data.Dataset.from_tensor_slices(_batches(8, 8)))
    sizes = [4, 3, 1]  # an epoch of 8 at 4 a call, then remainders of 3 and 1
    outputs = [gan.train_steps(iterator, count, looped=True) for count in sizes]
    assert [int(out["generator_loss"].shape[0]) for out in outputs] == sizes
    assert int(gan.step.numpy()) == 8
    assert gan._looped_call.experimental_get_tracing_count() == 1
    assert gan._single_call.experimental_get_tracing_count() == 0


@pytest.fixture(scope="module")
def mnist_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("mnist_fusion")
    write_mnist_idx(str(directory), train=64)
    return str(directory)


def _run(mnist_dir, output_dir, **overrides):
    config = tiny_mnist_config(
        mnist_dir,
        model="dcgan",
        batch_size=8,
        steps_per_epoch=7,
        epochs=1,
        log_every=2,
        **overrides,
    )
    gan_tf.train(config, output_dir, verbose=0)
    with open(os.path.join(output_dir, "losses.csv"), encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_training_with_steps_per_call_matches_single_steps(mnist_dir, tmp_path):
    # 7 steps with 3 per call: two looped calls of 3 and one of the remainder, 1
    single = _run(mnist_dir, str(tmp_path / "single"))
    fused = _run(mnist_dir, str(tmp_path / "fused"), steps_per_call=3)
    steps = [row["step"] for row in single]
    assert [row["step"] for row in fused] == steps == ["2", "4", "6", "7"]
    for a, b in zip(single, fused, strict=True):
        for key in ("discriminator_loss", "generator_loss", "d_real", "d_fake"):
            assert float(a[key]) == pytest.approx(float(b[key]), rel=1e-4, abs=1e-6)
    for name in ("single", "fused"):
        reader = tf.train.load_checkpoint(str(tmp_path / name / "checkpoints"))
        assert int(reader.get_tensor("step/.ATTRIBUTES/VARIABLE_VALUE")) == 7


# --- XLA (--jit_compile) ---------------------------------------------------------------


def _python_op_critic():
    """A critic whose graph holds a tf.numpy_function (adds 0): XLA cannot compile it."""

    def add_python_zero(x):
        zero = tf.numpy_function(lambda: np.float32(0.0), [], tf.float32, stateful=False)
        return x + tf.reshape(zero, [])

    return keras.Sequential(
        [
            keras.Input((2,)),
            dense(4, activation="tanh"),
            dense(1),
            keras.layers.Lambda(add_python_zero),
        ]
    )


def _own_gan(jit_compile, critic=None):
    """Own networks through build_gan. The generator ignores its noise (it outputs its
    bias), so the step is deterministic: XLA draws other random numbers than the
    plain kernels for the same seed, and this keeps the two comparable."""
    config = gan_tf.make_config(
        loss="wasserstein",
        latent_dim=2,
        learning_rate=0.01,
        jit_compile=jit_compile,
        recipe="paper",  # no EMA: its clone cannot copy the Lambda generator
        precision="float32",  # XLA and plain kernels compared to float32 rounding
    )
    keras.utils.set_random_seed(0)
    generator = keras.Sequential(
        [keras.Input((2,)), keras.layers.Lambda(lambda z: 0.0 * z), dense(2, bias=[0.5, -0.5])]
    )
    critic = critic or keras.Sequential([keras.Input((2,)), dense(4, activation="tanh"), dense(1)])
    return build_gan(config, (2,), generator=generator, discriminator=critic)


def test_jit_compile_is_honoured():
    """A Python op in the step trains without XLA and is refused by the XLA compiler, so
    config.jit_compile really compiles the step."""
    plain = _own_gan(False, _python_op_critic())
    out = plain.run_step(points(4))
    assert all(np.isfinite(float(value)) for value in out.values())
    compiled = _own_gan(True, _python_op_critic())
    with pytest.raises(tf.errors.InvalidArgumentError, match="PyFunc|unsupported operations"):
        compiled.run_step(points(4))


def test_jit_compiled_step_trains_like_the_plain_step():
    plain, compiled = _own_gan(False), _own_gan(True)
    initial = compiled.generator.get_weights()
    batches = tf.reshape(points(12, seed=4), [3, 4, 2])
    expected = [plain.run_step(batches[i]) for i in range(3)]
    first = compiled.run_step(batches[0])
    # the loop's path: batches read from a tf.data iterator around the compiled step
    rest = compiled.train_steps(iter(tf.data.Dataset.from_tensor_slices(batches[1:])), 2)
    assert int(compiled.step.numpy()) == 3
    for key in compiled.metric_names:
        got = [float(first[key]), *rest[key].numpy()]
        np.testing.assert_allclose(got, [float(e[key]) for e in expected], rtol=1e-4, atol=1e-6)
    for network in ("generator", "discriminator"):
        for a, b in zip(
            getattr(plain, network).weights, getattr(compiled, network).weights, strict=True
        ):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-6)
    assert not np.allclose(compiled.generator.get_weights()[1], initial[1])  # it trained


# --- losses that read discriminator layers, historical averaging ---------------------------


@pytest.fixture
def eager():
    """Runs the step eagerly, so a loss wrapper can keep the tensors it was given."""
    tf.config.run_functions_eagerly(True)
    yield
    tf.config.run_functions_eagerly(False)


def tapped_critic():
    return keras.Sequential(
        [
            keras.Input((2,)),
            dense(3, activation="tanh", name="hidden"),
            dense(4, activation="tanh", name="wide"),
            dense(1, name="logit"),
        ]
    )


@pytest.mark.parametrize("layer, width", [("", 4), ("hidden", 3)])
def test_feature_matching_gets_the_features_of_the_chosen_layer(layer, width, eager):
    """Default: the input of the logit layer; ``feature_layer`` names another. The
    generator loss equals feature matching on that layer's outputs for the real batch
    and fresh fakes, read from the updated discriminator."""
    received = {}

    def g_loss(*, real_features, fake_features, real_logits=None, fake_logits=None):
        received.update(real_features=real_features, fake_features=fake_features)
        return losses.feature_matching_generator_loss(
            real_features=real_features, fake_features=fake_features
        )

    gan = tiny_gan(
        discriminator=tapped_critic(),
        generator_loss=g_loss,
        discriminator_loss=losses.bce_discriminator_loss,
        sigmoid_outputs=True,
        feature_layer=layer,
    )
    real = points(6)
    out = gan.run_step(real)
    assert received["real_features"].shape == (6, width)
    assert received["fake_features"].shape == (6, width)
    name = layer or "wide"
    features = keras.Model(gan.discriminator.inputs, gan.discriminator.get_layer(name).output)
    np.testing.assert_allclose(received["real_features"].numpy(), features(real).numpy(), atol=1e-6)
    expected = losses.feature_matching_generator_loss(
        real_features=received["real_features"], fake_features=received["fake_features"]
    )
    assert float(out["generator_loss"]) == pytest.approx(float(expected), rel=1e-6)


def test_feature_matching_layer_errors():
    matching = {"generator_loss": losses.feature_matching_generator_loss, "sigmoid_outputs": True}
    with pytest.raises(gan_tf.ConfigError, match="no layer 'nope'; its layers are: hidden, wide"):
        tiny_gan(discriminator=tapped_critic(), feature_layer="nope", **matching)

    class Subclassed(keras.Model):
        def __init__(self):
            super().__init__()
            self.logit = keras.layers.Dense(1)

        def call(self, x):
            return self.logit(x)

    with pytest.raises(gan_tf.ConfigError, match="Sequential or functional"):
        tiny_gan(discriminator=Subclassed(), **matching)


def test_the_discriminator_loss_gets_the_labels_and_class_logits_it_declares(eager):
    received = {}

    def d_loss(*, real_logits, fake_logits, real_class_logits, labels):
        received.update(real_logits=real_logits, real_class_logits=real_class_logits, labels=labels)
        return losses.semi_supervised_discriminator_loss(
            real_logits=real_logits,
            fake_logits=fake_logits,
            real_class_logits=real_class_logits,
            labels=labels,
        )

    discriminator = keras.Sequential(
        [
            keras.Input((2,)),
            dense(5, activation="relu", name="features"),
            dense(3, name="class_logits"),
        ]
    )
    logit = keras.layers.Lambda(lambda x: tf.reduce_logsumexp(x, -1, keepdims=True))
    discriminator = keras.Model(discriminator.inputs, logit(discriminator.outputs[0]))
    gan = tiny_gan(
        discriminator=discriminator,
        generator_loss=losses.feature_matching_generator_loss,
        discriminator_loss=d_loss,
        sigmoid_outputs=True,
    )
    labels = tf.constant([2, -1, 0, -1])
    out = gan.run_step(points(4), labels)
    assert received["labels"].numpy().tolist() == [2, -1, 0, -1]
    assert received["real_class_logits"].shape == (4, 3)
    np.testing.assert_allclose(
        received["real_logits"].numpy(),
        tf.reduce_logsumexp(received["real_class_logits"], -1, keepdims=True).numpy(),
        atol=1e-6,
    )
    assert np.isfinite(float(out["discriminator_loss"]))


def test_historical_averaging_pulls_the_weights_to_their_running_mean():
    """Step 1: the average is the initial weights, so the penalty and its gradient are
    0 and the update equals the plain one. After it the average is (theta0 + theta1) / 2,
    so step 2 adds -lr * w * 2 (theta1 - avg) = -lr * w * (theta1 - theta0) to the
    plain update. The averages are the running means of every value so far."""
    lr, weight = 0.1, 0.5

    def make(historical_averaging):
        averaging = [parts.HistoricalAveraging(historical_averaging)] * bool(historical_averaging)
        return tiny_gan(learning_rate=lr, parts=averaging)

    plain, averaged = make(0.0), make(weight)
    theta0 = weights(averaged.discriminator)
    real = points(6, seed=3)
    out1 = averaged.run_step(real)
    plain.run_step(real)
    theta1 = weights(averaged.discriminator)
    for a, b in zip(theta1, weights(plain.discriminator), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert float(out1["historical_averaging"]) == pytest.approx(0.0, abs=1e-10)
    out2 = averaged.run_step(real)
    plain.run_step(real)
    for got, base, t0, t1 in zip(
        weights(averaged.discriminator), weights(plain.discriminator), theta0, theta1, strict=True
    ):
        np.testing.assert_allclose(got - base, -lr * weight * (t1 - t0), rtol=1e-4, atol=1e-6)
    d_distance = sum(
        float(np.sum(((t1 - t0) / 2) ** 2)) for t0, t1 in zip(theta0, theta1, strict=True)
    )
    assert float(out2["historical_averaging"]) > d_distance > 0  # plus the generator's
    mean = [
        (t0 + t1 + t2) / 3
        for t0, t1, t2 in zip(theta0, theta1, weights(averaged.discriminator), strict=True)
    ]
    (part,) = averaged.parts
    for average, expected in zip(part.averages.discriminator, mean, strict=True):
        np.testing.assert_allclose(average.numpy(), expected, rtol=1e-5, atol=1e-7)
    assert "historical_averages" in averaged.checkpoint_objects()
