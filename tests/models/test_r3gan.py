"""R3GAN (Huang et al., 2024): shapes and ranges at 32/64/128 px and any channel count,
float32 logits under mixed_bfloat16, the blocks' structure and parameter counts by
hand, the fix-up initialisation, the authors' resampling filter against a NumPy
upfirdn2d, a .keras round trip, a train step, the registry and the shape errors."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

import gan_tf
from gan_tf import build, models
from gan_tf.errors import ConfigError
from gan_tf.models import r3gan

# 4x4: 16 channels, 8 groups; 8x8: 8 channels, 4 groups; 16x16 and up: 4 channels, 2 groups
TINY = {"width": 16, "min_width": 4, "cardinality": 8, "blocks": 1}


def _trainable_count(layer) -> int:
    return sum(int(np.prod(v.shape)) for v in layer.trainable_weights)


def _block_count(width: int, groups: int, expansion: int) -> int:
    """One residual block by hand: 1x1 W -> EW with bias, grouped 3x3 EW -> EW with
    ``groups`` groups with bias, 1x1 EW -> W without bias."""
    expanded = expansion * width
    return (
        (width * expanded + expanded)
        + (9 * (expanded // groups) * expanded + expanded)
        + (expanded * width)
    )


@pytest.mark.parametrize("side", [32, 64, 128])
def test_shapes_and_ranges(side):
    generator = r3gan.build_generator(8, (side, side, 3), TINY)
    discriminator = r3gan.build_discriminator((side, side, 3), TINY)
    images = generator(tf.random.normal([4, 8], seed=1) * 10.0, training=True)
    assert images.shape == (4, side, side, 3) and images.dtype == tf.float32
    assert -1.0 <= float(tf.reduce_min(images)) and float(tf.reduce_max(images)) <= 1.0
    assert float(tf.math.reduce_std(images)) > 0.0
    logits = discriminator(images, training=True)
    assert logits.shape == (4, 1) and logits.dtype == tf.float32
    assert np.all(np.isfinite(logits.numpy()))


@pytest.mark.parametrize("channels", [1, 5])
def test_any_channel_count(channels):
    generator = r3gan.build_generator(8, (32, 32, channels), TINY)
    assert generator(tf.random.normal([2, 8], seed=2)).shape == (2, 32, 32, channels)
    discriminator = r3gan.build_discriminator((32, 32, channels), TINY)
    assert discriminator(tf.zeros([2, 32, 32, channels])).shape == (2, 1)


def test_mixed_bfloat16_keeps_images_and_logits_float32():
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        generator = r3gan.build_generator(8, (32, 32, 3), TINY)
        discriminator = r3gan.build_discriminator((32, 32, 3), TINY)
        block = generator.get_layer("stage32_block1")
        assert block.compute_dtype == "bfloat16" and block.grouped.compute_dtype == "bfloat16"
        images = generator(tf.random.normal([3, 8], seed=3))
        logits = discriminator(images)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert images.dtype == tf.float32 and logits.dtype == tf.float32
    assert logits.shape == (3, 1) and np.all(np.isfinite(logits.numpy()))
    assert float(tf.reduce_max(tf.abs(images))) <= 1.0


def test_residual_block_structure_and_parameter_count():
    block = r3gan.ResidualBlock(groups=4, expansion=2, gain=1.0)
    block.build((None, 8, 8, 16))
    assert tuple(block.expand.kernel.shape) == (1, 1, 16, 32)
    assert tuple(block.grouped.kernel.shape) == (3, 3, 8, 32)  # 32 / 4 groups = 8 in
    assert block.grouped.groups == 4 and tuple(block.grouped.kernel_size) == (3, 3)
    assert tuple(block.project.kernel.shape) == (1, 1, 32, 16) and not block.project.use_bias
    # 16*32 + 32 + 9*8*32 + 32 + 32*16
    assert _trainable_count(block) == _block_count(16, 4, 2) == 3392
    # the authors' CIFAR-10 block: width 768, cardinality 96, expansion 2
    paper = r3gan.ResidualBlock(groups=96, expansion=2, gain=1.0)
    paper.build((None, 4, 4, 768))
    assert _trainable_count(paper) == _block_count(768, 96, 2) == 2_583_552


def test_whole_networks_count_by_hand_at_32px():
    """Default knobs, 64-d noise: stages (side, width, groups) (4, 256, 32), (8, 128, 16),
    (16, 64, 8), (32, 32, 4), two blocks each."""
    plan = r3gan.stage_plan((32, 32, 3), r3gan.ARCHITECTURE)
    assert [(s.side, s.width, s.groups) for s in plan] == [
        (4, 256, 32),
        (8, 128, 16),
        (16, 64, 8),
        (32, 32, 4),
    ]
    blocks = sum(2 * _block_count(s.width, s.groups, 2) for s in plan)
    transitions = 256 * 128 + 128 * 64 + 64 * 32  # 1x1, no bias
    generator = (64 * 256 + 16 * 256) + blocks + transitions + 32 * 3
    discriminator = 3 * 32 + blocks + transitions + (16 * 256 + 256)
    assert _trainable_count(r3gan.build_generator(64, (32, 32, 3))) == generator == 1_040_224
    assert _trainable_count(r3gan.build_discriminator((32, 32, 3))) == discriminator


def test_discriminator_stage_shapes_at_64px():
    discriminator = r3gan.build_discriminator((64, 64, 3), TINY)
    expected = {
        "from_image": (64, 64, 4),
        "stage64_block1": (64, 64, 4),
        "stage64_down": (32, 32, 4),
        "stage32_block1": (32, 32, 4),
        "stage32_down": (16, 16, 4),
        "stage16_down": (8, 8, 4),
        "stage16_channels": (8, 8, 8),  # the 1x1 conv after the downsampling
        "stage8_block1": (8, 8, 8),
        "stage8_channels": (4, 4, 16),
        "stage4_block1": (4, 4, 16),
        "basis": (1,),
    }
    for name, shape in expected.items():
        assert tuple(discriminator.get_layer(name).output.shape) == (None, *shape), name
    assert "stage32_channels" not in [layer.name for layer in discriminator.layers]
    kinds = {type(layer).__name__ for layer in discriminator.layers}
    assert not any("Normalization" in kind for kind in kinds)
    assert [type(x).__name__ for x in discriminator.get_layer("basis").layers] == [
        "DepthwiseConv2D",
        "Flatten",
        "Dense",
    ]


def test_generator_upsamples_after_the_channel_change():
    generator = r3gan.build_generator(8, (16, 16, 3), TINY)
    names = [layer.name for layer in generator.layers]
    assert names == [
        "noise",
        "basis",
        "stage4_block1",
        "stage8_channels",
        "stage8_up",
        "stage8_block1",
        "stage16_channels",
        "stage16_up",
        "stage16_block1",
        "to_image",
        "tanh",
    ]
    assert tuple(generator.get_layer("basis").output.shape) == (None, 4, 4, 16)
    assert tuple(generator.get_layer("stage8_up").output.shape) == (None, 8, 8, 8)


def test_fresh_block_is_the_identity_and_inner_convs_are_scaled():
    keras.utils.set_random_seed(0)
    block = r3gan.ResidualBlock(groups=8, expansion=2, gain=r3gan.block_gain(8))
    inputs = tf.random.normal([4, 8, 8, 64], seed=4) * 3.0
    outputs = block(inputs)
    assert float(tf.reduce_max(tf.abs(outputs - inputs))) < 1e-6
    assert not np.any(block.project.kernel.numpy())
    # gain = sqrt(2 / (1 + 0.2**2)) * 8 ** (-1/4) = 1.386750 * 0.594604 = 0.824566
    assert r3gan.block_gain(8) == pytest.approx(0.824566, abs=1e-6)
    for conv, fan_in in ((block.expand, 64), (block.grouped, 9 * 16)):
        std = float(np.std(conv.kernel.numpy()))
        assert std == pytest.approx(0.824566 / math.sqrt(fan_in), rel=0.05), conv.name
        assert not np.any(conv.bias.numpy())


def _upfirdn_reference(x, up: bool):
    """NumPy upfirdn2d of one [H, W] map with the authors' [1, 3, 3, 1] filter."""
    taps = np.array([1.0, 3.0, 3.0, 1.0])
    kernel = np.outer(taps, taps) / 64.0
    if up:  # zero-stuff, pad (2, 1), filter with gain 4
        stuffed = np.zeros((2 * x.shape[0], 2 * x.shape[1]))
        stuffed[::2, ::2] = x
        padded, kernel, step = np.pad(stuffed, ((2, 1), (2, 1))), 4.0 * kernel, 1
    else:  # pad (1, 1), filter, keep every other pixel
        padded, step = np.pad(x, 1), 2
    rows, cols = (padded.shape[0] - 3 + step - 1) // step, (padded.shape[1] - 3 + step - 1) // step
    out = np.zeros((rows, cols))
    for i in range(rows):
        for j in range(cols):
            out[i, j] = np.sum(padded[i * step : i * step + 4, j * step : j * step + 4] * kernel)
    return out


