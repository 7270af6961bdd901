"""gan_tf.models.layers: the SAGAN self-attention block is the identity until trained,
matches a NumPy reference once its gate opens, learns, copies and saves; the dcgan
``attention`` knob places it and rejects sides the networks do not have."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from gan_tf import make_config
from gan_tf.build import build_gan
from gan_tf.errors import ConfigError
from gan_tf.models import dcgan
from gan_tf.models.layers import MinibatchStddev, SelfAttention


def features(shape=(2, 4, 4, 16), seed=3):
    return tf.random.stateless_normal(shape, seed=[seed, 1])


def test_an_untrained_block_is_the_identity():
    x = features()
    block = SelfAttention()
    np.testing.assert_array_equal(block(x).numpy(), x.numpy())  # gamma starts at exactly 0
    assert float(block.gamma.numpy()) == 0.0
    assert sorted(tuple(w.shape) for w in block.trainable_weights) == [
        (),
        (1, 1, 8, 16),
        (1, 1, 16, 2),
        (1, 1, 16, 2),
        (1, 1, 16, 8),
    ]


def _reference(x, block, gamma):
    """The block in NumPy: 1x1 convolutions as matrix products, softmax over positions."""
    b, h, w, c = x.shape
    flat = x.reshape(b, h * w, c)
    query, key, value, out = (
        layer.kernel.numpy()[0, 0] for layer in (block.query, block.key, block.value, block.out)
    )
    logits = (flat @ query) @ (flat @ key).transpose(0, 2, 1)
    weights = np.exp(logits - logits.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    attended = (weights @ (flat @ value)) @ out
    return x + gamma * attended.reshape(b, h, w, c)


def test_an_open_gate_adds_attention_as_the_numpy_reference_computes_it():
    x = features(seed=4)
    block = SelfAttention()
    block(x)
    for layer in (block.query, block.key, block.value, block.out):  # larger than N(0, 0.02)
        layer.kernel.assign(layer.kernel * 25.0)
    block.gamma.assign(0.7)
    got = block(x).numpy()
    expected = _reference(x.numpy().astype(np.float64), block, 0.7)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
    assert np.abs(got - x.numpy()).max() > 1e-2  # the attention term is not negligible


def test_too_few_channels_are_refused():
    with pytest.raises(ConfigError, match="at least 8 channels"):
        SelfAttention()(features((1, 4, 4, 4)))


def test_dcgan_attention_knob_places_the_block_and_it_learns():
    config = make_config(
        model="dcgan",
        latent_dim=8,
        arch={"base_width": 8, "attention": 8},
        precision="float32",
        ema=0.9,
    )
    gan = build_gan(config, (16, 16, 1), None)
    g_attention = gan.generator.get_layer("attention")
    d_attention = gan.discriminator.get_layer("attention")
    assert g_attention.output.shape[1:3] == (8, 8) and d_attention.output.shape[1:3] == (8, 8)
    assert gan.generator_ema.get_layer("attention").get_config()["name"] == "attention"  # copied
    images = tf.random.stateless_uniform([4, 16, 16, 1], seed=[1, 2], minval=-1.0, maxval=1.0)
    for _ in range(2):
        gan.train_step(images)
    assert float(g_attention.gamma.numpy()) != 0.0  # the gate gets gradients
    assert float(d_attention.gamma.numpy()) != 0.0


def test_the_ema_copy_samples_under_mixed_precision():
    """The EMA generator is cloned outside the precision scope: the block's projections
    follow the block's own policy, not the global one."""
    config = make_config(
        model="dcgan",
        latent_dim=8,
        arch={"base_width": 8, "attention": 8},
        precision="mixed_bfloat16",
        ema=0.9,
    )
    gan = build_gan(config, (16, 16, 1), None)
    samples = gan.generate(tf.random.stateless_normal([3, 8], seed=[0, 1]))
    assert samples.dtype == tf.float32 and samples.shape == (3, 16, 16, 1)
    assert gan.generator_ema.get_layer("attention").compute_dtype == "bfloat16"


def test_a_generator_with_attention_saves_and_loads(tmp_path):
    generator = dcgan.build_generator(8, (16, 16, 1), {**dcgan.ARCHITECTURE, "attention": 8})
    generator.get_layer("attention").gamma.assign(0.5)
    path = str(tmp_path / "g.keras")
    generator.save(path)
    loaded = keras.models.load_model(path)
    noise = tf.random.stateless_normal([3, 8], seed=[0, 1])
    np.testing.assert_allclose(
        loaded(noise, training=False).numpy(), generator(noise, training=False).numpy(), atol=1e-6
    )


