"""Mixed precision: every variant trains under each Keras dtype policy, outputs stay float32."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import gan_tf
from gan_tf import regularizers
from gan_tf.models import MODEL_NAMES
from gan_tf.training import build_gan, build_networks, dtype_policy

COMPUTE_DTYPE = {"mixed_bfloat16": "bfloat16", "mixed_float16": "float16"}


def _config(model, precision, **overrides):
    return gan_tf.make_config(
        model=model, precision=precision, output_dir="unused", batch_size=8, **overrides
    )


def _batch(gan, config):
    count = config.batch_size * config.n_critic
    images = tf.random.stateless_uniform([count, 28, 28, 1], seed=[1, 2], minval=-1, maxval=1)
    return (images, tf.range(count) % 10) if gan.conditional else (images,)


def _precision_cases():
    for model in MODEL_NAMES:
        for precision in ("mixed_bfloat16", "mixed_float16"):
            # float16 is emulated on CPUs (slow): its wgan* cases run with `make test-slow`
            slow = precision == "mixed_float16" and model.startswith("wgan")
            marks = [pytest.mark.slow] if slow else []
            yield pytest.param(model, precision, marks=marks, id=f"{model}-{precision}")


@pytest.mark.parametrize("model, precision", list(_precision_cases()))
def test_every_variant_trains_under_each_precision(model, precision):
    config = _config(model, precision)
    gan = build_gan(config, (28, 28, 1), 10)
    compute = {layer.compute_dtype for layer in gan.discriminator.layers[1:-1]}
    assert COMPUTE_DTYPE[precision] in compute
    assert all(v.dtype == "float32" for v in gan.generator.trainable_variables)
    is_scaled = isinstance(gan.generator_optimizer, keras.optimizers.LossScaleOptimizer)
    assert is_scaled == (precision == "mixed_float16")
    before = [v.numpy().copy() for v in gan.generator.trainable_variables]
    for _ in range(3):  # float16 may skip a first step whose scaled gradients overflow
        out = gan.train_step(*_batch(gan, config))
    assert all(np.isfinite(float(value)) for value in out.values()), out
    assert all(value.dtype == tf.float32 for value in out.values())
    after = gan.generator.trainable_variables
    assert any(not np.allclose(a, b.numpy()) for a, b in zip(before, after, strict=True))
    labels = tf.zeros([2], tf.int32) if gan.conditional else None
    samples = gan.generate(tf.zeros([2, config.latent_dim]), labels)
    assert samples.dtype == tf.float32 and samples.shape == (2, 28, 28, 1)
    assert keras.config.dtype_policy().name == "float32"  # the global policy is restored


def test_gradient_penalty_matches_float32_under_bfloat16():
    float32_config = _config("wgan_gp", "float32")
    mixed_config = _config("wgan_gp", "mixed_bfloat16")
    _, critic32 = build_networks(float32_config, (28, 28, 1))
    _, critic16 = build_networks(mixed_config, (28, 28, 1))
    critic16.set_weights(critic32.get_weights())
    real = tf.random.stateless_uniform([8, 28, 28, 1], seed=[3, 4], minval=-1, maxval=1)
    fake = tf.random.stateless_uniform([8, 28, 28, 1], seed=[5, 6], minval=-1, maxval=1)
    alpha = tf.random.stateless_uniform([8], seed=[7, 8])
    penalty32 = regularizers.gradient_penalty(critic32, real, fake, alpha)
    penalty16 = regularizers.gradient_penalty(critic16, real, fake, alpha)
    assert penalty16.dtype == tf.float32
    assert float(penalty16) == pytest.approx(float(penalty32), rel=0.05)


def test_dtype_policy_context_restores_the_global_policy():
    with dtype_policy("mixed_bfloat16"):
        assert keras.config.dtype_policy().name == "mixed_bfloat16"
    assert keras.config.dtype_policy().name == "float32"
    with pytest.raises(ValueError, match="unknown --precision 'half'"):
        gan_tf.make_config(precision="half")