@pytest.mark.parametrize("direction", ["up", "down"])
def test_resampling_is_the_authors_filter(direction):
    x = np.random.default_rng(5).normal(size=(6, 8))
    layer = r3gan.Resample2x(direction)
    ours = layer(x[None, :, :, None].astype("float32"))[0, :, :, 0].numpy()
    reference = _upfirdn_reference(x, direction == "up")
    assert ours.shape == ((12, 16) if direction == "up" else (3, 4))
    np.testing.assert_allclose(ours, reference, atol=1e-5)


def test_upsampling_is_bilinear_away_from_the_border():
    x = np.arange(12.0).reshape(1, 3, 4, 1).astype("float32")
    ours = r3gan.Resample2x("up")(x)[0, :, :, 0].numpy()
    bilinear = keras.layers.UpSampling2D(interpolation="bilinear")(x)[0, :, :, 0].numpy()
    np.testing.assert_allclose(ours[1:-1, 1:-1], bilinear[1:-1, 1:-1], atol=1e-5)
    # a corner sees zeros beyond the edge: 0.75 * 0.75 * x[0, 0] + ... = 9/16 * 0 + ...
    assert ours[-1, -1] == pytest.approx(9 / 16 * 11.0)


def test_grouped_conv_matches_keras_grouped_conv():
    inputs = tf.random.normal([2, 6, 6, 12], seed=6)
    ours = r3gan.GroupedConv2D(12, 3, groups=3, padding="same")
    stock = keras.layers.Conv2D(12, 3, groups=3, padding="same")
    ours.build(inputs.shape)
    stock.build(inputs.shape)
    stock.set_weights([w + 0.1 for w in ours.get_weights()])
    ours.set_weights(stock.get_weights())
    np.testing.assert_allclose(ours(inputs), stock(inputs), rtol=1e-5, atol=1e-5)


