"""Every variant x {28x28x1, 32x32x3, 64x64x3, 2-D points}: builds, trains a step, resumes."""

import numpy as np
import pytest
import tensorflow as tf

from gan_tf import make_config
from gan_tf.models import MODEL_NAMES, get_model
from gan_tf.training import build_gan

SHAPES = [(28, 28, 1), (32, 32, 3), (64, 64, 3), (2,)]


def make(model, shape, **overrides):
    config = make_config(model=model, latent_dim=8, output_dir="unused", **overrides)
    num_classes = 3 if get_model(model).conditional else None
    return build_gan(config, shape, num_classes), config


def batch_for(gan, shape, batch_size=2):
    n = batch_size * gan.options.n_critic
    images = tf.random.uniform([n, *shape], -1.0, 1.0, seed=5)
    return (images, tf.range(n) % 3) if gan.conditional else (images,)


def _variant_cases():
    """Every model x shape. With `make test-slow` only: the 64x64 cases other than dcgan's
    and the wgan_gp cases except 28x28x1 (the slowest; the same code runs in the other
    cases, and test_distribute steps the 2-D wgan_gp)."""
    for model in MODEL_NAMES:
        for shape in SHAPES:
            slow = (
                (shape == (64, 64, 3) and model != "dcgan")
                or (shape == (32, 32, 3) and model.startswith("wgan"))
                or (model == "wgan_gp" and shape != (28, 28, 1))
            )
            marks = [pytest.mark.slow] if slow else []
            yield pytest.param(model, shape, marks=marks, id=f"{model}-{'x'.join(map(str, shape))}")


