"""gan_tf.sampling: seeded samples, the fixed noise of the epoch grids, class layouts."""

import imageio.v3 as iio
import keras
import numpy as np
import pytest
import tensorflow as tf
from fake_data import tiny_mnist_config, write_mnist_idx

import gan_tf
from gan_tf import rundir, visualize
from gan_tf.errors import ConfigError
from gan_tf.sampling import class_cycle, class_rows, fixed_noise, generate_images

LATENT_DIM = 4


@pytest.fixture(scope="module")
def image_generator():
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [
            keras.Input((LATENT_DIM,)),
            keras.layers.Dense(6 * 6, activation="tanh"),
            keras.layers.Reshape((6, 6, 1)),
        ]
    )


@pytest.fixture(scope="module")
def label_echo():
    """A conditional "generator" of 2-D points: (its label, its first noise value)."""
    noise = keras.Input((LATENT_DIM,))
    labels = keras.Input((), dtype="int32")
    points = keras.layers.Lambda(
        lambda t: keras.ops.stack([keras.ops.cast(t[1], "float32"), t[0][:, 0]], axis=1)
    )([noise, labels])
    return keras.Model([noise, labels], points)


def test_generate_images_is_seeded(image_generator):
    a = generate_images(image_generator, 7, LATENT_DIM, seed=1, batch_size=3)
    b = generate_images(image_generator, 7, LATENT_DIM, seed=1, batch_size=3)
    c = generate_images(image_generator, 7, LATENT_DIM, seed=2, batch_size=3)
    assert a.shape == (7, 6, 6, 1) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert len({image.tobytes() for image in a}) == 7  # every sample has its own noise
    # the noise is tf.random.Generator.from_seed(seed).normal (what Run.grid also draws)
    noise = tf.random.Generator.from_seed(1).normal([7, LATENT_DIM])
    expected = visualize.to_uint8(image_generator(noise, training=False))
    np.testing.assert_array_equal(generate_images(image_generator, 7, LATENT_DIM, seed=1), expected)


@pytest.mark.parametrize("batch_size", [1, 3, 4])
def test_generate_images_does_not_depend_on_batch_size(image_generator, batch_size):
    whole = generate_images(image_generator, 7, LATENT_DIM, seed=1, batch_size=500)
    batched = generate_images(image_generator, 7, LATENT_DIM, seed=1, batch_size=batch_size)
    np.testing.assert_array_equal(batched, whole)


def test_generate_images_passes_labels_per_batch_and_returns_points(label_echo):
    labels = np.array([3, 1, 4, 1, 5, 9, 2], np.int32)
    points = generate_images(label_echo, 7, LATENT_DIM, seed=5, batch_size=7, labels=labels)
    assert points.dtype == np.float32 and points.shape == (7, 2)  # 2-D points stay float
    np.testing.assert_array_equal(points[:, 0], labels)
    noise = tf.random.Generator.from_seed(5).normal([7, LATENT_DIM]).numpy()
    np.testing.assert_allclose(points[:, 1], noise[:, 0], rtol=1e-6)
    batched = generate_images(label_echo, 7, LATENT_DIM, seed=5, batch_size=3, labels=labels)
    np.testing.assert_array_equal(batched[:, 0], labels)  # each batch gets its own labels


def test_generate_images_rejects_bad_counts(image_generator):
    with pytest.raises(ConfigError, match="num must be a positive integer, got 0") as error:
        generate_images(image_generator, 0, LATENT_DIM)
    assert error.value.params == ("num",)
    with pytest.raises(ConfigError, match="batch_size must be a positive integer, got 0"):
        generate_images(image_generator, 3, LATENT_DIM, batch_size=0)


def test_fixed_noise_is_stable():
    a = fixed_noise(3, 8, 16).numpy()
    tf.random.set_seed(123)  # global and stateful random state do not touch it
    tf.random.normal([5])
    tf.random.get_global_generator().normal([5])
    b = fixed_noise(3, 8, 16).numpy()
    assert a.shape == (16, 8) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, fixed_noise(4, 8, 16).numpy())  # the run's seed picks it
    many = fixed_noise(0, 10, 5000).numpy()
    assert abs(many.mean()) < 0.03 and many.std() == pytest.approx(1.0, abs=0.03)