def test_keras_round_trip(tmp_path):
    generator = r3gan.build_generator(8, (16, 16, 3), TINY)
    discriminator = r3gan.build_discriminator((16, 16, 3), TINY)
    for network in (generator, discriminator):  # move the zero-init convs off zero
        network.set_weights([w + 0.01 for w in network.get_weights()])
    noise = tf.random.normal([3, 8], seed=7)
    images = generator(noise)
    for model, inputs in ((generator, noise), (discriminator, images)):
        path = tmp_path / f"{model.name}.keras"
        model.save(path)
        loaded = keras.models.load_model(path)
        assert len(loaded.weights) == len(model.weights)
        np.testing.assert_array_equal(loaded(inputs).numpy(), model(inputs).numpy())


def _make_gan(batch_size=4):
    config = gan_tf.make_config(
        model="r3gan", arch=TINY, batch_size=batch_size, latent_dim=8, precision="float32"
    )
    return build.build_gan(config, (16, 16, 3), None)


def test_train_steps_update_both_networks():
    """Step 1 moves every weight but the residual branches' inner convs, whose gradient
    is 0 while the branch's last conv is 0 (fix-up); step 2 moves those too."""
    gan = _make_gan()
    assert gan.generator_ema is not None  # the default EMA
    networks = (gan.generator, gan.discriminator)
    before = [[v.numpy().copy() for v in n.trainable_variables] for n in networks]
    batch = tf.random.uniform([4, 16, 16, 3], -1.0, 1.0, seed=8)
    out = gan.run_step(batch)
    assert all(np.isfinite(float(value)) for value in out.values()), out
    assert float(out["r1_penalty"]) > 0.0 and float(out["r2_penalty"]) > 0.0
    for network, initial in zip(networks, before, strict=True):
        for start, variable in zip(initial, network.trainable_variables, strict=True):
            inner = "/expand/" in variable.path or "/grouped/" in variable.path
            assert np.array_equal(start, variable.numpy()) == inner, variable.path
    gan.run_step(batch)
    for network, initial in zip(networks, before, strict=True):
        for start, variable in zip(initial, network.trainable_variables, strict=True):
            assert not np.array_equal(start, variable.numpy()), variable.path
    assert int(gan.generator_optimizer.iterations.numpy()) == 2


