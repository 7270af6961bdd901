"""Every model's output shape and range for 28x28x1, 32x32x3 and 64x64x3."""

import numpy as np
import pytest
import tensorflow as tf

from gan_tf.models import MODEL_NAMES, dcgan, get_model

SHAPES = [(28, 28, 1), (32, 32, 3), (64, 64, 3)]


UNCONDITIONAL = [name for name in MODEL_NAMES if not get_model(name).conditional]


@pytest.mark.parametrize("name", UNCONDITIONAL)  # cgan's shapes: tests/test_cgan.py
@pytest.mark.parametrize("shape", SHAPES)
def test_output_shapes_and_ranges(name, shape):
    spec = get_model(name)
    generator = spec.build_generator(16, shape)
    discriminator = spec.build_discriminator(shape)
    noise = tf.random.normal([3, 16], seed=1) * 10.0  # large noise drives tanh to its limits
    images = generator(noise, training=True)
    assert images.shape == (3, *shape)
    assert images.dtype == tf.float32
    assert float(tf.reduce_min(images)) >= -1.0 and float(tf.reduce_max(images)) <= 1.0
    assert float(tf.math.reduce_std(images)) > 0.0
    logits = discriminator(images, training=False)
    assert logits.shape == (3, 1)
    assert logits.dtype == tf.float32


@pytest.mark.parametrize(
    "shape, start, channels",
    [((28, 28, 1), 7, 256), ((32, 32, 3), 4, 512), ((64, 64, 3), 4, 1024)],
)
def test_dcgan_sizes(shape, start, channels):
    generator = dcgan.build_generator(100, shape)
    reshape = next(layer for layer in generator.layers if layer.name.startswith("reshape"))
    assert reshape.output.shape[1:] == (start, start, channels)
    transposed = [layer for layer in generator.layers if "conv2d_transpose" in layer.name]
    sides = [layer.output.shape[1] for layer in transposed]
    assert sides == [start * 2 ** (i + 1) for i in range(len(transposed))]
    assert sides[-1] == shape[0]
    assert all(layer.kernel_size == (5, 5) and layer.strides == (2, 2) for layer in transposed)


def test_dcgan_32_channel_plan():
    generator = dcgan.build_generator(100, (32, 32, 3))
    transposed = [layer for layer in generator.layers if "conv2d_transpose" in layer.name]
    assert [tuple(layer.output.shape[1:]) for layer in transposed] == [
        (8, 8, 256),
        (16, 16, 128),
        (32, 32, 3),
    ]


def test_dcgan_discriminator_layout():
    discriminator = dcgan.build_discriminator((32, 32, 3))
    kinds = [type(layer).__name__ for layer in discriminator.layers]
    assert kinds == [
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
    assert [
        layer.negative_slope
        for layer in discriminator.layers
        if type(layer).__name__ == "LeakyReLU"
    ] == pytest.approx([0.2] * 3)


def test_dcgan_weights_start_normal_0_02():
    generator = dcgan.build_generator(100, (32, 32, 3))
    kernel = next(layer for layer in generator.layers if "conv2d_transpose" in layer.name).kernel
    values = kernel.numpy().ravel()
    assert abs(values.mean()) < 0.002
    assert 0.018 < values.std() < 0.022


def test_mlp_gan_layout():
    spec = get_model("gan")
    generator = spec.build_generator(100, (28, 28, 1))
    dense = [layer.units for layer in generator.layers if type(layer).__name__ == "Dense"]
    assert dense == [256, 512, 1024, 784]
    kinds = [type(layer).__name__ for layer in generator.layers]
    assert kinds.count("BatchNormalization") == 2
    discriminator = spec.build_discriminator((28, 28, 1))
    dense = [layer.units for layer in discriminator.layers if type(layer).__name__ == "Dense"]
    assert dense == [1024, 512, 256, 1]


def test_bad_shapes_and_names():
    with pytest.raises(ValueError, match="square"):
        dcgan.build_generator(10, (28, 32, 1))
    with pytest.raises(ValueError, match="image_size"):
        dcgan.build_generator(10, (30, 30, 1))
    with pytest.raises(ValueError, match="gan, dcgan"):
        get_model("stylegan9")


def test_models_have_paper_defaults():
    for name in MODEL_NAMES:
        spec = get_model(name)
        assert spec.name == name and "20" in spec.paper
    assert get_model("dcgan").defaults["learning_rate"] == pytest.approx(2e-4)
    assert get_model("dcgan").defaults["beta_1"] == pytest.approx(0.5)
    assert np.isfinite(get_model("gan").defaults["learning_rate"])
