"""DCGAN (gan_tf.models.dcgan): sizes from the image shape, the channel plan, the layout,
the initialisation, and the architecture knobs base_width, max_width, norm (instance
too), minibatch_discrimination, generator_norm, hidden_noise and upsample (plus the
generic spectral_norm and dropout)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import gan_tf
from gan_tf import build, models
from gan_tf.errors import ConfigError
from gan_tf.models import dcgan
from gan_tf.models.layers import VirtualBatchNormalization

ARCH = dcgan.ARCHITECTURE


CONVS = (keras.layers.Conv2D, keras.layers.Conv2DTranspose)


def kind(layer) -> str:
    """The layer's class name, the sub-pixel convolutions (tested in test_subpixel.py)
    named by the Keras layer they compute."""
    return type(layer).__name__.removeprefix("Subpixel")


def kinds(model):
    return [kind(layer) for layer in model.layers]


def transposed(generator):
    return [layer for layer in generator.layers if isinstance(layer, keras.layers.Conv2DTranspose)]


def conv_filters(discriminator):
    return [
        layer.filters for layer in discriminator.layers if isinstance(layer, keras.layers.Conv2D)
    ]


def start_shape(generator):
    reshape = next(layer for layer in generator.layers if isinstance(layer, keras.layers.Reshape))
    return tuple(reshape.output.shape[1:])


@pytest.mark.parametrize(
    "shape, plan",
    [((28, 28, 1), (7, 2)), ((32, 32, 3), (4, 3)), ((48, 48, 3), (6, 3)), ((64, 64, 3), (4, 4))],
)
def test_upsampling_plan(shape, plan):
    assert dcgan.upsampling_plan(shape) == plan
    start, steps = plan
    assert start * 2**steps == shape[0] and 4 <= start < 8


@pytest.mark.parametrize(
    "shape, start, channels",
    [((28, 28, 1), 7, 256), ((32, 32, 3), 4, 512), ((64, 64, 3), 4, 1024)],
)
def test_generator_sizes(shape, start, channels):
    generator = dcgan.build_generator(100, shape, ARCH)
    assert start_shape(generator) == (start, start, channels)
    sides = [layer.output.shape[1] for layer in transposed(generator)]
    assert sides == [start * 2 ** (i + 1) for i in range(len(sides))]
    assert sides[-1] == shape[0]
    assert all(
        layer.kernel_size == (5, 5) and layer.strides == (2, 2) for layer in transposed(generator)
    )
    images = generator(tf.random.normal([3, 100], seed=1) * 10.0, training=True)
    assert images.shape == (3, *shape) and images.dtype == tf.float32
    assert -1.0 <= float(tf.reduce_min(images)) and float(tf.reduce_max(images)) <= 1.0


def test_32_channel_plan():
    generator = dcgan.build_generator(100, (32, 32, 3), ARCH)
    assert [tuple(layer.output.shape[1:]) for layer in transposed(generator)] == [
        (8, 8, 256),
        (16, 16, 128),
        (32, 32, 3),
    ]
    assert conv_filters(dcgan.build_discriminator((32, 32, 3), ARCH)) == [64, 128, 256]


def test_discriminator_layout():
    discriminator = dcgan.build_discriminator((32, 32, 3), ARCH)
    assert kinds(discriminator) == [
        "Conv2D",
        "LeakyReLU",
        "Conv2D",
        "BatchNormalization",
        "LeakyReLU",
        "Conv2D",
        "BatchNormalization",
        "LeakyReLU",
        "Flatten",
        "Dense",
    ]
    slopes = [
        layer.negative_slope for layer in discriminator.layers if kinds_of(layer, "LeakyReLU")
    ]
    assert slopes == pytest.approx([0.2] * 3)
    logits = discriminator(tf.zeros([2, 32, 32, 3]), training=False)
    assert logits.shape == (2, 1) and logits.dtype == tf.float32


def kinds_of(layer, name):
    return kind(layer) == name


def test_weights_start_normal_0_02():
    generator = dcgan.build_generator(100, (32, 32, 3), ARCH)
    values = transposed(generator)[0].kernel.numpy().ravel()
    assert abs(values.mean()) < 0.002
    assert 0.018 < values.std() < 0.022


def test_bad_shapes():
    with pytest.raises(ConfigError, match="square") as caught:
        dcgan.build_generator(10, (28, 32, 1), ARCH)
    assert caught.value.params == ("image_size",)
    for side in (30, 8, 12):  # not s * 2**k with s >= 4 and k >= 2
        with pytest.raises(ConfigError, match=f"side {side}"):
            dcgan.build_discriminator((side, side, 1), ARCH)


# --- architecture knobs ----------------------------------------------------------------


def test_base_width_scales_every_layer():
    arch = {**ARCH, "base_width": 32}
    generator = dcgan.build_generator(8, (32, 32, 3), arch)
    assert start_shape(generator) == (4, 4, 256)  # 32 * 2**3
    assert [layer.filters for layer in transposed(generator)] == [128, 64, 3]
    assert conv_filters(dcgan.build_discriminator((32, 32, 3), arch)) == [32, 64, 128]


def test_the_colour_recipe_picks_the_width_measured_for_the_image_side():
    import gan_tf

    for model in ("dcgan", "cgan"):
        widths = {
            side: gan_tf.make_config(model=model, data_shape=(side, side, 3)).arch["base_width"]
            for side in (24, 32, 45, 48, 64, 90, 100, 128, 256)
        }
        # the nearest measured side in octaves: 32 -> 32, 64 and 128 -> 16
        assert widths == {24: 32, 32: 32, 45: 32, 48: 16, 64: 16, 90: 16, 100: 16, 128: 16, 256: 16}
    assert gan_tf.make_config(model="dcgan", dataset="emoji").arch["base_width"] == 16
    assert gan_tf.make_config(model="dcgan", data_shape=(64, 64, 1)).arch["base_width"] == 32
    assert (
        gan_tf.make_config(model="dcgan", dataset="emoji", recipe="paper").arch["base_width"] == 64
    )


def test_d_base_width_widens_only_the_discriminator():
    arch = {**ARCH, "base_width": 16, "d_base_width": 32, "max_width": 128}
    generator = dcgan.build_generator(8, (32, 32, 3), arch)
    assert start_shape(generator) == (4, 4, 128)  # 16 * 2**3, the generator's own width
    assert [layer.filters for layer in transposed(generator)] == [64, 32, 3]
    assert conv_filters(dcgan.build_discriminator((32, 32, 3), arch)) == [32, 64, 128]
    same = {**ARCH, "base_width": 16}  # 0 (the default): the discriminator follows base_width
    assert conv_filters(dcgan.build_discriminator((32, 32, 3), same)) == [16, 32, 64]


def test_max_width_caps_every_layer():
    arch = {**ARCH, "max_width": 128}
    generator = dcgan.build_generator(8, (32, 32, 3), arch)
    assert start_shape(generator) == (4, 4, 128)  # 512 capped
    assert [layer.filters for layer in transposed(generator)] == [128, 128, 3]
    assert conv_filters(dcgan.build_discriminator((32, 32, 3), arch)) == [64, 128, 128]
    dense = generator.layers[0]
    assert dense.units == 4 * 4 * 128


@pytest.mark.parametrize(
    "norm, expected",
    [
        ("batch", ["BatchNormalization", "BatchNormalization"]),
        ("layer", ["LayerNormalization", "LayerNormalization"]),
        ("instance", ["GroupNormalization", "GroupNormalization"]),
        ("none", []),
    ],
)
def test_norm_picks_the_discriminators_normalisation(norm, expected):
    discriminator = dcgan.build_discriminator((32, 32, 3), {**ARCH, "norm": norm})
    found = [kind for kind in kinds(discriminator) if kind.endswith("Normalization")]
    assert found == expected
    assert kinds(discriminator)[:2] == ["Conv2D", "LeakyReLU"]  # never after the first conv
    for layer in discriminator.layers:  # per example over H, W and C
        if isinstance(layer, keras.layers.LayerNormalization):
            assert tuple(layer.axis) == (1, 2, 3)
    generator = dcgan.build_generator(8, (32, 32, 3), {**ARCH, "norm": norm})
    assert kinds(generator).count("BatchNormalization") == 3  # the generator keeps batch norm


def test_unknown_norm_and_knobs_are_config_errors():
    with pytest.raises(ConfigError, match="unknown norm 'group'; choose one of: batch, layer"):
        dcgan.build_discriminator((32, 32, 3), {**ARCH, "norm": "group"})
    with pytest.raises(ConfigError) as caught:
        models.get_model("dcgan").resolve_architecture({"depth": 3, "width": 2})
    assert str(caught.value) == (
        "arch: dcgan has no knob depth, width; its knobs are: base_width=64, d_base_width=0, "
        "max_width=1024, norm=batch, attention=0, minibatch_stddev=0, minibatch_discrimination=0, "
        "generator_norm=batch, hidden_noise=0.0, upsample=transpose, kernel_size=5, subpixel=True"
    )
    assert caught.value.params == ("arch",)
    with pytest.raises(ConfigError, match="its knobs are: base_width=64"):
        gan_tf.make_config(model="wgan", arch={"depth": 3})


def test_knobs_from_the_config_reach_the_networks():
    config = gan_tf.make_config(arch={"base_width": "16", "norm": "none"}, latent_dim=4)
    generator, discriminator = build.build_networks(config, (28, 28, 1))
    assert start_shape(generator) == (7, 7, 64)  # 16 * 2**2
    assert conv_filters(discriminator) == [16, 32]
    assert not any(kind.endswith("Normalization") for kind in kinds(discriminator))
    wgan_gp = gan_tf.make_config(model="wgan_gp")
    assert wgan_gp.arch == {**ARCH, "norm": "layer"}  # the WGAN-GP critic has no batch norm
    _, critic = build.build_networks(wgan_gp, (28, 28, 1))
    assert "LayerNormalization" in kinds(critic) and "BatchNormalization" not in kinds(critic)


def test_spectral_norm_and_dropout_knobs():
    arch = {**ARCH, "spectral_norm": True, "dropout": 0.3}
    discriminator = dcgan.build_discriminator((28, 28, 1), arch)
    wrapped = [layer for layer in discriminator.layers if kinds_of(layer, "SpectralNormalization")]
    assert [kind(layer.layer) for layer in wrapped] == ["Conv2D", "Conv2D", "Dense"]
    dropouts = [layer.rate for layer in discriminator.layers if kinds_of(layer, "Dropout")]
    assert dropouts == pytest.approx([0.3, 0.3])  # after every LeakyReLU
    config = gan_tf.make_config(spectral_norm=True, d_dropout=0.3, latent_dim=4, batch_size=4)
    gan = build.build_gan(config, (28, 28, 1))
    assert sum(kinds_of(layer, "SpectralNormalization") for layer in gan.discriminator.layers) == 3
    out = gan.run_step(tf.random.stateless_uniform([4, 28, 28, 1], seed=[1, 1], minval=-1))
    assert all(np.isfinite(float(value)) for value in out.values())


# --- minibatch discrimination and virtual batch norm (Salimans et al., 2016) ----------


def test_minibatch_discrimination_knob_places_the_layer_before_the_logit():
    arch = {**ARCH, "base_width": 8, "minibatch_discrimination": 6}
    discriminator = dcgan.build_discriminator((16, 16, 1), arch)
    assert kinds(discriminator)[-3:] == ["Flatten", "MinibatchDiscrimination", "Dense"]
    layer = discriminator.get_layer("minibatch_discrimination")
    assert (layer.num_kernels, layer.kernel_dim) == (6, 5)
    assert layer.output.shape[1:] == (4 * 4 * 16 + 6,)
    assert layer.kernel.shape == (4 * 4 * 16, 30)
    images = tf.random.stateless_uniform([4, 16, 16, 1], seed=[3, 4], minval=-1.0)
    with tf.GradientTape() as tape:  # a discriminator update's gradient reaches T
        logits = discriminator(images, training=True)
        loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(tf.ones_like(logits), logits))
    gradients = tape.gradient(loss, discriminator.trainable_weights)
    assert logits.shape == (4, 1) and logits.dtype == tf.float32
    by_name = dict(zip([w.path for w in discriminator.trainable_weights], gradients, strict=True))
    kernel_gradient = by_name[layer.kernel.path].numpy()
    assert np.isfinite(kernel_gradient).all() and np.abs(kernel_gradient).max() > 0.0
    assert "MinibatchDiscrimination" not in kinds(dcgan.build_discriminator((16, 16, 1), ARCH))
    with pytest.raises(ConfigError, match="minibatch_discrimination must be a number of kernels"):
        dcgan.build_discriminator((16, 16, 1), {**arch, "minibatch_discrimination": -1})


def test_minibatch_discrimination_trains_in_the_gan():
    config = gan_tf.make_config(
        model="dcgan", latent_dim=8, arch={"base_width": 8, "minibatch_discrimination": 5}
    )
    gan = build.build_gan(config, (16, 16, 1), None)
    kernel = gan.discriminator.get_layer("minibatch_discrimination").kernel
    before = kernel.numpy().copy()
    out = gan.run_step(tf.random.stateless_uniform([4, 16, 16, 1], seed=[1, 2], minval=-1.0))
    assert all(np.isfinite(float(value)) for value in out.values())
    assert not np.array_equal(before, kernel.numpy())


VIRTUAL = {**ARCH, "base_width": 8, "generator_norm": "virtual"}


@pytest.mark.parametrize("shape", [(28, 28, 1), (32, 32, 3)])
def test_virtual_generator_norm_replaces_every_batch_norm(shape):
    generator = dcgan.build_generator(8, shape, VIRTUAL)
    plain = dcgan.build_generator(8, shape, {**VIRTUAL, "generator_norm": "batch"})
    layout = kinds(generator)
    assert layout[0] == "ReferenceBatch" and layout[-1] == "DropReference"
    assert "BatchNormalization" not in layout
    assert layout.count("VirtualBatchNormalization") == kinds(plain).count("BatchNormalization")
    assert layout[1:-1] == [
        "VirtualBatchNormalization" if kind == "BatchNormalization" else kind
        for kind in kinds(plain)
    ]
    sizes = {layer.size for layer in generator.layers if hasattr(layer, "size")}
    assert sizes == {dcgan.VBN_REFERENCE_SIZE} == {64}
    assert generator.get_layer("reference_batch").reference.shape == (64, 8)
    assert generator.outputs[0].shape[1:] == shape
    for batch in (1, 3):
        images = generator(tf.random.stateless_normal([batch, 8], seed=[batch, 0]))
        assert images.shape == (batch, *shape) and images.dtype == tf.float32
        assert -1.0 <= float(tf.reduce_min(images)) and float(tf.reduce_max(images)) <= 1.0


def test_a_virtual_sample_depends_only_on_its_own_noise():
    """What tells VBN from batch norm: an example's image is the same in a batch of 4 as
    alone (batch norm in training mode mixes the batch's statistics in)."""
    noise = tf.random.stateless_normal([4, 8], seed=[5, 6])
    generator = dcgan.build_generator(8, (16, 16, 1), VIRTUAL)
    together = generator(noise, training=True).numpy()
    for k in range(4):
        alone = generator(noise[k : k + 1], training=True).numpy()
        np.testing.assert_allclose(together[k], alone[0], atol=1e-5)
    np.testing.assert_allclose(generator(noise, training=False).numpy(), together, atol=1e-6)
    batch_norm = dcgan.build_generator(8, (16, 16, 1), {**VIRTUAL, "generator_norm": "batch"})
    mixed = batch_norm(noise, training=True).numpy()[0]
    assert np.abs(mixed - batch_norm(noise[:2], training=True).numpy()[0]).max() > 1e-3


def test_a_virtual_generator_saves_and_loads_its_reference_noise(tmp_path):
    generator = dcgan.build_generator(8, (16, 16, 1), VIRTUAL)
    vbn = next(layer for layer in generator.layers if isinstance(layer, VirtualBatchNormalization))
    vbn.gamma.assign(vbn.gamma * 1.5)
    path = str(tmp_path / "g.keras")
    generator.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_array_equal(
        loaded.get_layer("reference_batch").reference.numpy(),
        generator.get_layer("reference_batch").reference.numpy(),
    )
    noise = tf.random.stateless_normal([2, 8], seed=[7, 8])
    np.testing.assert_allclose(loaded(noise).numpy(), generator(noise).numpy(), atol=1e-6)
    other = dcgan.build_generator(8, (16, 16, 1), VIRTUAL)  # a fresh draw of the reference
    assert not np.array_equal(
        other.get_layer("reference_batch").reference.numpy(),
        generator.get_layer("reference_batch").reference.numpy(),
    )


def test_a_virtual_generator_trains_under_mixed_bfloat16_with_ema():
    config = gan_tf.make_config(
        model="dcgan",
        latent_dim=8,
        arch={"base_width": 8, "generator_norm": "virtual"},
        precision="mixed_bfloat16",
        ema=0.9,
    )
    gan = build.build_gan(config, (16, 16, 1), None)
    reference = gan.generator.get_layer("reference_batch").reference
    before = [weight.numpy().copy() for weight in gan.generator.trainable_weights]
    fixed = reference.numpy().copy()
    out = gan.run_step(tf.random.stateless_uniform([4, 16, 16, 1], seed=[1, 2], minval=-1.0))
    assert all(np.isfinite(float(value)) for value in out.values())
    after = gan.generator.trainable_weights
    assert all(not np.array_equal(a, b.numpy()) for a, b in zip(before, after, strict=True))
    np.testing.assert_array_equal(reference.numpy(), fixed)  # not trained
    samples = gan.generate(tf.random.stateless_normal([1, 8], seed=[0, 1]))
    assert samples.shape == (1, 16, 16, 1) and samples.dtype == tf.float32
    assert np.isfinite(samples.numpy()).all()


def test_unknown_generator_norm_is_a_config_error():
    with pytest.raises(
        ConfigError, match="unknown generator_norm 'bogus'; choose one of: batch, virtual, instance"
    ) as caught:
        dcgan.build_generator(8, (16, 16, 1), {**ARCH, "generator_norm": "bogus"})
    assert caught.value.params == ("arch",)
    config = gan_tf.make_config(arch={"base_width": 8, "generator_norm": "bogus"}, latent_dim=4)
    with pytest.raises(ConfigError, match="unknown generator_norm 'bogus'"):
        build.build_networks(config, (16, 16, 1))


# --- hidden noise, instance norm and resize-convolution upsampling --------------------


def test_hidden_noise_follows_every_activation_in_training_only():
    arch = {**ARCH, "base_width": 8, "hidden_noise": 0.2, "dropout": 0.1}
    discriminator = dcgan.build_discriminator((16, 16, 1), arch)
    assert kinds(discriminator)[:4] == ["Conv2D", "LeakyReLU", "GaussianNoise", "Dropout"]
    noises = [layer for layer in discriminator.layers if kinds_of(layer, "GaussianNoise")]
    assert [layer.stddev for layer in noises] == pytest.approx([0.2, 0.2])  # 16 -> 8 -> 4
    # the layer's draws have the std asked for (in training mode only)
    zeros = tf.zeros([64, 8, 8, 8])
    drawn = noises[0](zeros, training=True).numpy()
    assert drawn.std() == pytest.approx(0.2, rel=0.03) and abs(drawn.mean()) < 0.005
    np.testing.assert_array_equal(noises[0](zeros, training=False).numpy(), zeros.numpy())
    images = tf.random.stateless_uniform([4, 16, 16, 1], seed=[2, 3], minval=-1.0)
    inference = discriminator(images, training=False).numpy()
    np.testing.assert_array_equal(discriminator(images, training=False).numpy(), inference)
    plain = {**arch, "dropout": 0.0}
    noisy = dcgan.build_discriminator((16, 16, 1), plain)
    first, second = noisy(images, training=True).numpy(), noisy(images, training=True).numpy()
    assert np.abs(first - second).max() > 1e-4  # fresh noise on every training call
    quiet = dcgan.build_discriminator((16, 16, 1), {**plain, "hidden_noise": 0.0})
    np.testing.assert_array_equal(quiet(images, training=True), quiet(images, training=True))
    assert "GaussianNoise" not in kinds(dcgan.build_discriminator((16, 16, 1), ARCH))
    with pytest.raises(ConfigError, match=r"arch hidden_noise must be a std >= 0 \(0 = none\)"):
        dcgan.build_discriminator((16, 16, 1), {**ARCH, "hidden_noise": -0.1})


def test_hidden_noise_trains_and_resumes_exactly(tmp_path):
    config = gan_tf.make_config(latent_dim=8, arch={"base_width": 8, "hidden_noise": 0.3})
    gan = build.build_gan(config, (16, 16, 1))
    assert "GaussianNoise" in kinds(gan.discriminator)
    assert gan.layer_noise_states.states  # the noise layers' seed state is checkpointed
    real = tf.random.stateless_uniform([4, 16, 16, 1], seed=[1, 2], minval=-1.0)
    gan.run_step(real)
    path = gan.checkpoint().save(str(tmp_path / "ckpt"))
    restored = build.build_gan(config, (16, 16, 1))
    restored.checkpoint().restore(path).assert_existing_objects_matched()
    expected, resumed = gan.run_step(real), restored.run_step(real)
    for key in gan.metric_names:
        assert float(resumed[key]) == pytest.approx(float(expected[key]), rel=1e-5, abs=1e-6)


def test_instance_norm_normalises_each_example_and_channel():
    arch = {**ARCH, "base_width": 4, "norm": "instance", "generator_norm": "instance"}
    discriminator = dcgan.build_discriminator((16, 16, 1), arch)
    norms = [layer for layer in discriminator.layers if kinds_of(layer, "GroupNormalization")]
    assert len(norms) == 1 and norms[0].groups == 8  # one group per channel: instance norm
    # per example per channel over H x W: (x - mean) / sqrt(var + eps), gamma 1, beta 0
    maps = np.stack([np.arange(8.0).reshape(2, 2, 2), 10.0 * np.ones((2, 2, 2))])
    maps[1, :, :, 1] = [[1.0, 3.0], [1.0, 3.0]]
    out = dcgan.instance_norm()(tf.constant(maps, tf.float32)).numpy()
    # example 0, channel 0: values 0, 2, 4, 6 (mean 3, var 5)
    np.testing.assert_allclose(
        out[0, :, :, 0].ravel(), (np.array([0, 2, 4, 6]) - 3) / np.sqrt(5 + 1e-3), rtol=1e-5
    )
    np.testing.assert_allclose(out[1, :, :, 0], 0.0, atol=1e-6)  # a constant channel
    np.testing.assert_allclose(
        out[1, :, :, 1].ravel(), np.array([-1, 1, -1, 1]) / np.sqrt(1 + 1e-3), rtol=1e-5
    )
    generator = dcgan.build_generator(8, (16, 16, 1), arch)
    assert kinds(generator)[:4] == ["Dense", "Reshape", "GroupNormalization", "ReLU"]
    assert kinds(generator).count("GroupNormalization") == 2
    assert "BatchNormalization" not in kinds(generator)
    # a sample depends only on its own noise (no batch statistics)
    noise = tf.random.stateless_normal([4, 8], seed=[5, 6])
    together = generator(noise, training=True).numpy()
    np.testing.assert_allclose(
        generator(noise[1:2], training=True).numpy()[0], together[1], atol=1e-5
    )


@pytest.mark.parametrize("upsample", ["nearest", "bilinear"])
@pytest.mark.parametrize("shape", [(16, 16, 1), (28, 28, 1), (32, 32, 3), (48, 48, 3)])
def test_resize_convolution_generator(upsample, shape):
    arch = {**ARCH, "base_width": 4, "upsample": upsample}
    generator = dcgan.build_generator(8, shape, arch)
    side, steps = dcgan.upsampling_plan(shape)
    assert transposed(generator) == []
    ups = [layer for layer in generator.layers if kinds_of(layer, "UpSampling2D")]
    assert len(ups) == steps and {layer.interpolation for layer in ups} == {upsample}
    convs = [layer for layer in generator.layers if kinds_of(layer, "Conv2D")]
    assert [(c.filters, c.kernel_size, c.strides) for c in convs] == [
        (4 * 2 ** (steps - 1 - k), (5, 5), (1, 1)) for k in range(steps - 1)
    ] + [(shape[-1], (5, 5), (1, 1))]
    names = kinds(generator)
    assert all(names[i + 1] == "Conv2D" for i, name in enumerate(names) if name == "UpSampling2D")
    images = generator(tf.random.stateless_normal([2, 8], seed=[1, 1]))
    assert images.shape == (2, *shape) and start_shape(generator) == (side, side, 4 * 2**steps)
    assert float(tf.reduce_max(tf.abs(images))) <= 1.0


@pytest.mark.parametrize("upsample", ["transpose", "nearest"])
def test_kernel_size_sets_every_convolution_and_cuts_the_multiply_adds(upsample):
    shape = (28, 28, 1)
    arch = {**ARCH, "base_width": 8, "upsample": upsample}
    nets = {
        k: (
            dcgan.build_generator(8, shape, {**arch, "kernel_size": k}),
            dcgan.build_discriminator(shape, {**arch, "kernel_size": k}),
        )
        for k in (5, 4)
    }
    for k, (generator, discriminator) in nets.items():
        convs = [
            layer
            for net in (generator, discriminator)
            for layer in net.layers
            if isinstance(layer, CONVS)
        ]  # Conv2DTranspose included
        assert len(convs) == 4 and {layer.kernel_size for layer in convs} == {(k, k)}
        assert generator(tf.zeros((2, 8))).shape == (2, *shape)
        assert discriminator(tf.zeros((2, *shape))).shape == (2, 1)

    def conv_weights(net):
        return sum(
            int(np.prod(layer.kernel.shape)) for layer in net.layers if isinstance(layer, CONVS)
        )

    # every conv kernel shrinks by 16/25; the dense layers are unchanged
    for index in (0, 1):
        assert conv_weights(nets[4][index]) * 25 == conv_weights(nets[5][index]) * 16
    with pytest.raises(ConfigError, match="arch kernel_size must be >= 2, got 1"):
        dcgan.build_discriminator(shape, {**arch, "kernel_size": 1})


def test_upsample_default_and_bad_value():
    default = dcgan.build_generator(8, (28, 28, 1), {**ARCH, "base_width": 4})
    assert len(transposed(default)) == 2 and "UpSampling2D" not in kinds(default)
    with pytest.raises(
        ConfigError, match="unknown upsample 'cubic'; choose one of: transpose, nearest, bilinear"
    ):
        dcgan.build_generator(8, (28, 28, 1), {**ARCH, "upsample": "cubic"})
    config = gan_tf.make_config(latent_dim=4, arch={"base_width": "4", "upsample": "nearest"})
    generator, _ = build.build_networks(config, (16, 16, 1))
    assert transposed(generator) == [] and "UpSampling2D" in kinds(generator)
