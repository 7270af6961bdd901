"""Sub-pixel stride-2 convolutions against TensorFlow's stock ops, per layer and per step.

    python benchmarks/strided_conv.py [--configs=emoji64,fashion_mnist,emoji64_w16,emoji128]
        [--steps=7] [--rounds=3] [--threads=0]

1. **Layers**: DCGAN's 64 px generator layers (``base_width=32``, batch 32) and its
   28 px ones: the stride-2 transposed convolution as ``tf.nn.conv2d_transpose``
   (``Conv2DBackpropInput``) against :func:`gan_tf.models.subpixel.conv2d_transpose`,
   forward and forward+backward, medians of ``--steps`` calls; the FLOPs are the
   transposed convolution's multiply-adds x 2.
2. **Train step**: the library's whole default train step (``GAN.run_step``) with
   ``--arch=subpixel=true`` (the default) and ``false`` (Keras' stock layers), built
   from the same seed, timed in alternating rounds of ``--steps`` steps in one process;
   medians over ``--rounds`` and the ratio stock / sub-pixel.

Run it on an idle machine; docs/benchmarks.md ("Sub-pixel stride-2 convolutions")
has the figures.
"""

from __future__ import annotations

import statistics

import _setup
from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_list(
    "configs", ["emoji64", "fashion_mnist", "emoji64_w16", "emoji128"], "Train steps to time."
)
flags.DEFINE_integer("steps", 7, "Calls per timing block.")
flags.DEFINE_integer("rounds", 3, "Alternating blocks per arm of a train step (median).")
flags.DEFINE_integer("threads", 0, "TensorFlow intra/inter-op threads (0 = TF's choice).")
flags.DEFINE_bool("layers", True, "Time the single layers too.")

CONFIGS = {
    "emoji64": {"model": "dcgan", "dataset": "emoji"},
    "emoji64_w16": {"model": "dcgan", "dataset": "emoji", "arch": {"base_width": 16}},
    "emoji128": {"model": "dcgan", "dataset": "emoji", "image_size": 128},
    "fashion_mnist": {"model": "dcgan", "dataset": "fashion_mnist"},
    "emoji64_paper": {"model": "dcgan", "dataset": "emoji", "recipe": "paper"},
}
# (input side, in channels, out channels): DCGAN's generator at 64 px (base_width 32)
# and at 28 px (the Fashion-MNIST recipe's), kernel 5, batch 32
LAYERS = [(4, 512, 256), (8, 256, 128), (16, 128, 64), (32, 64, 3), (7, 256, 128), (14, 128, 1)]


def layer_rows(batch: int = 32, kernel: int = 5) -> list[tuple]:
    import tensorflow as tf

    from gan_tf.models import subpixel

    rows = []
    for side, cin, cout in LAYERS:
        x = tf.random.stateless_normal((batch, side, side, cin), (1, side))
        w = tf.random.stateless_normal((kernel, kernel, cout, cin), (2, side)) * 0.02
        out = (batch, 2 * side, 2 * side, cout)

        def stock(x, w, out=out):
            return tf.nn.conv2d_transpose(x, w, out, 2, "SAME")

        def both(op, x=x, w=w):
            @tf.function
            def forward():
                return op(x, w)

            @tf.function
            def forward_backward():
                with tf.GradientTape() as tape:
                    tape.watch([x, w])
                    loss = tf.reduce_sum(tf.square(op(x, w)))
                return tape.gradient(loss, [x, w])

            return (
                _setup.median_ms(forward, FLAGS.steps, 1),
                _setup.median_ms(forward_backward, FLAGS.steps, 1),
            )

        flops = 2 * batch * side * side * cin * cout * kernel * kernel
        name = f"{side}x{side}x{cin} -> {2 * side}x{2 * side}x{cout}"
        rows.append((name, flops, *both(stock), *both(subpixel.conv2d_transpose)))
    return rows


def step_row(overrides: dict) -> tuple[float, float]:
    import keras
    import tensorflow as tf

    import gan_tf
    from gan_tf import data
    from gan_tf.build import build_gan, with_precision

    gans = {}
    for flag in (True, False):
        arch = {**overrides.get("arch", {}), "subpixel": flag}
        config = with_precision(gan_tf.make_config(**{**overrides, "arch": arch}))
        shape = data.image_shape_of(config.dataset, config.image_size, config.data_dir)
        keras.utils.set_random_seed(0)
        gans[flag] = build_gan(config, shape)
    real = tf.random.stateless_uniform([config.batch_size, *shape], [1, 2], -1.0, 1.0)
    times = {True: [], False: []}
    for _ in range(FLAGS.rounds):
        for flag in (True, False):
            times[flag].append(_setup.median_step_seconds(gans[flag], (real,), FLAGS.steps))
    return 1000 * statistics.median(times[True]), 1000 * statistics.median(times[False])


def main(argv):
    del argv
    import tensorflow as tf

    if FLAGS.threads:
        tf.config.threading.set_intra_op_parallelism_threads(FLAGS.threads)
        tf.config.threading.set_inter_op_parallelism_threads(FLAGS.threads)
    if FLAGS.layers:
        print(
            "| transposed conv (5x5, batch 32) | GFLOP | stock fwd ms | sub-pixel fwd ms | "
            "stock fwd+bwd ms | sub-pixel fwd+bwd ms | fwd GFLOP/s stock / sub-pixel |"
        )
        print("|---|---|---|---|---|---|---|")
        for name, flops, fwd, bwd, sub_fwd, sub_bwd in layer_rows():
            rates = f"{flops / 1e6 / fwd:.0f} / {flops / 1e6 / sub_fwd:.0f}"
            print(
                f"| {name} | {flops / 1e9:.2f} | {fwd:.1f} | {sub_fwd:.1f} | {bwd:.1f} | "
                f"{sub_bwd:.1f} | {rates} |"
            )
    print("\n| train step | sub-pixel ms | stock ms | stock / sub-pixel |")
    print("|---|---|---|---|")
    for name in FLAGS.configs:
        fast, stock = step_row(CONFIGS[name])
        print(f"| {name} | {fast:.0f} | {stock:.0f} | {stock / fast:.2f}x |", flush=True)


if __name__ == "__main__":
    app.run(main)