def test_uniform_fixed_noise_and_samples_map_the_same_normal_draws():
    normal = fixed_noise(3, 8, 16).numpy()
    uniform = fixed_noise(3, 8, 16, "uniform").numpy()
    np.testing.assert_allclose(uniform, tf.math.erf(normal / np.sqrt(2.0)).numpy(), rtol=1e-6)
    many = fixed_noise(0, 10, 5000, "uniform").numpy()
    assert -1.0 <= many.min() and many.max() <= 1.0
    assert abs(many.mean()) < 0.02 and many.std() == pytest.approx(1 / np.sqrt(3.0), rel=0.02)
    images = generate_images(image_generator_for_uniform(), 5, LATENT_DIM, seed=1)
    uniform_images = generate_images(
        image_generator_for_uniform(), 5, LATENT_DIM, seed=1, distribution="uniform"
    )
    noise = tf.random.Generator.from_seed(1).normal([5, LATENT_DIM])
    expected = visualize.to_uint8(
        image_generator_for_uniform()(tf.math.erf(noise / np.sqrt(2.0)), training=False)
    )
    np.testing.assert_array_equal(uniform_images, expected)
    assert not np.array_equal(images, uniform_images)


def image_generator_for_uniform():
    """A fixed generator: the sum of the noise, as a 1x1 image."""
    noise = keras.Input((LATENT_DIM,))
    total = keras.layers.Lambda(lambda t: keras.ops.tanh(keras.ops.sum(t, axis=1)))(noise)
    return keras.Model(noise, keras.layers.Reshape((1, 1, 1))(total))


def test_epoch_grids_are_drawn_from_the_fixed_noise(tmp_path):
    """The saved epoch picture is the checkpoint's generator on fixed_noise(seed, ...)."""
    write_mnist_idx(str(tmp_path / "mnist"), train=32)
    config = tiny_mnist_config(str(tmp_path / "mnist"), epochs=1, seed=7)
    gan_tf.train(config, str(tmp_path / "run"), verbose=0)
    generator, _ = rundir.restore_generator(str(tmp_path / "run"))
    images = visualize.to_uint8(generator(fixed_noise(7, 8, 4), training=False))
    expected = visualize.image_grid(images, rows=2)
    saved = iio.imread(tmp_path / "run" / "samples" / "epoch_0001.png")
    saved = saved.reshape(expected.shape)
    assert np.abs(saved.astype(int) - expected.astype(int)).max() <= 1


def test_class_rows_layout():
    noise = tf.reshape(tf.range(3 * 2, dtype=tf.float32), [3, 2])  # 3 columns
    tiled, labels = class_rows(noise, 4)
    assert tiled.shape == (12, 2) and labels.shape == (12,)
    np.testing.assert_array_equal(labels, [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3])  # row k: class k
    for row in range(4):  # the same noise down every column
        np.testing.assert_array_equal(tiled[row * 3 : (row + 1) * 3], noise)


def test_class_cycle_gives_equal_shares():
    labels = class_cycle(25, 10)
    assert labels.dtype == np.int32
    np.testing.assert_array_equal(labels[:12], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1])
    np.testing.assert_array_equal(np.bincount(labels), [3] * 5 + [2] * 5)
    np.testing.assert_array_equal(np.bincount(class_cycle(30, 3)), [10, 10, 10])


def test_class_shares_follow_the_counts_and_equal_counts_give_the_cycle():
    from gan_tf.sampling import class_cycle, class_shares

    np.testing.assert_array_equal(class_shares(20, [7, 7, 7, 7]), class_cycle(20, 4))
    labels = class_shares(1000, [304, 4096, 290, 228, 390, 152, 476, 410, 476])  # emoji train
    # 1000 * count / 6822, largest remainders rounded up
    assert np.bincount(labels).tolist() == [45, 600, 43, 33, 57, 22, 70, 60, 70]
    assert labels[:9].tolist() == list(range(9))  # interleaved, not in blocks
    assert class_shares(5, [0, 3, 0]).tolist() == [1, 1, 1, 1, 1]
    with pytest.raises(ConfigError, match="class counts"):
        class_shares(5, [0, 0])