@pytest.mark.parametrize(
    "side, network", [(5, "generator"), (32, "generator"), (2, "discriminator")]
)
def test_a_side_the_networks_do_not_have_is_refused(side, network):
    arch = {**dcgan.ARCHITECTURE, "attention": side}
    if network == "discriminator":  # 32x32: the discriminator has 16, 8, 4; the generator 4, 8, 16
        with pytest.raises(
            ConfigError, match=r"discriminator has no 2x2 .* choose one of 4, 8, 16"
        ):
            dcgan.build_discriminator((32, 32, 3), arch)
    else:
        with pytest.raises(ConfigError, match=rf"generator has no {side}x{side}.*4, 8, 16"):
            dcgan.build_generator(8, (32, 32, 3), arch)


def test_sngan_attention_knob_places_the_block_in_both_networks():
    from gan_tf.models import sngan

    arch = {**sngan.ARCHITECTURE, "g_width": 16, "d_width": 16, "attention": 16}
    generator = sngan.build_generator(8, (32, 32, 3), arch)
    discriminator = sngan.build_discriminator((32, 32, 3), arch)
    assert generator.get_layer("attention").output.shape[1:] == (16, 16, 16)
    assert discriminator.get_layer("attention").output.shape[1:] == (16, 16, 16)
    assert discriminator.get_layer("attention").spectral_norm  # as every SNGAN D layer
    plain = sngan.build_generator(8, (32, 32, 3), {**arch, "attention": 0})
    assert generator.count_params() - plain.count_params() == 2 * 16 * 2 + 16 * 8 + 8 * 16 + 1
    with pytest.raises(ConfigError, match="discriminator has no 32x32 .* choose one of 8, 16"):
        sngan.build_discriminator((32, 32, 3), {**arch, "attention": 32})


def test_minibatch_stddev_hand_computed():
    """Groups of 2: example j*2+k is in group k. Group 0 = (e0, e2): features (0, 2) and
    (0, 4) have stds 1 and 2, mean 1.5; group 1 = (e1, e3): (2, 4) and (2, 0), stds 1
    and 1, mean 1."""
    x = tf.constant([[0.0, 0.0], [2.0, 2.0], [2.0, 4.0], [4.0, 0.0]])[:, None, None, :]
    out = MinibatchStddev(group_size=2)(x).numpy()
    assert out.shape == (4, 1, 1, 3)
    np.testing.assert_array_equal(out[..., :2], x.numpy())  # the features pass unchanged
    np.testing.assert_allclose(out[:, 0, 0, 2], [1.5, 1.0, 1.5, 1.0], rtol=1e-6)
    # a group size that does not divide the batch: the whole batch is one group
    whole = MinibatchStddev(group_size=3)(x[:4]).numpy()[:, 0, 0, 2]
    expected = np.mean(np.std(x.numpy().reshape(4, 2), axis=0))  # stds 1.4142 and 1.6583
    np.testing.assert_allclose(whole, [expected] * 4, rtol=1e-6)
    identical = MinibatchStddev()(tf.ones([4, 2, 2, 3])).numpy()[..., 3]
    np.testing.assert_allclose(identical, 1e-4, rtol=1e-3)  # sqrt(0 + 1e-8): collapse


def test_dcgan_minibatch_stddev_knob():
    arch = {**dcgan.ARCHITECTURE, "base_width": 8, "minibatch_stddev": 4}
    discriminator = dcgan.build_discriminator((16, 16, 1), arch)
    assert discriminator.get_layer("minibatch_stddev").output.shape[1:] == (4, 4, 17)
    assert discriminator(tf.zeros([8, 16, 16, 1])).shape == (8, 1)
    with pytest.raises(ConfigError, match="minibatch_stddev must be a group size"):
        dcgan.build_discriminator((16, 16, 1), {**arch, "minibatch_stddev": -1})
    config = make_config(model="dcgan", latent_dim=8, arch={"base_width": 8, "minibatch_stddev": 2})
    gan = build_gan(config, (16, 16, 1), None)
    before = [w.numpy().copy() for w in gan.discriminator.trainable_weights]
    gan.train_step(tf.random.stateless_uniform([4, 16, 16, 1], seed=[1, 2], minval=-1.0))
    after = gan.discriminator.trainable_weights
    assert all(not np.array_equal(a, b.numpy()) for a, b in zip(before, after, strict=True))
