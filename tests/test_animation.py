"""gan_tf.animation: slerp, latent walks and class morphs, on untrained runs (no training
needed: the frames only have to follow the generator)."""

import numpy as np
import pytest
import tensorflow as tf

import gan_tf
from gan_tf import animation, visualize
from gan_tf.build import build_networks
from gan_tf.errors import ConfigError
from gan_tf.run import Run


def untrained_run(tmp_path, model, shape=(28, 28, 1), num_classes=None, **overrides):
    config = gan_tf.make_config(model=model, latent_dim=8, **overrides)
    generator, _ = build_networks(config, shape, num_classes)
    return Run(str(tmp_path), config, generator, shape, num_classes)


@pytest.fixture(scope="module")
def dcgan_run(tmp_path_factory):
    return untrained_run(tmp_path_factory.mktemp("dcgan"), "dcgan")


@pytest.fixture(scope="module")
def cgan_run(tmp_path_factory):
    return untrained_run(tmp_path_factory.mktemp("cgan"), "cgan", num_classes=10)


def test_slerp():
    a, b = np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]])
    np.testing.assert_allclose(animation.slerp(a, b, 0.0), a, atol=1e-7)
    np.testing.assert_allclose(animation.slerp(a, b, 1.0), b, atol=1e-7)
    np.testing.assert_allclose(animation.slerp(a, b, 0.5), [[0.5**0.5, 0.5**0.5]], atol=1e-6)
    np.testing.assert_allclose(animation.slerp(a, 2 * a, 0.5), 1.5 * a, atol=1e-6)  # parallel
    rows = np.random.default_rng(0).standard_normal((2, 5, 16))
    rows *= 4.0 / np.linalg.norm(rows, axis=-1, keepdims=True)  # ends of norm 4
    for t in (0.25, 0.5, 0.9):  # a great circle: the norm stays 4 (a straight line shrinks)
        middle = animation.slerp(rows[0], rows[1], t)
        assert middle.shape == (5, 16) and middle.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(middle, axis=-1), 4.0, rtol=1e-5)


def test_latent_walk_frames_loop_through_seeded_key_points(dcgan_run):
    frames = animation.latent_walk(dcgan_run, points=3, steps=2, count=4, seed=1)
    assert frames.shape == (6, 2 * 28 + 3 * 2, 2 * 28 + 3 * 2, 1) and frames.dtype == np.uint8
    assert not np.array_equal(frames[0], frames[1])
    keys = tf.random.Generator.from_seed(1).normal([3, 4, 8]).numpy()
    for leg in range(3):  # each leg starts at its key point
        expected = visualize.image_grid(visualize.to_uint8(dcgan_run.generate(keys[leg])), rows=2)
        assert np.abs(frames[2 * leg].astype(int) - expected.astype(int)).max() <= 1
    again = animation.latent_walk(dcgan_run, points=3, steps=2, count=4, seed=1)
    np.testing.assert_array_equal(frames, again)
    other = animation.latent_walk(dcgan_run, points=3, steps=2, count=4, seed=2)
    assert not np.array_equal(frames, other)


def test_latent_walk_of_one_class(cgan_run):
    frames = animation.latent_walk(cgan_run, points=2, steps=1, count=3, seed=0, label=4)
    keys = tf.random.Generator.from_seed(0).normal([2, 3, 8]).numpy()
    expected = visualize.to_uint8(cgan_run.generate(keys[0], 4))
    assert frames.shape == (2, 28 + 2 * 2, 3 * 28 + 4 * 2, 1)
    grid = visualize.image_grid(expected, rows=1)
    assert np.abs(frames[0].astype(int) - grid.astype(int)).max() <= 1


def test_class_morph_passes_through_each_class(cgan_run):
    frames = animation.class_morph(cgan_run, steps=3, count=4, seed=0, classes=[0, 3, 7])
    assert frames.shape == (9, 2 * 28 + 3 * 2, 2 * 28 + 3 * 2, 1) and frames.dtype == np.uint8
    noise = tf.random.Generator.from_seed(0).normal([4, 8])
    for leg, label in enumerate([0, 3, 7]):  # t = 0 of every leg: exactly one class
        images = visualize.to_uint8(cgan_run.generate(noise, label))
        expected = visualize.image_grid(images, rows=2)
        assert np.abs(frames[3 * leg].astype(int) - expected.astype(int)).max() <= 1
    assert not np.array_equal(frames[1], frames[0])  # in between: a mix
    assert len(animation.class_morph(cgan_run, steps=1, count=1)) == 10  # default: every class


def test_animation_errors(tmp_path, dcgan_run, cgan_run):
    with pytest.raises(ConfigError, match="need points >= 2, steps >= 1 and count >= 1"):
        animation.latent_walk(dcgan_run, points=1)
    with pytest.raises(ConfigError, match="need a conditional run") as error:
        animation.class_morph(dcgan_run)
    assert "--" not in str(error.value)
    with pytest.raises(ConfigError, match="need steps >= 1 and count >= 1") as error:
        animation.class_morph(cgan_run, steps=0)
    assert error.value.params == ("steps", "count")
    for classes in ([3], [0, 10], [-1, 2]):
        with pytest.raises(ConfigError, match=r"classes needs >= 2 class ids in \[0, 9\]"):
            animation.class_morph(cgan_run, classes=classes)
    toy = untrained_run(tmp_path, "gan", shape=(2,), dataset="ring8")
    with pytest.raises(ConfigError, match="animations need an image run"):
        animation.latent_walk(toy)
