"""gan_tf.build: from a config to a trainable GAN. Networks (the variant's or your own,
checked), precision and mixed precision, optimizers and their schedules, losses,
penalties and the step options."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import gan_tf
from gan_tf import distribute, losses, models, parts, regularizers
from gan_tf.build import build_gan, build_networks, dtype_policy, make_optimizer, with_precision
from gan_tf.distribute import Draws
from gan_tf.errors import ConfigError

COMPUTE_DTYPE = {"mixed_bfloat16": "bfloat16", "mixed_float16": "float16", "float32": "float32"}
CORE_MODELS = ("cgan", "dcgan", "gan", "wgan", "wgan_gp")  # the variants the old suite ran


def tiny_networks(latent_dim=2, shape=(2,), logits=(1,)):
    """Your own pair: noise [B, latent_dim] -> samples of ``shape`` -> [B, *logits]."""
    size = int(np.prod(shape))
    generator = keras.Sequential(
        [keras.Input((latent_dim,)), keras.layers.Dense(size), keras.layers.Reshape(shape)]
    )
    discriminator = keras.Sequential(
        [
            keras.Input(shape),
            keras.layers.Flatten(),
            keras.layers.Dense(4, activation="tanh"),
            keras.layers.Dense(int(np.prod(logits))),
            keras.layers.Reshape(logits),
        ]
    )
    return generator, discriminator


def _pair(generator, discriminator):
    return {"generator": generator, "discriminator": discriminator}


def snapshot(model):
    return [variable.numpy().copy() for variable in model.trainable_variables]


# --- precision -------------------------------------------------------------------------


def _small_arch(model):
    """The variant's width knobs at 16 (precision is about dtypes, not widths)."""
    knobs = models.get_model(model).architecture
    return {
        key: 16
        for key, value in knobs.items()
        if key.endswith("width") and isinstance(value, int) and value
    }


@pytest.mark.parametrize(
    "hardware, precision",
    [
        (distribute.Hardware("GPU", (7, 5)), "mixed_float16"),
        (distribute.Hardware("CPU", cpu_flags=frozenset({"avx512_bf16"})), "mixed_bfloat16"),
        (distribute.Hardware("CPU", cpu_flags=frozenset({"avx2"})), "float32"),
    ],
    ids=["T4", "cpu-bf16", "cpu-no-bf16"],
)
def test_auto_precision_builds_what_the_hardware_gets(monkeypatch, hardware, precision):
    """build_gan and build_networks resolve precision=auto from the device description."""
    monkeypatch.setattr(distribute, "detect_hardware", lambda strategy=None: hardware)
    config = gan_tf.make_config(model="gan", batch_size=8, latent_dim=8)
    assert config.precision == "auto"
    gan = build_gan(config, (28, 28, 1))
    compute = {layer.compute_dtype for layer in gan.discriminator.layers[1:-1]}
    assert COMPUTE_DTYPE[precision] in compute
    is_scaled = isinstance(gan.generator_optimizer, keras.optimizers.LossScaleOptimizer)
    assert is_scaled == (precision == "mixed_float16")
    generator, _ = build_networks(config, (28, 28, 1))
    assert COMPUTE_DTYPE[precision] in {layer.compute_dtype for layer in generator.layers[1:-1]}
    assert with_precision(config).precision == precision
    explicit = gan_tf.make_config(model="gan", precision="float32")
    assert with_precision(explicit) is explicit


def _precision_cases():
    for model in models.model_names():
        for precision in ("mixed_bfloat16", "mixed_float16"):
            # float16 (and bfloat16 on CPUs without AVX512_BF16/AMX) is emulated on CPUs
            # (slow): the wgan* cases run with `make test-slow`, as do variants beyond
            # the core ones
            slow = model not in CORE_MODELS or model.startswith("wgan")
            marks = [pytest.mark.slow] if slow else []
            yield pytest.param(model, precision, marks=marks, id=f"{model}-{precision}")


