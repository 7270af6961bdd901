"""--steps_per_call (several train steps per tf.function call) and --jit_compile (XLA)."""

import csv
import os

import numpy as np
import pytest
import tensorflow as tf
from fake_data import write_mnist_idx

import gan_tf
from gan_tf.training import build_gan


def _batches(count, size, seed=0):
    return tf.random.stateless_uniform(
        [count, size, 28, 28, 1], seed=[seed, 1], minval=-1, maxval=1
    )


def test_four_steps_in_one_call_equal_four_single_calls():
    config = gan_tf.make_config(model="dcgan", output_dir="unused", batch_size=8)
    single, fused = build_gan(config, (28, 28, 1)), build_gan(config, (28, 28, 1))
    for a, b in zip(single.generator.weights, fused.generator.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())  # same seed, same start
    batches = _batches(4, 8)
    singles = [single.train_step(batches[i]) for i in range(4)]
    outputs = fused.train_steps(iter(tf.data.Dataset.from_tensor_slices(batches)), 4)
    assert int(fused.step.numpy()) == int(single.step.numpy()) == 4
    for key in single.metric_names:
        np.testing.assert_allclose(
            outputs[key].numpy(), [float(s[key]) for s in singles], rtol=1e-4, atol=1e-6
        )
    for network in ("generator", "discriminator"):
        for a, b in zip(
            getattr(single, network).weights, getattr(fused, network).weights, strict=True
        ):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-6)


@pytest.fixture(scope="module")
def mnist_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("mnist_fusion")
    write_mnist_idx(str(directory), train=64)
    return str(directory)


def _run(mnist_dir, output_dir, **overrides):
    config = gan_tf.make_config(
        model="dcgan",
        dataset="mnist",
        data_dir=mnist_dir,
        download=False,
        output_dir=output_dir,
        batch_size=8,
        steps_per_epoch=7,
        epochs=1,
        log_every=2,
        **overrides,
    )
    gan_tf.train(config, verbose=0)
    with open(os.path.join(output_dir, "losses.csv"), encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_training_with_steps_per_call_matches_single_steps(mnist_dir, tmp_path):
    # 7 steps with 3 per call: two fused calls and one single step for the remainder
    single = _run(mnist_dir, str(tmp_path / "single"))
    fused = _run(mnist_dir, str(tmp_path / "fused"), steps_per_call=3)
    assert (
        [row["step"] for row in fused]
        == [row["step"] for row in single]
        == [
            "2",
            "4",
            "6",
            "7",
        ]
    )
    for a, b in zip(single, fused, strict=True):
        for key in ("discriminator_loss", "generator_loss", "d_real", "d_fake"):
            assert float(a[key]) == pytest.approx(float(b[key]), rel=1e-4, abs=1e-6)
    for name in ("single", "fused"):
        reader = tf.train.load_checkpoint(str(tmp_path / name / "checkpoints"))
        assert int(reader.get_tensor("step/.ATTRIBUTES/VARIABLE_VALUE")) == 7


def test_jit_compiled_step_trains():
    config = gan_tf.make_config(model="dcgan", output_dir="unused", batch_size=8, jit_compile=True)
    gan = build_gan(config, (28, 28, 1))
    before = [w.numpy().copy() for w in gan.generator.trainable_weights]
    out = gan.train_step(_batches(1, 8)[0])
    assert all(np.isfinite(float(v)) for v in out.values())
    # the loop's path: batches read from a tf.data iterator around the compiled step
    iterator = iter(tf.data.Dataset.from_tensor_slices(_batches(2, 8)))
    out = gan.train_steps(iterator, 2)
    assert all(np.isfinite(out[key].numpy()).all() for key in gan.metric_names)
    assert int(gan.step.numpy()) == 3
    assert any(
        not np.allclose(a, b.numpy())
        for a, b in zip(before, gan.generator.trainable_weights, strict=True)
    )
    with pytest.raises(ValueError, match="--steps_per_call must be a positive integer"):
        gan_tf.make_config(steps_per_call=0)


def test_simultaneous_update_uses_the_pre_update_discriminator():
    config = gan_tf.make_config(
        model="dcgan", output_dir="unused", batch_size=8, update="simultaneous"
    )
    gan = build_gan(config, (28, 28, 1))
    noise = tf.random.stateless_normal([8, config.latent_dim], seed=[9, 9])
    gan._noise = lambda batch_size, draws: noise  # the same noise for step and reference
    real = _batches(1, 8)[0]
    # reference: the generator loss through the discriminator as it was before the step
    # (the alternating scheme would score fresh fakes with the updated discriminator)
    fake_logits = gan.discriminator(gan.generator(noise, training=True), training=True)
    expected_loss = float(gan.generator_loss(fake_logits=fake_logits))
    out = gan.train_step(real)
    assert float(out["generator_loss"]) == pytest.approx(expected_loss, rel=1e-5)
    assert int(gan.step.numpy()) == 1
    with pytest.raises(ValueError, match="--update=simultaneous needs --n_critic=1"):
        gan_tf.make_config(model="wgan_gp", update="simultaneous")
