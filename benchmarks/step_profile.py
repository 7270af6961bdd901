"""Where a train step's time goes: the step against its parts, for any config.

    python benchmarks/step_profile.py --set=model=dcgan,dataset=emoji [--set=...]
        [--rounds=5] [--steps=5] [--threads=0]

Each ``--set`` is one config (``key=value`` pairs as ``gan_tf.make_config`` takes them;
``arch`` as ``arch=base_width:32;max_width:256``). For each, in one process and on
one fixed real-shaped batch, it times (medians of ``--rounds`` blocks of ``--steps``
calls, every part a ``tf.function`` traced before timing):

* ``step``: the library's whole train step (``GAN.run_step``: D update(s), G update,
  penalties, EMA);
* ``G forward``: the generator on the batch's noise (``training=True``);
* ``G forward+backward``: the gradient of the mean output w.r.t. G's weights;
* ``D forward+backward``: the gradient of the mean logit on real and fake batches
  w.r.t. D's weights (what a plain D update computes);
* ``penalty``: each configured penalty term (R1, R2, gradient penalty) with its
  gradient w.r.t. D's weights.

with each part's FLOPs from the layer shapes (``_setup.forward_flops``) and its
achieved GFLOP/s. Run it on an idle machine; the figures are per step, not totals.
"""

from __future__ import annotations

import _setup  # quiet TF logs; gan_tf importable from the checkout
from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_multi_string("set", None, "One config as key=value,... (repeatable).")
flags.DEFINE_integer("rounds", 5, "Timing blocks per part (the median is printed).")
flags.DEFINE_integer("steps", 5, "Calls per block.")
flags.DEFINE_integer("threads", 0, "TensorFlow intra/inter-op threads (0 = TF's choice).")


def parse(text: str) -> dict:
    values = {}
    for item in filter(None, text.split(",")):
        key, _, value = item.partition("=")
        if key == "arch":
            values[key] = dict(pair.split(":") for pair in value.split(";") if pair)
        else:
            values[key] = _number(value)
    return values


def _number(value: str):
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value


def profile(overrides: dict) -> list[tuple[str, float, float]]:
    """``(part, ms, flops)`` rows for one config."""
    import tensorflow as tf

    import gan_tf
    from gan_tf import data, distribute, regularizers
    from gan_tf.build import build_gan, with_precision

    config = with_precision(gan_tf.make_config(**overrides))
    shape = data.image_shape_of(config.dataset, config.image_size, config.data_dir)
    gan = build_gan(config, shape)
    generator, discriminator = gan.generator, gan.discriminator
    batch = config.batch_size
    real = tf.random.stateless_uniform([batch * config.n_critic, *shape], [1, 2], -1.0, 1.0)
    noise = tf.random.stateless_normal([batch, config.latent_dim], [3, 4])
    g_flops = _setup.forward_flops(generator) * batch
    d_flops = _setup.forward_flops(discriminator) * batch

    @tf.function
    def g_forward():
        return generator(noise, training=True)

    @tf.function
    def g_forward_backward():
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.cast(generator(noise, training=True), tf.float32))
        return tape.gradient(loss, generator.trainable_variables)

    fake = g_forward()

    @tf.function
    def d_forward_backward():
        with tf.GradientTape() as tape:
            scores = discriminator(real[:batch], training=True)
            loss = tf.reduce_mean(scores) - tf.reduce_mean(discriminator(fake, training=True))
        return tape.gradient(loss, discriminator.trainable_variables)

    def timed(function):
        return _setup.median_ms(function, FLAGS.rounds, FLAGS.steps)

    rows = [
        ("step", timed(lambda: gan.run_step(real)), None),
        ("G forward", timed(g_forward), g_flops),
        ("G forward+backward", timed(g_forward_backward), 3 * g_flops),
        ("D forward+backward (real + fake)", timed(d_forward_backward), 6 * d_flops),
    ]
    critic = lambda x: discriminator(x, training=True)  # noqa: E731
    for name, penalty in regularizers.PENALTIES.items():
        if not getattr(config, penalty.weight_field):
            continue
        draws = distribute.Draws(tf.constant([5, 6], tf.int64))

        @tf.function
        def penalty_step(term=penalty.term, draws=draws):
            with tf.GradientTape() as tape:
                value = term(critic, real[:batch], fake, draws)
            return tape.gradient(value, discriminator.trainable_variables)

        rows.append((name, timed(penalty_step), 6 * d_flops))
    return rows


def main(argv):
    del argv
    if FLAGS.threads:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(FLAGS.threads)
        tf.config.threading.set_inter_op_parallelism_threads(FLAGS.threads)
    for text in FLAGS.set or ["model=dcgan,dataset=emoji"]:
        rows = profile(parse(text))
        print(f"\n{text}")
        print("| part | ms | GFLOP | GFLOP/s |")
        print("|---|---|---|---|")
        for part, ms, flops in rows:
            gflop = "—" if flops is None else f"{flops / 1e9:.1f}"
            rate = "—" if flops is None else f"{flops / 1e6 / ms:.0f}"
            print(f"| {part} | {ms:.0f} | {gflop} | {rate} |")


if __name__ == "__main__":
    app.run(main)