@pytest.mark.parametrize("model, precision", list(_precision_cases()))
def test_every_variant_trains_under_each_precision(model, precision):
    config = gan_tf.make_config(
        model=model, precision=precision, batch_size=8, latent_dim=8, arch=_small_arch(model)
    )
    try:
        gan, shape = build_gan(config, (28, 28, 1), 10), (28, 28, 1)
    except ConfigError as error:  # a variant that cannot build 28x28 (e.g. ResNets)
        assert "image_size" in error.params, error
        gan, shape = build_gan(config, (32, 32, 3), 10), (32, 32, 3)
    compute = {layer.compute_dtype for layer in gan.discriminator.layers[1:-1]}
    assert COMPUTE_DTYPE[precision] in compute
    assert all(v.dtype == "float32" for v in gan.generator.trainable_variables)
    assert all(v.dtype == "float32" for v in gan.discriminator.trainable_variables)
    is_scaled = isinstance(gan.generator_optimizer, keras.optimizers.LossScaleOptimizer)
    assert is_scaled == (precision == "mixed_float16")
    count = config.batch_size * config.n_critic
    images = tf.random.stateless_uniform([count, *shape], seed=[1, 2], minval=-1, maxval=1)
    labels = tf.range(count) % 10
    if gan.needs_labels and not gan.conditional:  # semi-supervised: every other unlabelled
        labels = tf.where(labels % 2 == 0, labels, -1)
    batch = (images, labels) if gan.needs_labels else (images,)
    before = snapshot(gan.generator)
    for _ in range(6):  # float16 skips the first steps while their scaled gradients overflow
        out = gan.run_step(*batch)
        after = snapshot(gan.generator)
        if any(not np.allclose(a, b) for a, b in zip(before, after, strict=True)):
            break
    else:
        pytest.fail("the generator never moved")
    assert all(np.isfinite(float(value)) for value in out.values()), out
    assert all(value.dtype == tf.float32 for value in out.values())
    labels = tf.zeros([2], tf.int32) if gan.conditional else None
    samples = gan.generate(tf.zeros([2, config.latent_dim]), labels)
    assert samples.dtype == tf.float32 and samples.shape == (2, *shape)
    assert keras.config.dtype_policy().name == "float32"  # the global policy is restored


def test_gradient_penalty_matches_float32_under_bfloat16():
    float32_config = gan_tf.make_config(model="wgan_gp", precision="float32")
    mixed_config = gan_tf.make_config(model="wgan_gp", precision="mixed_bfloat16")
    _, critic32 = build_networks(float32_config, (28, 28, 1))
    _, critic16 = build_networks(mixed_config, (28, 28, 1))
    assert critic16.outputs[0].dtype == "float32"  # cast back by build_networks
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
    with pytest.raises(RuntimeError), dtype_policy("mixed_float16"):
        raise RuntimeError("restored on errors too")
    assert keras.config.dtype_policy().name == "float32"


# --- your own networks -----------------------------------------------------------------


def test_your_own_networks_train_a_step():
    config = gan_tf.make_config(latent_dim=3, learning_rate=1e-2)
    generator, discriminator = tiny_networks(latent_dim=3, shape=(4, 4, 1))
    gan = build_gan(config, (4, 4, 1), generator=generator, discriminator=discriminator)
    assert gan.generator is generator and gan.discriminator is discriminator
    before_g, before_d = snapshot(generator), snapshot(discriminator)
    out = gan.run_step(tf.random.stateless_uniform([6, 4, 4, 1], seed=[1, 1]))
    assert set(out) == set(gan.metric_names) and all(np.isfinite(float(v)) for v in out.values())
    for before, network in ((before_g, generator), (before_d, discriminator)):
        assert all(not np.array_equal(a, b) for a, b in zip(before, snapshot(network), strict=True))
    assert gan.generate(tf.zeros([2, 3])).shape == (2, 4, 4, 1)


