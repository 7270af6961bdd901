"""Time to sample N images from a trained run and score their classifier-FD.

    python benchmarks/sample_and_fd.py [--run_dir=runs/baseline/dcgan] [--num_samples=10000]
                                       [--repeats=3]

Builds the evaluator once (reference images and their classifier features, as
``--eval_every`` does), then times, ``--repeats`` times: sampling ``--num_samples``
images from the run's generator (uint8, batches of 500) and computing the
``fd_classifier`` of them against the reference. Prints every phase's median
and the end-to-end median including the one-off reference set-up.
"""

from __future__ import annotations

import statistics
import time

import _setup  # noqa: F401 - quiet TF logs; gan_tf importable from the checkout
from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_string("run_dir", "runs/baseline/dcgan", "A trained image run.")
flags.DEFINE_integer("num_samples", 10_000, "Images to sample and score (and reference images).")
flags.DEFINE_integer("repeats", 3, "Timed repeats (medians are printed).")
flags.DEFINE_bool("download", True, "Let tfds.load download the reference data if not found.")


def main(argv):
    del argv
    from gan_tf import evaluation
    from gan_tf.rundir import restore_generator
    from gan_tf.sampling import generate_images

    started = time.perf_counter()
    generator, config = restore_generator(FLAGS.run_dir)
    evaluator = evaluation.Evaluator(
        config.dataset,
        ["fd_classifier"],
        num_real=FLAGS.num_samples,
        data_dir=config.data_dir,
        download=FLAGS.download,
        image_size=config.image_size,
    )
    setup = time.perf_counter() - started
    sample_times, fd_times, values = [], [], []
    for repeat in range(FLAGS.repeats + 1):  # the first round traces: not timed
        started = time.perf_counter()
        images = generate_images(generator, FLAGS.num_samples, config.latent_dim, seed=repeat)
        sampled = time.perf_counter()
        values.append(float(evaluator(images)["fd_classifier"]))
        if repeat:
            sample_times.append(sampled - started)
            fd_times.append(time.perf_counter() - sampled)
    sample, fd = statistics.median(sample_times), statistics.median(fd_times)
    print(f"{FLAGS.run_dir} ({config.model}, {config.dataset}), {FLAGS.num_samples} images")
    print("| phase | median seconds |")
    print("|---|---|")
    print(f"| restore run + reference set-up (once) | {setup:.1f} |")
    print(f"| sample {FLAGS.num_samples} images | {sample:.1f} |")
    print(f"| classifier features + FD | {fd:.1f} |")
    print(f"| sample + FD | {sample + fd:.1f} |")
    print(f"| sample + FD incl. set-up | {sample + fd + setup:.1f} |")
    print(f"fd_classifier per repeat: {', '.join(f'{v:.3f}' for v in values)}")


if __name__ == "__main__":
    app.run(main)
