"""Sub-pixel stride-2 convolutions: the same values and gradients as TensorFlow's ops."""

import numpy as np
import pytest
import tensorflow as tf
from keras import layers

from gan_tf.models import dcgan, subpixel

# (input side, in channels, out channels, kernel): DCGAN's 4x4 start, 28 px's 7x7
# start (odd), even kernels (the PyTorch example's 4) and a 3x3 kernel.
CASES = [(4, 6, 5, 5), (7, 4, 3, 5), (4, 6, 5, 4), (7, 5, 3, 4), (5, 3, 2, 3), (1, 3, 2, 5)]
CASES += [(5, 3, 2, (5, 3)), (4, 2, 3, (2, 4))]  # non-square kernels


def _close(a, b, atol=2e-5):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=atol)


def test_plan_of_a_5x5_kernel_puts_its_25_taps_in_four_phases_of_2x2_2x3_3x2_3x3():
    index, low, high = subpixel._plan((5, 5), (1, 1))
    assert index.shape == (3, 3, 4) and low == high == (1, 1)
    counts = [(index[..., phase] < 25).sum() for phase in range(4)]
    assert counts == [4, 6, 6, 9]
    # every tap used exactly once over the four phases
    assert sorted(index[index < 25].tolist()) == list(range(25))
    # phase (even, even): output 2m takes input m (window offset 1) with tap 1, input m-1
    # (offset 0) with tap 3 and nothing at offset 2; (odd, odd) takes taps 4, 2, 0
    assert index[1, 1, 0] == 1 * 5 + 1 and index[0, 0, 0] == 3 * 5 + 3 and index[2, 2, 0] == 25
    assert [index[t, t, 3] for t in range(3)] == [4 * 5 + 4, 2 * 5 + 2, 0]


@pytest.mark.parametrize("side,cin,cout,k", CASES)
def test_conv2d_transpose_and_its_gradients_equal_tensorflows(side, cin, cout, k):
    x = tf.random.stateless_normal((2, side, side, cin), (1, side))
    k = k if isinstance(k, tuple) else (k, k)
    w = tf.random.stateless_normal((*k, cout, cin), (2, k[0]))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([x, w])
        want = tf.nn.conv2d_transpose(x, w, (2, 2 * side, 2 * side, cout), 2, "SAME")
        got = subpixel.conv2d_transpose(x, w)
        want_loss, got_loss = tf.reduce_sum(tf.sin(want)), tf.reduce_sum(tf.sin(got))
    assert got.shape == (2, 2 * side, 2 * side, cout)
    _close(got, want)
    for g, h in zip(tape.gradient(got_loss, [x, w]), tape.gradient(want_loss, [x, w]), strict=True):
        _close(g, h, atol=1e-4)


@pytest.mark.parametrize("side,cin,cout,k", CASES)
@pytest.mark.parametrize("odd", [0, 1])
def test_conv2d_and_its_gradients_equal_tensorflows_for_even_and_odd_sides(side, cin, cout, k, odd):
    big = 2 * side - odd
    x = tf.random.stateless_normal((2, big, big, cin), (3, big))
    k = k if isinstance(k, tuple) else (k, k)
    w = tf.random.stateless_normal((*k, cin, cout), (4, k[1]))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([x, w])
        want, got = tf.nn.conv2d(x, w, 2, "SAME"), subpixel.conv2d(x, w)
        want_loss, got_loss = tf.reduce_sum(tf.sin(want)), tf.reduce_sum(tf.sin(got))
    assert got.shape == want.shape == (2, side, side, cout)
    _close(got, want)
    for g, h in zip(tape.gradient(got_loss, [x, w]), tape.gradient(want_loss, [x, w]), strict=True):
        _close(g, h, atol=1e-4)


def test_second_order_gradients_match_so_r1_and_gradient_penalties_work():
    # d/dw of ||d loss / dx||^2, the shape of R1 and WGAN-GP, through both ops
    x = tf.random.stateless_normal((2, 8, 8, 3), (5, 0))
    w1 = tf.random.stateless_normal((5, 5, 3, 4), (6, 0)) * 0.3
    w2 = tf.random.stateless_normal((5, 5, 2, 4), (7, 0)) * 0.3

    def penalty_gradient(down, up):
        with tf.GradientTape() as outer:
            outer.watch([w1, w2])
            with tf.GradientTape() as inner:
                inner.watch(x)
                y = up(tf.nn.leaky_relu(down(x, w1), 0.2), w2)
                score = tf.reduce_sum(tf.tanh(y))
            penalty = tf.reduce_sum(tf.square(inner.gradient(score, x)))
        return penalty, outer.gradient(penalty, [w1, w2])

    def stock_up(t, w):
        return tf.nn.conv2d_transpose(t, w, (2, 8, 8, 2), 2, "SAME")

    want, want_grads = penalty_gradient(lambda t, w: tf.nn.conv2d(t, w, 2, "SAME"), stock_up)
    got, got_grads = penalty_gradient(subpixel.conv2d, subpixel.conv2d_transpose)
    assert float(want) > 0.1
    _close(got, want, atol=1e-4)
    for g, h in zip(got_grads, want_grads, strict=True):
        _close(g, h, atol=1e-3)