@pytest.mark.parametrize(
    "networks, params, fragment",
    [
        (lambda: tiny_networks(latent_dim=5), ("generator", "latent_dim"), "latent_dim=2"),
        (lambda: tiny_networks(shape=(3,)), ("generator",), "makes (3,) samples"),
        (lambda: tiny_networks(logits=(2,)), ("discriminator",), "must return [B, 1] logits"),
        (lambda: tiny_networks(logits=(1, 1)), ("discriminator",), "[B, 1] logits"),
        (lambda: (tiny_networks()[0], None), ("generator",), "both generator and discriminator"),
        (lambda: (None, tiny_networks()[1]), ("generator",), "both generator and discriminator"),
    ],
    ids=["noise_shape", "output_shape", "two_logits", "logit_rank", "only_g", "only_d"],
)
def test_your_own_networks_are_checked(networks, params, fragment):
    generator, discriminator = networks()
    config = gan_tf.make_config(latent_dim=2)
    with pytest.raises(ConfigError) as caught:
        build_gan(config, (2,), generator=generator, discriminator=discriminator)
    assert fragment in str(caught.value) and caught.value.params == params


def test_conditional_model_needs_networks_that_take_labels():
    generator, discriminator = tiny_networks()
    with pytest.raises(ConfigError, match=r"takes 1 input\(s\); model=cgan needs") as caught:
        build_gan(
            gan_tf.make_config(model="cgan", latent_dim=2),
            (2,),
            3,
            **_pair(generator, discriminator),
        )
    assert caught.value.params == ("generator",)


def test_conditional_models_need_labels():
    with pytest.raises(ConfigError, match="conditional and needs labelled data") as caught:
        build_gan(gan_tf.make_config(model="cgan"), (28, 28, 1), None)
    assert caught.value.params == ("model", "dataset")


# --- losses, penalties and step options from the config --------------------------------


@pytest.mark.parametrize(
    "overrides, names",
    [
        ({}, ()),
        ({"gp_weight": 10.0}, ("gradient_penalty",)),
        ({"r1_weight": 0.5}, ("r1_penalty",)),
        ({"r1_weight": 2.0, "gp_weight": 1.0}, ("gradient_penalty", "r1_penalty")),
    ],
)
def test_penalties_come_from_their_weight_fields(overrides, names):
    config = gan_tf.make_config(loss="wasserstein", latent_dim=2, **overrides)
    gan = build_gan(config, (2,), **_pair(*tiny_networks()))
    penalties = [part for part in gan.parts if isinstance(part, parts.Penalty)]
    assert tuple(penalty.name for penalty in penalties) == names
    for penalty in penalties:
        field = regularizers.PENALTIES[penalty.name].weight_field
        assert penalty.weight == overrides[field]
        assert penalty.term is regularizers.PENALTIES[penalty.name].term
    assert gan.metric_names[4:] == names
    out = gan.run_step(tf.random.stateless_normal([4, 2], seed=[2, 2]))
    assert tuple(out)[4:] == names
    assert all(float(out[name]) >= 0.0 and np.isfinite(float(out[name])) for name in names)


