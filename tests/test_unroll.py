"""Unrolled GAN: the restated optimizer rules equal Keras' own, and the unrolled
generator gradient equals a NumPy computation of the unrolled objective."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from gan_tf import distribute, make_config, unroll
from gan_tf.errors import ConfigError
from gan_tf.gan import GAN


@pytest.mark.parametrize(
    "make",
    [
        lambda: keras.optimizers.Adam(0.01, beta_1=0.5),
        lambda: keras.optimizers.RMSprop(0.01),
        lambda: keras.optimizers.SGD(0.05, momentum=0.9),
        lambda: keras.optimizers.SGD(0.05, momentum=0.9, nesterov=True),
        lambda: keras.optimizers.SGD(0.05),
    ],
    ids=["adam", "rmsprop", "sgd_momentum", "sgd_nesterov", "sgd"],
)
def test_a_restated_update_equals_the_keras_optimizers_step(make):
    rng = np.random.default_rng(0)
    variables = [tf.Variable(rng.normal(size=(3, 2)).astype("float32")), tf.Variable([0.5, -1.0])]
    optimizer = make()
    optimizer.build(variables)
    for _ in range(3):  # slots away from zero, step count 3
        optimizer.apply_gradients(
            [(tf.constant(rng.normal(size=v.shape), tf.float32), v) for v in variables]
        )
    gradients = [tf.constant(rng.normal(size=v.shape), tf.float32) for v in variables]
    state = unroll.optimizer_state(optimizer, variables)
    weights, new_state = unroll.optimizer_update(
        optimizer, gradients, [tf.convert_to_tensor(v) for v in variables], state
    )
    optimizer.apply_gradients(zip(gradients, variables, strict=True))
    for restated, applied in zip(weights, variables, strict=True):
        np.testing.assert_allclose(restated.numpy(), applied.numpy(), rtol=1e-5, atol=1e-7)
    assert int(new_state["step"]) == 4


def test_variants_it_cannot_restate_are_refused():
    with pytest.raises(ConfigError, match="amsgrad"):
        unroll.check_optimizer(keras.optimizers.Adam(amsgrad=True))
    with pytest.raises(ConfigError, match="Adam, RMSprop, SGD"):
        unroll.check_optimizer(keras.optimizers.Adagrad())


# The tiny case: G(z) = a z + c (z scalar, points in 2-D); D(x) = w . x + b; the
# non-saturating losses; Adam(lr) for the discriminator, fresh slots.
Z = np.array([-1.0, 0.5, 2.0])
REAL = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])
D0 = (np.array([0.3, -0.2]), 0.1)
LEARNING_RATE, BETA_1, BETA_2, EPSILON = 0.05, 0.5, 0.999, 1e-7


def _softplus(x):
    return np.logaddexp(0.0, x)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _unrolled_generator_loss(params, steps):
    """NumPy float64: the generator loss against D after ``steps`` Adam updates on
    (REAL, G(Z)), the updates themselves depending on G."""
    a, c = params[:2], params[2:]
    fake = Z[:, None] * a + c
    w, b = D0[0].copy(), D0[1]
    m, v = np.zeros(3), np.zeros(3)
    for t in range(1, steps + 1):
        real_logits, fake_logits = REAL @ w + b, fake @ w + b
        # d/d logits of mean softplus(-real) + mean softplus(fake)
        real_grad, fake_grad = -_sigmoid(-real_logits) / 3, _sigmoid(fake_logits) / 3
        gradient = np.concatenate(
            [REAL.T @ real_grad + fake.T @ fake_grad, [real_grad.sum() + fake_grad.sum()]]
        )
        m = m + (gradient - m) * (1 - BETA_1)
        v = v + (gradient**2 - v) * (1 - BETA_2)
        rate = LEARNING_RATE * np.sqrt(1 - BETA_2**t) / (1 - BETA_1**t)
        step = rate * m / (np.sqrt(v) + EPSILON)
        w, b = w - step[:2], b - step[2]
    return np.mean(_softplus(-(fake @ w + b)))


def _tiny_gan(steps):
    generator = keras.Sequential([keras.Input((1,)), keras.layers.Dense(2)])
    generator.set_weights([np.array([[0.7, -0.4]], np.float32), np.array([0.2, 0.1], np.float32)])
    discriminator = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    discriminator.set_weights([D0[0][:, None].astype(np.float32), np.array([D0[1]], np.float32)])
    gan = GAN(generator, discriminator, latent_dim=1)
    optimizer = keras.optimizers.Adam(LEARNING_RATE, beta_1=BETA_1, beta_2=BETA_2, epsilon=EPSILON)
    gan.compile(keras.optimizers.SGD(0.1), optimizer, unroll=steps)
    return gan


@pytest.mark.parametrize("steps", [1, 3])
def test_the_unrolled_generator_gradient_matches_numpy(steps):
    gan = _tiny_gan(steps)
    real = tf.constant(REAL, tf.float32)
    draws = distribute.Draws(tf.constant([0, 0], tf.int64))
    with tf.GradientTape() as tape:
        fake = gan.generator(tf.constant(Z[:, None], tf.float32))
        weights = gan._unrolled_weights(real, fake, None, draws)
        logits, _ = gan._score(fake, None, draws, weights)
        loss = tf.reduce_mean(tf.nn.softplus(-logits))
    kernel, bias = tape.gradient(loss, gan.generator.trainable_variables)
    params = np.array([0.7, -0.4, 0.2, 0.1])
    assert float(loss) == pytest.approx(_unrolled_generator_loss(params, steps), rel=1e-5)
    numeric = np.zeros(4)
    for index in range(4):
        delta = np.zeros(4)
        delta[index] = 1e-6
        numeric[index] = (
            _unrolled_generator_loss(params + delta, steps)
            - _unrolled_generator_loss(params - delta, steps)
        ) / 2e-6
    np.testing.assert_allclose(
        np.concatenate([kernel.numpy().ravel(), bias.numpy()]), numeric, rtol=2e-3, atol=1e-6
    )
    # and the unrolled gradient is not the plain one
    with tf.GradientTape() as tape:
        fake = gan.generator(tf.constant(Z[:, None], tf.float32))
        plain = tf.reduce_mean(tf.nn.softplus(-gan.discriminator(fake)))
    plain_kernel, _ = tape.gradient(plain, gan.generator.trainable_variables)
    assert not np.allclose(plain_kernel.numpy(), kernel.numpy(), rtol=1e-3)


def test_unrolling_leaves_the_discriminators_own_update_alone():
    """The discriminator update of a step is the same with and without unrolling;
    only the generator's differs."""
    results = {}
    for steps in (0, 2):
        gan = _tiny_gan(steps)
        gan.run_step(tf.constant(REAL, tf.float32))
        results[steps] = (gan.discriminator.get_weights(), gan.generator.get_weights())
        assert int(gan.discriminator_optimizer.iterations) == 1
    for plain, unrolled in zip(results[0][0], results[2][0], strict=True):
        np.testing.assert_allclose(plain, unrolled, rtol=1e-6)
    assert not np.allclose(results[0][1][0], results[2][1][0], rtol=1e-4)


@pytest.mark.parametrize(
    "overrides, message",
    [
        (dict(model="wgan_gp"), "unroll cannot be combined with gp_weight"),
        (dict(loss="feature_matching"), "loss=feature_matching"),
        (dict(update="simultaneous"), "update=simultaneous"),
        (dict(unroll=-1), "unroll must be an integer >= 0"),
    ],
)
def test_unroll_refuses_what_its_steps_would_leave_out(overrides, message):
    with pytest.raises(ConfigError, match=message):
        make_config(**{"model": "dcgan", "dataset": "mnist", "unroll": 2, **overrides})