def test_registry_and_authors_defaults():
    assert models.get_model("r3gan") is r3gan.SPEC and not r3gan.SPEC.conditional
    conditional = models.get_model("r3gan_conditional")
    assert conditional.conditional and conditional.defaults == r3gan.SPEC.defaults
    config = gan_tf.make_config(model="r3gan", recipe="paper")
    assert (config.loss, config.r1_weight, config.r2_weight) == ("rpgan", 0.05, 0.05)
    assert (config.learning_rate, config.beta_1, config.beta_2) == (2e-4, 0.0, 0.9)
    assert (config.batch_size, config.latent_dim, config.n_critic) == (512, 64, 1)
    # EMA half-life of 5M images at batch 512: 0.5 ** (512 / 5e6)
    assert config.ema == pytest.approx(0.99992902, abs=1e-8)
    assert config.arch == r3gan.ARCHITECTURE


def test_conditional_variant_builds_with_labels():
    spec = models.get_model("r3gan_conditional")
    arch = {**TINY, "spectral_norm": False, "dropout": 0.0}
    generator, discriminator = models.build_networks(
        spec, (16, 16, 3), latent_dim=8, arch=arch, num_classes=3
    )
    labels = tf.constant([0, 1, 2, 0])
    images = generator([tf.random.normal([4, 8], seed=9), labels])
    assert images.shape == (4, 16, 16, 3)
    logits = discriminator([images, labels])
    assert logits.shape == (4, 1) and logits.dtype == tf.float32


@pytest.mark.parametrize("shape", [(28, 28, 1), (48, 48, 3), (32, 64, 3), (4, 4, 3), (2,)])
def test_unsupported_shapes_raise_config_error(shape):
    for build_network in (
        lambda: r3gan.build_generator(8, shape, TINY),
        lambda: r3gan.build_discriminator(shape, TINY),
    ):
        with pytest.raises(ConfigError, match="image_size") as error:
            build_network()
        assert error.value.params == ("image_size",)


@pytest.mark.parametrize(
    "arch, message",
    [
        ({"min_width": 32, "width": 16}, "min_width=32 must be <= width=16"),
        ({"blocks": 0}, "blocks must be an integer >= 1"),
        ({"full_width_side": 6}, "full_width_side must be a power of two"),
        ({"width": 12, "min_width": 12, "cardinality": 5}, "5 groups do not divide"),
        ({"spectral_norm": True}, "no spectral normalisation"),
        ({"dropout": 0.2}, "no dropout"),
    ],
)
def test_bad_knobs_raise_config_error(arch, message):
    with pytest.raises(ConfigError, match=message):
        r3gan.build_discriminator((16, 16, 3), {**TINY, **arch})