@pytest.mark.parametrize("model, shape", list(_variant_cases()))
def test_variant_trains_one_step_and_resumes(model, shape, tmp_path):
    gan, config = make(model, shape)
    out = gan.train_step(*batch_for(gan, shape))
    assert all(np.isfinite(float(value)) for value in out.values())
    path = gan.checkpoint().save(str(tmp_path / "ckpt"))

    restored, _ = make(model, shape)
    restored.checkpoint().restore(path).assert_existing_objects_matched()
    for a, b in zip(gan.generator.weights, restored.generator.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    for a, b in zip(gan.discriminator.weights, restored.discriminator.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert int(restored.step.numpy()) == 1
    assert int(restored.discriminator_optimizer.iterations.numpy()) == config.n_critic
    restored.train_step(*batch_for(restored, shape))
    assert int(restored.step.numpy()) == 2


def test_wgan_clips_every_critic_weight_and_counts_critic_updates(monkeypatch):
    from gan_tf import regularizers

    calls = []
    original = regularizers.clip_weights
    monkeypatch.setattr(
        regularizers, "clip_weights", lambda v, c: calls.append(len(v)) or original(v, c)
    )
    gan, config = make("wgan", (28, 28, 1))
    assert config.n_critic == 5 and config.clip_value == 0.01 and config.optimizer == "rmsprop"
    for _ in range(3):
        gan.train_step(*batch_for(gan, (28, 28, 1), batch_size=4))
    for variable in gan.discriminator.trainable_variables:
        values = variable.numpy()
        assert values.min() >= -0.01 and values.max() <= 0.01, variable.path
    assert int(gan.generator_optimizer.iterations.numpy()) == 3
    assert int(gan.discriminator_optimizer.iterations.numpy()) == 15
    # Traced once: one clip after each of the 5 critic updates, on every critic variable.
    assert calls == [len(gan.discriminator.trainable_variables)] * 5
    unclipped, _ = make("wgan", (28, 28, 1), clip_value=0.0)
    unclipped.train_step(*batch_for(unclipped, (28, 28, 1), batch_size=4))
    kernel = unclipped.discriminator.trainable_variables[0].numpy()
    assert np.abs(kernel).max() > 0.03  # N(0, 0.02) init: without clipping weights exceed c


def test_wgan_gp_defaults_and_critic_without_batch_norm():
    gan, config = make("wgan_gp", (32, 32, 3))
    assert (config.gp_weight, config.n_critic, config.learning_rate) == (10.0, 5, 1e-4)
    assert (config.beta_1, config.beta_2, config.loss) == (0.0, 0.9, "wasserstein")
    kinds = {type(layer).__name__ for layer in gan.discriminator.layers}
    assert "BatchNormalization" not in kinds and "LayerNormalization" in kinds
    out = gan.train_step(*batch_for(gan, (32, 32, 3)))
    assert "gradient_penalty" in out and float(out["gradient_penalty"]) >= 0.0


def test_wgan_gp_uses_a_fresh_real_batch_for_every_critic_step():
    gan, _ = make("wgan_gp", (2,))
    seen = []
    original = gan._discriminator_update

    def spy(real, labels, draws):
        seen.append(real)
        return original(real, labels, draws)

    gan._discriminator_update = spy
    gan.train_step = tf.function(gan._train_step)
    real = tf.reshape(tf.range(20, dtype=tf.float32), [10, 2])
    gan.train_step(real)
    assert len(seen) == 5 and all(chunk.shape[0] == 2 for chunk in seen)


@pytest.mark.parametrize("option", ["spectral_norm", "d_dropout", "ema", "label_flip"])
def test_training_tricks_build_and_train(option):
    value = {"spectral_norm": True, "d_dropout": 0.3, "ema": 0.9, "label_flip": 0.2}[option]
    gan, _ = make("dcgan", (28, 28, 1), **{option: value})
    before = [w.numpy().copy() for w in gan.sampling_generator.weights]
    out = gan.train_step(tf.random.uniform([4, 28, 28, 1], -1.0, 1.0, seed=1))
    assert np.isfinite(float(out["generator_loss"]))
    kinds = {type(layer).__name__ for layer in gan.discriminator.layers}
    if option == "spectral_norm":
        assert "SpectralNormalization" in kinds
    if option == "d_dropout":
        assert "Dropout" in kinds
    if option == "ema":  # the EMA moved 10% of the way to the updated generator
        after = gan.sampling_generator.weights[0].numpy()
        current = gan.generator.weights[0].numpy()
        np.testing.assert_allclose(after, 0.9 * before[0] + 0.1 * current, atol=1e-6)


def test_instance_noise_is_added_and_annealed():
    from gan_tf.gan import _Draws
    from gan_tf.training import annealed

    gan, _ = make("dcgan", (28, 28, 1), instance_noise=0.5)
    images = tf.zeros([8, 28, 28, 1])
    draws = _Draws(tf.constant([1, 2], tf.int64))  # one train step's random numbers
    noisy = gan._noisy(images, draws).numpy()
    assert 0.45 < noisy.std() < 0.55
    assert not np.array_equal(noisy, gan._noisy(images, draws).numpy())  # each draw is new
    gan.set_instance_noise(annealed(0.5, 50, 100))
    assert 0.22 < gan._noisy(images, draws).numpy().std() < 0.28
    assert [annealed(0.5, s, 100) for s in (0, 50, 100, 150)] == [0.5, 0.25, 0.0, 0.0]


def test_ttur_and_linear_decay():
    gan, _ = make("dcgan", (28, 28, 1), d_learning_rate=4e-4, lr_decay="linear")
    d_rate = gan.discriminator_optimizer.learning_rate
    assert float(d_rate) == pytest.approx(4e-4)
    assert float(gan.generator_optimizer.learning_rate) == pytest.approx(2e-4)


def test_conditional_models_need_labels():
    with pytest.raises(ValueError, match="conditional"):
        build_gan(make_config(model="cgan", output_dir="x"), (28, 28, 1), None)


def test_label_smoothing_rejected_for_critic_losses():
    with pytest.raises(ValueError, match="label_smoothing"):
        make_config(model="wgan", label_smoothing=0.1, output_dir="x")
