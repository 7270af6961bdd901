"""Shared set-up and helpers of the benchmark scripts: quiet TensorFlow logs, gan_tf
importable from the checkout (``python benchmarks/x.py`` without ``pip install``), step
timing (train steps and any call), the TF-tutorial-style plain train step, peak memory and
FLOP counts."""

import os
import resource
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow is imported
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)


def median_step_seconds(gan, args, steps: int, warmup: int = 2) -> float:
    """Median wall time of ``gan.run_step(*args)`` over ``steps`` calls after ``warmup``
    (tracing) calls; each call waits for its results."""
    import statistics
    import time

    durations = []
    for index in range(steps + warmup):
        started = time.perf_counter()
        [float(value) for value in gan.run_step(*args).values()]
        if index >= warmup:
            durations.append(time.perf_counter() - started)
    return statistics.median(durations)


def median_ms(function, rounds: int, steps: int) -> float:
    """Median milliseconds a call of ``function`` takes: ``rounds`` blocks of ``steps``
    calls after two (tracing) calls, each block waiting for its last results."""
    import statistics
    import time

    import tensorflow as tf

    function()
    function()
    blocks = []
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(steps):
            result = function()
        for value in tf.nest.flatten(result):
            if hasattr(value, "numpy"):
                value.numpy()
        blocks.append((time.perf_counter() - started) / steps)
    return 1000 * statistics.median(blocks)


def plain_step_fn(generator, discriminator, latent_dim, learning_rate, beta_1):
    """A train step as the TF DCGAN tutorial writes it (its own optimizers)."""
    import keras
    import tensorflow as tf

    cross_entropy = keras.losses.BinaryCrossentropy(from_logits=True)
    generator_optimizer = keras.optimizers.Adam(learning_rate, beta_1=beta_1)
    discriminator_optimizer = keras.optimizers.Adam(learning_rate, beta_1=beta_1)

    @tf.function
    def step(images):
        noise = tf.random.normal([tf.shape(images)[0], latent_dim])
        with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
            generated = generator(noise, training=True)
            real_output = discriminator(images, training=True)
            fake_output = discriminator(generated, training=True)
            gen_loss = cross_entropy(tf.ones_like(fake_output), fake_output)
            disc_loss = cross_entropy(tf.ones_like(real_output), real_output) + cross_entropy(
                tf.zeros_like(fake_output), fake_output
            )
        generator_variables = generator.trainable_variables
        discriminator_variables = discriminator.trainable_variables
        generator_optimizer.apply_gradients(
            zip(gen_tape.gradient(gen_loss, generator_variables), generator_variables, strict=True)
        )
        discriminator_optimizer.apply_gradients(
            zip(
                disc_tape.gradient(disc_loss, discriminator_variables),
                discriminator_variables,
                strict=True,
            )
        )
        return gen_loss, disc_loss

    return step


def peak_memory_mb() -> float:
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        return tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _leaf_layers(model):
    """Every layer of ``model`` with nested models and wrappers (spectral norm) opened."""
    for layer in model.layers:
        if hasattr(layer, "layers"):
            yield from _leaf_layers(layer)
        elif hasattr(layer, "layer"):  # keras.layers.Wrapper
            yield layer.layer
        else:
            yield layer


def forward_flops(model) -> int:
    """FLOPs of one example's forward pass, counted from the layer shapes: 2 per
    multiply-add of every Dense, Conv2D and Conv2DTranspose (normalisation,
    activations and bias adds are not counted; they are < 2 % here)."""
    import keras

    total = 0
    for layer in _leaf_layers(model):
        if isinstance(layer, keras.layers.Dense):
            total += 2 * int(layer.kernel.shape[0]) * int(layer.kernel.shape[1])
        elif isinstance(layer, (keras.layers.Conv2D, keras.layers.Conv2DTranspose)):
            height, width = (int(side) for side in layer.output.shape[1:3])
            if isinstance(layer, keras.layers.Conv2DTranspose):  # one kernel per input pixel
                height, width = height // layer.strides[0], width // layer.strides[1]
            kernel_h, kernel_w, channels_a, channels_b = (int(d) for d in layer.kernel.shape)
            total += 2 * height * width * kernel_h * kernel_w * channels_a * channels_b
    return total


def train_step_flops(
    generator,
    discriminator,
    batch_size: int,
    update: str = "alternating",
    penalties: float = 0,
    n_critic: int = 1,
) -> int:
    """FLOPs of one train step (n_critic = 1) from the forward counts G and D per example.

    Backward costs 2x forward for a network whose weights get gradients (weight
    and input gradients), 1x for one that is only differentiated through.
    Alternating: D update G + 2D (forward) + 4D (backward on 2B), G update G + D
    forward + D (input gradients) + 2G: 4G + 8D per example. Simultaneous (one
    forward pass, two tapes): G + 2D + 4D + D + 2G = 3G + 7D. Reuse (alternating on one
    generator pass): G + 2D + 4D, then D + D + 2G = 3G + 8D.

    A gradient penalty (R1, R2, WGAN-GP) adds about 6D per example and D update: a
    forward and an input-gradient pass (2D), and the weight gradient of that
    gradient, about twice both (4D). ``n_critic`` D updates each cost G + 6D
    (+ the penalties); the G update costs 3G + 2D. ``penalties`` may be fractional:
    a lazy penalty (``penalty_every=N``) counts 1/N.
    """
    g, d = forward_flops(generator), forward_flops(discriminator)
    if update == "simultaneous":
        return round(batch_size * (3 * g + 7 * d + 6 * d * penalties))
    critic = g + 6 * d + 6 * d * penalties
    generator_update = 2 * g + 2 * d if update == "reuse" else 3 * g + 2 * d
    return round(batch_size * (n_critic * critic + generator_update))


def matmul_peak_flops(dtype: str = "float32", size: int = 2048, repeats: int = 7) -> float:
    """The FLOP/s a large square matmul reaches in ``dtype`` on the default device:
    the practical peak that train steps are compared with (median of ``repeats``)."""
    import statistics
    import time

    import tensorflow as tf

    a = tf.cast(tf.random.stateless_normal([size, size], seed=[1, 2]), dtype)
    matmul = tf.function(lambda x: tf.reduce_sum(tf.cast(tf.linalg.matmul(x, x)[0, 0], "float32")))
    float(matmul(a))
    durations = []
    for _ in range(repeats):
        started = time.perf_counter()
        float(matmul(a))
        durations.append(time.perf_counter() - started)
    return 2 * size**3 / statistics.median(durations)
