"""Memory and time to the first batch of a streamed image folder: shuffling decoded
images (before) against shuffling file paths before decoding (now).

    python benchmarks/folder_streaming.py [--images=20000] [--size=128] [--batches=20]

Writes ``--images`` PNGs of ``--size`` px once (real emoji colour images from
``make data``, upscaled and flipped/rotated to make distinct files) under
``--folder``, then, each in a fresh process, loads it as ``folder:PATH`` on the
streamed path (the path of a folder over ``gan_tf.data.sources.folder.CACHE_BYTES``, forced
here so the size stays laptop-friendly) and reads ``--batches`` batches of 64 of
epoch 1:

* ``before``: the epoch's order from a shuffle buffer of decoded images (up to
  100,000 of them; what ``gan_tf.data.batches`` did before);
* ``now``: ``gan_tf.data.batches``: file paths shuffled, then decoded.

It prints the seconds to the first batch, to all ``--batches``, and the process's
peak resident memory (``VmHWM``), for each, and their ratios.
"""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys
import time

import _setup  # noqa: F401 - quiet TF logs; gan_tf importable from the checkout
from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_integer("images", 20_000, "Images in the folder.")
flags.DEFINE_integer("size", 128, "Their side in pixels (and --image_size).")
flags.DEFINE_integer("batches", 20, "Batches of 64 read from epoch 1.")
flags.DEFINE_string("folder", "/tmp/gan_tf_streaming_folder", "Where the folder is written.")
flags.DEFINE_string("emoji_dir", "~/.keras/datasets/emoji", "The emoji of `make data`.")
flags.DEFINE_string("mode", "", "Internal: measure one mode in this process.")


def write_folder(folder: str, count: int, size: int, emoji_dir: str) -> None:
    """``count`` PNGs of ``size`` px made from the emoji (kept if already there)."""
    if len(glob.glob(os.path.join(folder, "*.png"))) >= count:
        return
    from PIL import Image

    sources = sorted(glob.glob(os.path.join(emoji_dir, "*", "package", "img", "*", "64", "*.png")))
    if not sources:
        raise SystemExit(f"no emoji under {emoji_dir}: run `make data` first")
    os.makedirs(folder, exist_ok=True)
    for index in range(count):
        image = Image.open(sources[index % len(sources)]).convert("RGB").resize((size, size))
        image = image.rotate(90 * (index // len(sources) % 4))
        image.save(os.path.join(folder, f"{index:06d}.png"))


def measure(mode: str) -> dict:
    """Loads the folder streamed and times reading ``--batches`` batches in ``mode``."""
    import tensorflow as tf

    from gan_tf import data
    from gan_tf.data.sources import folder

    folder.CACHE_BYTES = 0  # the streamed path, as a folder over the budget takes
    dataset = data.load_dataset(f"folder:{FLAGS.folder}", image_size=FLAGS.size)
    assert not dataset.in_memory
    started = time.perf_counter()
    if mode == "before":
        shuffled = dataset.examples.shuffle(
            min(dataset.num_examples, 100_000), seed=1_000_004, reshuffle_each_iteration=False
        )
        batches = shuffled.batch(64, drop_remainder=True).map(data.to_float_images)
    else:
        batches = data.batches(dataset, 64, seed=1, epoch=1)
    first = None
    for count, batch in enumerate(batches.take(FLAGS.batches), start=1):
        tf.debugging.assert_all_finite(batch, "batch")
        if count == 1:
            first = time.perf_counter() - started
    total = time.perf_counter() - started
    with open("/proc/self/status", encoding="utf-8") as handle:
        peak = next(int(line.split()[1]) for line in handle if line.startswith("VmHWM"))
    return {"first_batch_s": first, "batches_s": total, "peak_rss_mb": peak / 1024}


def main(argv):
    del argv
    if FLAGS.mode:
        print(json.dumps(measure(FLAGS.mode)))
        return
    write_folder(FLAGS.folder, FLAGS.images, FLAGS.size, os.path.expanduser(FLAGS.emoji_dir))
    results = {}
    for mode in ("before", "now"):
        flags_out = [f"--{name}={getattr(FLAGS, name)}" for name in ("size", "batches", "folder")]
        done = subprocess.run(
            [sys.executable, __file__, f"--mode={mode}", *flags_out],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        results[mode] = json.loads(done.stdout.strip().splitlines()[-1])
    print(
        f"folder of {FLAGS.images} PNGs at {FLAGS.size} px, streamed; {FLAGS.batches} batches of 64"
    )
    print(f"{'':8} {'first batch s':>14} {'all batches s':>14} {'peak RSS MB':>12}")
    for mode, values in results.items():
        print(
            f"{mode:8} {values['first_batch_s']:14.2f} {values['batches_s']:14.2f} "
            f"{values['peak_rss_mb']:12.0f}"
        )
    before, now = results["before"], results["now"]
    print(
        f"now/before: first batch {now['first_batch_s'] / before['first_batch_s']:.3f}, "
        f"peak RSS {now['peak_rss_mb'] / before['peak_rss_mb']:.3f}"
    )


if __name__ == "__main__":
    app.run(main)