def _copy(source, target, inputs):
    target(inputs)
    target.set_weights(source.get_weights())


@pytest.mark.parametrize("dtype", ["float32", "mixed_bfloat16"])
def test_layers_equal_keras_stock_layers_with_the_same_weights(dtype):
    inputs = tf.random.stateless_normal((3, 7, 7, 4), (8, 0))
    kwargs = dict(filters=5, kernel_size=5, strides=2, padding="same", dtype=dtype)
    pairs = [
        (layers.Conv2DTranspose(**kwargs), subpixel.SubpixelConv2DTranspose(**kwargs)),
        (layers.Conv2D(**kwargs), subpixel.SubpixelConv2D(**kwargs)),
    ]
    for stock, fast in pairs:
        stock(inputs)
        _copy(stock, fast, inputs)
        assert fast.get_config()["strides"] == (2, 2)
        want, got = stock(inputs), fast(inputs)
        assert got.dtype == want.dtype and got.shape == want.shape
        atol = 2e-5 if dtype == "float32" else 0.1
        _close(tf.cast(got, tf.float32), tf.cast(want, tf.float32), atol=atol)


def test_layers_fall_back_to_the_stock_call_off_the_stride_2_same_case():
    inputs = tf.random.stateless_normal((2, 6, 6, 3), (9, 0))
    for kwargs in (dict(strides=1, padding="same"), dict(strides=2, padding="valid")):
        stock = layers.Conv2DTranspose(4, 3, **kwargs)
        fast = subpixel.SubpixelConv2DTranspose(4, 3, **kwargs)
        stock(inputs)
        _copy(stock, fast, inputs)
        _close(fast(inputs), stock(inputs))


def test_dcgan_builds_subpixel_layers_by_default_and_stock_ones_when_off():
    arch = {**dcgan.ARCHITECTURE, "base_width": 4}
    shape = (32, 32, 3)
    fast = dcgan.build_generator(8, shape, arch), dcgan.build_discriminator(shape, arch)
    off = {**arch, "subpixel": False}
    stock = dcgan.build_generator(8, shape, off), dcgan.build_discriminator(shape, off)
    kinds = [[type(layer) for layer in model.layers] for model in fast]
    assert kinds[0].count(subpixel.SubpixelConv2DTranspose) == 3
    assert kinds[1].count(subpixel.SubpixelConv2D) == 3
    assert not any(isinstance(layer, subpixel.SubpixelConv2D) for layer in stock[1].layers)
    noise = tf.random.stateless_normal((4, 8), (10, 0))
    for a, b in zip(fast, stock, strict=True):
        b.set_weights(a.get_weights())
    images = fast[0](noise, training=False)
    _close(images, stock[0](noise, training=False))
    _close(fast[1](images, training=False), stock[1](images, training=False), atol=1e-4)


@pytest.mark.parametrize("conditional", [False, True])
def test_stock_layers_copies_a_model_with_keras_layers_and_the_same_outputs(conditional):
    import keras

    arch = {**dcgan.ARCHITECTURE, "base_width": 4}
    generator = dcgan.build_generator(8, (16, 16, 3), arch)
    inputs = tf.random.stateless_normal((3, 8), (11, 0))
    if conditional:  # a functional model holding the Sequential
        noise = keras.Input((8,))
        generator = keras.Model(noise, generator(noise * 2.0))
    copy = subpixel.stock_layers(generator)
    flat = list(copy._flatten_layers(recursive=True))
    assert not any(type(layer).__name__.startswith("Subpixel") for layer in flat)
    assert sum(type(layer) is layers.Conv2DTranspose for layer in flat) == 2  # 4 -> 8 -> 16
    _close(copy(inputs, training=False), generator(inputs, training=False))
    stock = dcgan.build_generator(8, (16, 16, 3), {**arch, "subpixel": False})
    assert subpixel.stock_layers(stock) is stock