def test_step_options_and_losses_follow_the_config():
    config = gan_tf.make_config(
        model="wgan",
        latent_dim=2,
        label_flip=0.1,
        instance_noise=0.3,
        ema=0.99,
        seed=7,
    )
    gan = build_gan(config, (2,), **_pair(*tiny_networks()))
    by_type = {type(part): part for part in gan.parts}
    assert len(by_type) == len(gan.parts)
    assert set(by_type) == {parts.WeightClipping, parts.LabelFlip, parts.InstanceNoise, parts.EMA}
    assert (gan.n_critic, by_type[parts.WeightClipping].clip_value) == (5, 0.01)
    assert by_type[parts.LabelFlip].rate == 0.1
    noise = by_type[parts.InstanceNoise]
    assert (noise.std, by_type[parts.EMA].decay, gan.simultaneous) == (0.3, 0.99, False)
    assert float(noise.current_std()) == pytest.approx(0.3)  # at step 0
    pair = gan.loss_pair
    assert pair.sigmoid_outputs is False and pair.generator_uses_real is False
    assert pair.generator_loss is losses.wasserstein_generator_loss
    assert pair.discriminator_loss is losses.wasserstein_discriminator_loss
    assert isinstance(gan.discriminator_optimizer, keras.optimizers.RMSprop)
    assert gan.generator_ema is not None and gan.latent_dim == 2 and gan.num_classes is None
    assert gan.seed == 7  # the step's random numbers are stateless functions of (seed, step)

    plain = build_gan(
        gan_tf.make_config(
            latent_dim=2,
            update="simultaneous",
            label_smoothing=0.1,
            fake_label_smoothing=0.05,
            recipe="paper",
        ),
        (2,),
        **_pair(*tiny_networks()),
    )
    assert plain.simultaneous and plain.parts == ()  # no clipping, no EMA
    assert plain.loss_pair.sigmoid_outputs and plain.generator_ema is None
    # two-sided label smoothing: the step's D loss is the smoothed BCE of its own batch
    real = tf.random.stateless_normal([4, 2], seed=[6, 6])
    fake = plain.generator(Draws(tf.constant([plain.seed, 0], tf.int64)).normal([4, 2]))
    logits = dict(real_logits=plain.discriminator(real), fake_logits=plain.discriminator(fake))
    smoothed = float(
        losses.bce_discriminator_loss(**logits, label_smoothing=0.1, fake_label_smoothing=0.05)
    )
    assert smoothed != pytest.approx(float(losses.bce_discriminator_loss(**logits)), rel=1e-3)
    out = plain.run_step(real)
    assert float(out["discriminator_loss"]) == pytest.approx(smoothed, rel=1e-5)
    assert isinstance(plain.generator_optimizer, keras.optimizers.Adam)
    relativistic = build_gan(
        gan_tf.make_config(latent_dim=2, loss="relativistic"), (2,), **_pair(*tiny_networks())
    )
    assert relativistic.loss_pair.generator_uses_real
    assert relativistic.loss_pair.generator_loss is losses.relativistic_generator_loss


# --- optimizers: TTUR and linear decay -------------------------------------------------


def test_ttur_learning_rates_and_adam_betas():
    config = gan_tf.make_config(
        latent_dim=2, learning_rate=1e-4, d_learning_rate=4e-4, beta_1=0.3, beta_2=0.95
    )
    gan = build_gan(config, (2,), **_pair(*tiny_networks()))
    gan.run_step(tf.random.stateless_normal([4, 2], seed=[3, 3]))
    assert float(gan.generator_optimizer.learning_rate) == pytest.approx(1e-4, rel=1e-6)
    assert float(gan.discriminator_optimizer.learning_rate) == pytest.approx(4e-4, rel=1e-6)
    assert gan.generator_optimizer.beta_1 == pytest.approx(0.3)
    assert gan.discriminator_optimizer.beta_2 == pytest.approx(0.95)


def test_sgd_with_momentum_hand_computed():
    """Keras' SGD: v <- m v - lr g, w <- w + v. With lr 0.1, m 0.5 and g = 2 twice,
    w = 1 -> 0.8 -> 0.5."""
    config = gan_tf.make_config(optimizer="sgd", momentum=0.5, learning_rate=0.1, batch_size=128)
    optimizer = make_optimizer(config, config.learning_rate, decay_steps=10)
    assert isinstance(optimizer, keras.optimizers.SGD) and config.batch_size == 128
    weight = keras.Variable(1.0)
    values = []
    for _ in range(2):
        optimizer.apply_gradients([(tf.constant(2.0), weight)])
        values.append(float(weight.numpy()))
    assert values == pytest.approx([0.8, 0.5], rel=1e-6)
    rmsprop = make_optimizer(gan_tf.make_config(optimizer="rmsprop", momentum=0.3), 1e-3, 10)
    assert rmsprop.momentum == pytest.approx(0.3)


