"""SNGAN (Miyato et al., 2018): shapes, spectral norm everywhere in D, registry, a train
step, shape errors and a .keras round trip."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import gan_tf
from gan_tf import build, models
from gan_tf.errors import ConfigError
from gan_tf.models import sngan

SMALL = {"g_width": 16, "d_width": 16}


def _walk(layer, wrapped=False):
    """Yields ``(layer, inside a SpectralNormalization wrapper)`` for every nested layer."""
    yield layer, wrapped
    if isinstance(layer, keras.layers.SpectralNormalization):
        yield from _walk(layer.layer, True)
    for child in getattr(layer, "layers", []):
        yield from _walk(child, wrapped)


def _trainable_count(model):
    return sum(int(np.prod(v.shape)) for v in model.trainable_weights)


@pytest.mark.parametrize("side", [32, 64])
def test_shapes_and_ranges(side):
    generator = sngan.build_generator(8, (side, side, 3), SMALL)
    discriminator = sngan.build_discriminator((side, side, 3), SMALL)
    images = generator(tf.random.normal([4, 8], seed=1) * 10.0, training=True)
    assert images.shape == (4, side, side, 3)
    assert images.dtype == tf.float32
    assert -1.0 <= float(tf.reduce_min(images)) and float(tf.reduce_max(images)) <= 1.0
    logits = discriminator(images, training=True)
    assert logits.shape == (4, 1) and logits.dtype == tf.float32
    assert np.all(np.isfinite(logits.numpy()))


def test_any_channel_count():
    generator = sngan.build_generator(8, (32, 32, 1), SMALL)
    assert generator(tf.zeros([2, 8])).shape == (2, 32, 32, 1)
    assert sngan.build_discriminator((32, 32, 5), SMALL)(tf.zeros([2, 32, 32, 5])).shape == (2, 1)


def test_paper_parameter_counts_at_32x32():
    """Table 4 of the paper: z(128) -> 4x4x256 -> 3 up-blocks of 256 -> 3 channels;
    D: 2 down-blocks then 2 plain blocks of 128 (identity shortcuts) -> Dense(1, no bias)."""
    g, d, z = 256, 128, 128
    conv = lambda cin, cout, k: k * k * cin * cout + cout  # noqa: E731
    up_block = 2 * g + conv(g, g, 3) + 2 * g + conv(g, g, 3) + conv(g, g, 1)
    expected_g = (z * 16 * g + 16 * g) + 3 * up_block + 2 * g + conv(g, 3, 3)
    optimized = conv(3, d, 3) + conv(d, d, 3) + conv(3, d, 1)
    down, plain = 2 * conv(d, d, 3) + conv(d, d, 1), 2 * conv(d, d, 3)
    expected_d = optimized + down + 2 * plain + d
    assert _trainable_count(sngan.build_generator(z, (32, 32, 3))) == expected_g == 4_276_739
    assert _trainable_count(sngan.build_discriminator((32, 32, 3))) == expected_d == 1_053_824


@pytest.mark.parametrize("side, convs", [(32, 10), (64, 13)])
def test_every_discriminator_conv_and_dense_is_spectrally_normalised(side, convs):
    # spectral_norm=False must not switch it off: it is the point of the variant.
    arch = {**SMALL, "spectral_norm": False, "dropout": 0.0}
    discriminator = sngan.build_discriminator((side, side, 3), arch)
    layers = list(_walk(discriminator))
    weighted = [
        (layer, wrapped)
        for layer, wrapped in layers
        if isinstance(layer, keras.layers.Conv2D | keras.layers.Dense)
    ]
    assert len(weighted) == convs + 1  # + the Dense logit
    assert all(wrapped for _, wrapped in weighted)
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer, _ in layers)
    wrappers = [
        layer for layer, _ in layers if isinstance(layer, keras.layers.SpectralNormalization)
    ]
    assert len(wrappers) == convs + 1


def test_spectral_norm_drives_every_kernel_to_unit_spectral_norm():
    keras.utils.set_random_seed(0)
    discriminator = sngan.build_discriminator((32, 32, 3), SMALL)
    images = tf.random.uniform([2, 32, 32, 3], -1.0, 1.0, seed=2)
    wrappers = [
        x for x, _ in _walk(discriminator) if isinstance(x, keras.layers.SpectralNormalization)
    ]

    def sigmas():
        return np.array(
            [np.linalg.norm(w.kernel.numpy().reshape(-1, w.kernel.shape[-1]), 2) for w in wrappers]
        )

    discriminator(images)  # inference calls leave the kernels alone
    assert sigmas().min() > 1.05  # Glorot(gain sqrt 2) kernels start at 1.1-2
    for _ in range(50):  # one power iteration per training call
        discriminator(images, training=True)
    np.testing.assert_allclose(sigmas(), 1.0, atol=0.05)


def test_dropout_is_added_after_activations_when_asked():
    plain = sngan.build_discriminator((32, 32, 3), {**SMALL, "dropout": 0.0})
    dropped = sngan.build_discriminator((32, 32, 3), {**SMALL, "dropout": 0.3})
    count = lambda model, kind: sum(isinstance(x, kind) for x, _ in _walk(model))  # noqa: E731
    relus = count(dropped, keras.layers.ReLU)
    assert count(plain, keras.layers.Dropout) == 0
    assert count(dropped, keras.layers.Dropout) == relus == 8  # 1 + 2 + 2 + 2 + final


def test_registry_and_paper_defaults():
    assert "sngan" in models.model_names()
    assert models.get_model("sngan") is sngan.SPEC
    config = gan_tf.make_config(model="sngan", dataset="cifar10")
    assert (config.loss, config.learning_rate, config.beta_1, config.beta_2) == (
        "hinge",
        2e-4,
        0.0,
        0.9,
    )
    assert (config.n_critic, config.batch_size, config.latent_dim) == (5, 64, 128)
    assert config.arch == {"g_width": 256, "d_width": 128, "attention": 0}


def test_one_train_step_updates_both_networks():
    config = gan_tf.make_config(
        model="sngan",
        dataset="cifar10",
        arch={"g_width": 32, "d_width": 32},
        batch_size=8,
        n_critic=1,
    )
    gan = build.build_gan(config, (32, 32, 3), None)
    g_before = [v.numpy().copy() for v in gan.generator.trainable_variables]
    d_before = [v.numpy().copy() for v in gan.discriminator.trainable_variables]
    out = gan.run_step(tf.random.uniform([8, 32, 32, 3], -1.0, 1.0, seed=3))
    assert all(np.isfinite(float(value)) for value in out.values())
    assert float(out["discriminator_loss"]) >= 0.0  # hinge: two relus
    assert int(gan.discriminator_optimizer.iterations.numpy()) == 1
    assert int(gan.generator_optimizer.iterations.numpy()) == 1
    for before, variable in zip(g_before, gan.generator.trainable_variables, strict=True):
        assert not np.array_equal(before, variable.numpy()), variable.path
    for before, variable in zip(d_before, gan.discriminator.trainable_variables, strict=True):
        assert not np.array_equal(before, variable.numpy()), variable.path


@pytest.mark.parametrize("shape", [(28, 28, 1), (48, 48, 3), (32, 64, 3), (2,)])
def test_unsupported_shapes_raise_config_error(shape):
    for build_network in (
        lambda: sngan.build_generator(8, shape, SMALL),
        lambda: sngan.build_discriminator(shape, SMALL),
    ):
        with pytest.raises(ConfigError, match="32") as error:
            build_network()
        assert error.value.params == ("image_size",)
        assert "64" in str(error.value)


def test_keras_round_trip(tmp_path):
    generator = sngan.build_generator(8, (32, 32, 3), SMALL)
    discriminator = sngan.build_discriminator((32, 32, 3), SMALL)
    noise = tf.random.normal([3, 8], seed=4)
    generator(noise, training=True)  # move the batch-norm statistics off their start
    discriminator(generator(noise), training=True)  # and the power-iteration vectors
    images = generator(noise, training=False)
    for model, inputs, expected in (
        (generator, noise, images),
        (discriminator, images, discriminator(images, training=False)),
    ):
        path = tmp_path / f"{model.name}.keras"
        model.save(path)
        loaded = keras.models.load_model(path)
        assert len(loaded.weights) == len(model.weights)
        np.testing.assert_allclose(loaded(inputs, training=False), expected, rtol=1e-5, atol=1e-6)
