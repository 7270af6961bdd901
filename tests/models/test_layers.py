"""gan_tf.models.layers: the SAGAN self-attention block is the identity until trained,
matches a NumPy reference once its gate opens, learns, copies and saves; the dcgan
``attention`` knob places it and rejects sides the networks do not have. Minibatch
stddev, minibatch discrimination, virtual batch normalisation and weight normalisation
(with its data-dependent initialisation) against hand-computed values and NumPy
references; the dcgan knobs of minibatch discrimination and VBN are in test_dcgan.py."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from gan_tf import make_config
from gan_tf.build import build_gan
from gan_tf.errors import ConfigError
from gan_tf.models import dcgan
from gan_tf.models.layers import (
    DropReference,
    MinibatchDiscrimination,
    MinibatchStddev,
    ReferenceBatch,
    SelfAttention,
    VirtualBatchNormalization,
    WeightNormDense,
    initialize_from_data,
)


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
        gan.run_step(images)
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
    gan.run_step(tf.random.stateless_uniform([4, 16, 16, 1], seed=[1, 2], minval=-1.0))
    after = gan.discriminator.trainable_weights
    assert all(not np.array_equal(a, b.numpy()) for a, b in zip(before, after, strict=True))


# --- minibatch discrimination (Salimans et al., 2016, section 3.2) ----------------------

E1, E2, E3, E4 = np.exp(-1.0), np.exp(-2.0), np.exp(-3.0), np.exp(-4.0)


def minibatch_layer(num_kernels, kernel_dim, kernel):
    layer = MinibatchDiscrimination(num_kernels, kernel_dim)
    layer.build((None, kernel.shape[0]))
    layer.kernel.assign(kernel)
    return layer


def test_minibatch_discrimination_hand_computed():
    """x = (0, 0), (1, 2), (3, 0) with T the identity. Two kernels of one entry: kernel 0
    sees 0, 1, 3 and kernel 1 sees 0, 2, 0, so example 0 gets e^-1 + e^-3 and e^-2 + e^0
    (the other two only: the example itself is left out). One kernel of two entries: L1
    distances 3 (e0-e1), 3 (e0-e2), 4 (e1-e2)."""
    x = tf.constant([[0.0, 0.0], [1.0, 2.0], [3.0, 0.0]])
    out = minibatch_layer(2, 1, np.eye(2, dtype=np.float32))(x).numpy()
    assert out.shape == (3, 4)
    np.testing.assert_array_equal(out[:, :2], x.numpy())  # the features pass unchanged
    expected = [[E1 + E3, E2 + 1.0], [E1 + E2, E2 + E2], [E3 + E2, 1.0 + E2]]
    np.testing.assert_allclose(out[:, 2:], expected, rtol=1e-6)  # 0.41767, 1.13534, ...
    joint = minibatch_layer(1, 2, np.eye(2, dtype=np.float32))(x).numpy()[:, 2]
    np.testing.assert_allclose(joint, [2 * E3, E3 + E4, E3 + E4], rtol=1e-6)
    alone = minibatch_layer(1, 2, np.eye(2, dtype=np.float32))(x[:1]).numpy()
    np.testing.assert_array_equal(alone, [[0.0, 0.0, 0.0]])  # no other example: 0


def test_minibatch_discrimination_matches_numpy():
    x = features((6, 12), seed=5)
    layer = MinibatchDiscrimination(num_kernels=4, kernel_dim=3)
    layer(x)
    layer.kernel.assign(layer.kernel * 10.0)  # distances of order 1, not near 0
    got = layer(x).numpy()
    rows = (x.numpy().astype(np.float64) @ layer.kernel.numpy()).reshape(6, 4, 3)
    closeness = np.exp(-np.abs(rows[:, None] - rows[None, :]).sum(-1))  # [B, B, K]
    expected = closeness.sum(1) - 1.0  # every j, minus the example itself (exp(0) = 1)
    np.testing.assert_allclose(got[:, 12:], expected, rtol=1e-5, atol=1e-6)
    assert got.shape == (6, 16) and 0.05 < expected.mean() < 4.5  # not saturated either way
    assert layer.compute_output_shape((None, 12)) == (None, 16)


def test_minibatch_discrimination_gradients_reach_t():
    x = features((4, 8), seed=6)
    layer = MinibatchDiscrimination(num_kernels=3, kernel_dim=2)
    layer(x)
    layer.kernel.assign(layer.kernel * 20.0)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(x)[:, 8:])
    gradient = tape.gradient(loss, layer.kernel)
    assert gradient.shape == (8, 6) and np.isfinite(gradient.numpy()).all()
    assert np.abs(gradient.numpy()).min() > 0.0  # every entry of T moves the output


def test_minibatch_discrimination_under_bfloat16():
    x = features((5, 8), seed=7)
    layer = MinibatchDiscrimination(3, 2, dtype="mixed_bfloat16")
    out = layer(tf.cast(x, tf.bfloat16))
    assert out.dtype == tf.bfloat16 and layer.kernel.dtype == "float32"
    exact = minibatch_layer(3, 2, layer.kernel.numpy())(
        tf.cast(tf.cast(x, tf.bfloat16), tf.float32)
    )
    np.testing.assert_allclose(
        tf.cast(out, tf.float32).numpy(), exact.numpy(), rtol=1e-2, atol=1e-2
    )


def test_minibatch_discrimination_saves_and_loads(tmp_path):
    model = keras.Sequential(
        [keras.Input((8,)), MinibatchDiscrimination(3, 2, name="mbd"), keras.layers.Dense(1)]
    )
    model.get_layer("mbd").kernel.assign(model.get_layer("mbd").kernel * 30.0)
    path = str(tmp_path / "d.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.get_layer("mbd").get_config()["num_kernels"] == 3
    assert loaded.get_layer("mbd").get_config()["kernel_dim"] == 2
    x = features((4, 8), seed=8)
    np.testing.assert_allclose(loaded(x).numpy(), model(x).numpy(), rtol=1e-6, atol=1e-6)


def test_minibatch_discrimination_refuses_bad_arguments():
    with pytest.raises(ConfigError, match="num_kernels and kernel_dim must be >= 1"):
        MinibatchDiscrimination(0)
    with pytest.raises(ConfigError, match="flattened"):
        MinibatchDiscrimination()(features((2, 4, 4, 3)))


# --- virtual batch normalisation (Salimans et al., 2016, section 3.5) -------------------


def vbn(x, size, **kwargs):
    return VirtualBatchNormalization(size, **kwargs)(tf.constant(x, tf.float32)).numpy()


def test_vbn_hand_computed_vectors():
    """Reference rows 1 and 3 (mean 2, variance 1); the example 5 is normalised with the
    pool {1, 3, 5} weighted 1/3 each: mean 3, variance (4 + 0 + 4) / 3 = 8/3, so
    (5 - 3) / sqrt(8/3) = 1.2247449; the reference rows with their own mean and variance."""
    out = vbn([[1.0], [3.0], [5.0]], 2, epsilon=0.0)
    np.testing.assert_allclose(out[:, 0], [-1.0, 1.0, 1.2247449], rtol=1e-6)
    layer = VirtualBatchNormalization(2, epsilon=0.0)
    layer.build((None, 1))
    layer.gamma.assign([2.0])
    layer.beta.assign([0.5])
    scaled = layer(tf.constant([[1.0], [3.0], [5.0]])).numpy()[:, 0]
    np.testing.assert_allclose(scaled, [-1.5, 2.5, 2.9494897], rtol=1e-6)


def test_vbn_hand_computed_feature_maps():
    """[1, 2] maps, one channel. Reference rows (0, 2) and (2, 4): mean 2, variance 2. The
    example (6, 6) pools with them at weight 1/3 per row: values 0, 2, 2, 4, 6, 6 with
    mean 10/3 and variance 16 - 100/9 = 44/9, so it becomes (6 - 10/3) / sqrt(44/9) =
    8 / sqrt(44) = 1.2060454 at both positions."""
    x = np.array([[0.0, 2.0], [2.0, 4.0], [6.0, 6.0]])[:, None, :, None]
    out = vbn(x, 2, epsilon=0.0)[:, 0, :, 0]
    root2 = np.sqrt(2.0)
    np.testing.assert_allclose(
        out, [[-root2, 0.0], [0.0, root2], [1.2060454, 1.2060454]], rtol=1e-6, atol=1e-7
    )
    with_epsilon = vbn(x, 2, epsilon=0.5)[2, 0, 0, 0]  # (8/3) / sqrt(44/9 + 0.5) = 1.14873
    np.testing.assert_allclose(with_epsilon, 1.1487331, rtol=1e-6)


def test_vbn_matches_numpy_and_ignores_the_rest_of_the_batch():
    reference = features((5, 3, 3, 4), seed=9).numpy() * 2.0 + 1.0
    examples = features((4, 3, 3, 4), seed=10).numpy() * 3.0 - 2.0
    layer = VirtualBatchNormalization(5)
    together = layer(tf.constant(np.concatenate([reference, examples]))).numpy()
    for k in range(4):  # pool the reference with example k alone, every row weighted 1/6
        pooled = np.concatenate([reference, examples[k : k + 1]]).astype(np.float64)
        mean, var = pooled.mean((0, 1, 2)), pooled.var((0, 1, 2))
        expected = (examples[k] - mean) / np.sqrt(var + 1e-5)
        np.testing.assert_allclose(together[5 + k], expected, rtol=1e-4, atol=1e-5)
        alone = layer(tf.constant(np.concatenate([reference, examples[k : k + 1]]))).numpy()
        np.testing.assert_allclose(together[5 + k], alone[5], atol=1e-5)
    ref_mean, ref_var = reference.mean((0, 1, 2)), reference.var((0, 1, 2))
    np.testing.assert_allclose(
        together[:5], (reference - ref_mean) / np.sqrt(ref_var + 1e-5), rtol=1e-4, atol=1e-5
    )


def test_vbn_under_bfloat16_computes_in_float32():
    x = tf.cast(features((6, 2, 2, 3), seed=11) * 4.0 + 50.0, tf.bfloat16)
    layer = VirtualBatchNormalization(3, dtype="mixed_bfloat16")
    out = layer(x)
    assert out.dtype == tf.bfloat16 and layer.gamma.dtype == "float32"
    exact = VirtualBatchNormalization(3)(tf.cast(x, tf.float32))
    np.testing.assert_allclose(tf.cast(out, tf.float32).numpy(), exact.numpy(), atol=0.03)


def test_reference_batch_prepends_fixed_rows_and_drop_reference_removes_them():
    prepend, drop = ReferenceBatch(3, seed=1), DropReference(3)
    for batch in (1, 4):
        noise = features((batch, 5), seed=batch)
        joined = prepend(noise)
        assert joined.shape == (3 + batch, 5)
        np.testing.assert_array_equal(joined[:3].numpy(), prepend.reference.numpy())
        np.testing.assert_array_equal(drop(joined).numpy(), noise.numpy())
    assert not prepend.trainable_weights and prepend.non_trainable_weights  # saved, not trained
    reference = ReferenceBatch(2000, seed=2)
    reference.build((None, 50))
    values = reference.reference.numpy()  # N(0, 1), like the training noise
    assert abs(values.mean()) < 0.01 and 0.99 < values.std() < 1.01
    assert prepend.compute_output_shape((None, 5)) == (None, 5)
    assert drop.compute_output_shape((7, 5)) == (4, 5)
    with pytest.raises(ConfigError, match="size >= 1"):
        ReferenceBatch(0)


def test_weight_norm_dense_hand_computed():
    layer = WeightNormDense(2, train_scale=True)
    layer.build((None, 2))
    layer.direction.assign([[3.0, 0.0], [4.0, 2.0]])  # column norms 5 and 2
    layer.scale.assign([2.0, 0.5])
    layer.bias.assign([1.0, -1.0])
    out = layer(tf.constant([[1.0, 1.0], [2.0, -1.0]]))
    # unit 0: 2 * (3 x0 + 4 x1) / 5 + 1; unit 1: 0.5 * (2 x1) / 2 - 1
    np.testing.assert_allclose(out.numpy(), [[3.8, -0.5], [1.8, -1.5]], rtol=1e-6, atol=1e-6)
    assert [w.name for w in layer.trainable_weights] == ["direction", "scale", "bias"]


def test_weight_norm_dense_scale_is_fixed_unless_trained():
    layer = WeightNormDense(3)
    layer.build((None, 4))
    assert [w.name for w in layer.trainable_weights] == ["direction", "bias"]
    layer.direction.assign(tf.random.stateless_normal((4, 3), seed=[5, 6]))
    x = tf.random.stateless_normal((2, 4), seed=[7, 8])
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(x) ** 2)
    gradient = tape.gradient(loss, layer.direction)
    assert float(tf.reduce_max(tf.abs(gradient))) > 1e-3
    # the gradient is orthogonal to each column: only the direction can change
    np.testing.assert_allclose(tf.reduce_sum(gradient * layer.direction, 0), 0.0, atol=1e-5)
    # scaling the direction changes nothing: only its direction counts
    before = layer(x).numpy()
    layer.direction.assign(layer.direction * 7.0)
    np.testing.assert_allclose(layer(x).numpy(), before, rtol=1e-5, atol=1e-6)


def test_data_dependent_init_standardises_every_layer():
    model = keras.Sequential(
        [
            keras.Input((5,)),
            WeightNormDense(8, activation="relu"),
            keras.layers.GaussianNoise(0.5),
            WeightNormDense(3, train_scale=True),
        ]
    )
    images = tf.random.stateless_normal((400, 5), seed=[1, 2]) * 3.0 + 2.0
    assert initialize_from_data(model, images)
    first, _, last = model.layers
    pre = images @ tf.math.l2_normalize(first.direction, axis=0) * first.scale + first.bias
    np.testing.assert_allclose(np.mean(pre, 0), 0.0, atol=1e-4)
    np.testing.assert_allclose(np.std(pre, 0), 1.0, rtol=1e-3)
    out = model(images, training=False).numpy()  # the last layer's pre-activations
    np.testing.assert_allclose(out.mean(0), 0.0, atol=1e-4)
    np.testing.assert_allclose(out.std(0), 1.0, rtol=1e-3)


def test_data_dependent_init_leaves_other_networks_alone():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    weights = [w.numpy() for w in model.weights]
    assert not initialize_from_data(model, tf.ones((4, 3)))
    for before, after in zip(weights, model.weights, strict=True):
        np.testing.assert_array_equal(before, after.numpy())


def test_weight_norm_dense_saves_and_loads(tmp_path):
    model = keras.Sequential([keras.Input((4,)), WeightNormDense(2, "tanh", train_scale=True)])
    model.layers[0].scale.assign([0.5, 3.0])
    path = str(tmp_path / "wn.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    x = tf.random.stateless_normal((3, 4), seed=[0, 1])
    np.testing.assert_allclose(loaded(x).numpy(), model(x).numpy(), rtol=1e-6)