def test_linear_decay_reaches_zero_at_the_last_step_for_both_optimizers():
    """T = 10 generator steps with n_critic = 2: after k steps the generator's rate is
    lr * (1 - k/T) and the discriminator's, after its 2k updates, lr_d * (1 - 2k/(2T))."""
    total, n_critic, lr, lr_d = 10, 2, 2e-4, 4e-4
    config = gan_tf.make_config(
        loss="wasserstein",
        latent_dim=2,
        n_critic=n_critic,
        learning_rate=lr,
        d_learning_rate=lr_d,
        lr_decay="linear",
    )
    gan = build_gan(config, (2,), total_steps=total, **_pair(*tiny_networks()))
    real = tf.random.stateless_normal([4 * n_critic, 2], seed=[4, 4])
    expected = {0: (2e-4, 4e-4), 3: (1.4e-4, 2.8e-4), 10: (0.0, 0.0)}  # hand values
    for k in range(total + 1):
        if k in expected:
            g_rate, d_rate = expected[k]
            assert g_rate == pytest.approx(lr * (1 - k / total))
            assert d_rate == pytest.approx(lr_d * (1 - k * n_critic / (total * n_critic)))
            assert int(gan.discriminator_optimizer.iterations.numpy()) == k * n_critic
            assert float(gan.generator_optimizer.learning_rate) == pytest.approx(
                g_rate, rel=1e-5, abs=1e-12
            )
            assert float(gan.discriminator_optimizer.learning_rate) == pytest.approx(
                d_rate, rel=1e-5, abs=1e-12
            )
        if k < total:
            gan.run_step(real)


def test_make_optimizer_schedules_and_scales_float16_losses():
    config = gan_tf.make_config(optimizer="rmsprop", precision="mixed_float16")
    optimizer = make_optimizer(config, 1e-3, decay_steps=5)
    assert isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
    assert isinstance(optimizer.inner_optimizer, keras.optimizers.RMSprop)
    assert float(optimizer.learning_rate) == pytest.approx(1e-3)
    decayed = make_optimizer(gan_tf.make_config(lr_decay="linear"), 1e-3, decay_steps=4)
    assert isinstance(decayed, keras.optimizers.Adam)
    assert float(decayed.learning_rate) == pytest.approx(1e-3)
    decayed.iterations.assign(1)
    assert float(decayed.learning_rate) == pytest.approx(7.5e-4)  # 1e-3 * (1 - 1/4)
    decayed.iterations.assign(4)
    assert float(decayed.learning_rate) == pytest.approx(0.0, abs=1e-12)
    floored = make_optimizer(
        gan_tf.make_config(lr_decay="linear", lr_decay_to=0.25), 1e-3, decay_steps=4
    )
    floored.iterations.assign(1)  # 1e-3 * (0.25 + 0.75 * (1 - 1/4))
    assert float(floored.learning_rate) == pytest.approx(8.125e-4, rel=1e-5)
    for step in (4, 9):  # held at 0.25 x from the planned last step on
        floored.iterations.assign(step)
        assert float(floored.learning_rate) == pytest.approx(2.5e-4, rel=1e-5)


def test_initialize_from_data_standardises_the_ssgan_discriminator_only():
    from gan_tf import data
    from gan_tf.build import INIT_EXAMPLES, initialize_from_data
    from gan_tf.models.layers import WeightNormDense

    dataset = data.load_dataset("mnist_5k", with_labels=True)
    config = gan_tf.make_config(model="ssgan", dataset="mnist_5k", precision="float32")
    _, discriminator = build_networks(config, dataset.image_shape, dataset.num_classes)
    assert initialize_from_data(discriminator, dataset)
    first = next(layer for layer in discriminator.layers if isinstance(layer, WeightNormDense))
    images = data.first_examples(dataset, INIT_EXAMPLES).reshape(INIT_EXAMPLES, -1)
    pre = images @ tf.math.l2_normalize(first.direction, axis=0) * first.scale + first.bias
    np.testing.assert_allclose(np.mean(pre, 0), 0.0, atol=1e-3)
    np.testing.assert_allclose(np.std(pre, 0), 1.0, rtol=1e-3)
    assert not np.allclose(first.scale.numpy(), 1.0)  # no longer the builder's unit norms

    _, dcgan_discriminator = build_networks(gan_tf.make_config(model="dcgan"), (28, 28, 1))
    assert not initialize_from_data(dcgan_discriminator, dataset)
