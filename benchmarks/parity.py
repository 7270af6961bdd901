"""Records what short runs produce, to show that a refactor changed nothing.

    python benchmarks/parity.py --out=parity.json                 # on the old code
    python benchmarks/parity.py --out=new.json --compare=parity.json   # on the new code

Trains seven short Fashion-MNIST/ring8 runs (every update scheme, loss family,
penalty, clipping, label tricks, EMA, spectral norm, 2-D toys) and one resumed
run, and writes every metrics.csv row (without wall-clock seconds) and an MD5 of
16 seeded samples per run. ``--compare`` prints the runs whose numbers differ.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import tempfile

import _setup  # noqa: F401 - quiet TF logs; gan_tf importable from the checkout
from absl import app, flags, logging

FLAGS = flags.FLAGS
flags.DEFINE_string("out", "parity.json", "Where to write the record.")
flags.DEFINE_string("compare", None, "A record of another code version to compare with.")

COMMON = {"dataset": "fashion_mnist", "max_examples": 640, "steps_per_epoch": 4, "epochs": 2}
CASES = {
    "dcgan": {"model": "dcgan"},
    "dcgan_sim": {"model": "dcgan", "update": "simultaneous", "label_smoothing": 0.1},
    "wgan_gp": {"model": "wgan_gp", "batch_size": 32},
    "wgan": {"model": "wgan", "batch_size": 32},
    "cgan_tricks": {"model": "cgan", "label_flip": 0.1, "instance_noise": 0.1, "ema": 0.9},
    "gan_ring8": {"model": "gan", "dataset": "ring8", "max_examples": 2048, "batch_size": 256},
    "dcgan_lsq_sn": {
        "model": "dcgan",
        "loss": "least_squares",
        "spectral_norm": True,
        "d_dropout": 0.2,
    },
}


def _rows(run_dir: str) -> list[dict]:
    with open(os.path.join(run_dir, "metrics.csv"), encoding="utf-8") as handle:
        return [{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(handle)]


def record(root: str) -> dict:
    import numpy as np

    import gan_tf

    result = {}
    for name, overrides in CASES.items():
        run_dir = os.path.join(root, name)
        gan_tf.train(
            gan_tf.make_config(**{**COMMON, "log_every": 2, **overrides}), run_dir, verbose=0
        )
        samples = np.ascontiguousarray(gan_tf.load_run(run_dir).sample(16, seed=3))
        result[name] = {"metrics": _rows(run_dir), "samples_md5": hashlib.md5(samples).hexdigest()}
        print(name, result[name]["samples_md5"], flush=True)
    resumed = os.path.join(root, "resumed")
    for epochs in (1, 2):  # the dcgan case again, interrupted after epoch 1
        config = gan_tf.make_config(
            **{**COMMON, "log_every": 2, "model": "dcgan", "epochs": epochs}
        )
        gan_tf.train(config, resumed, verbose=0)
    result["resumed"] = {"metrics": _rows(resumed)}
    return result


def main(argv):
    del argv
    logging.set_verbosity(logging.ERROR)
    with tempfile.TemporaryDirectory() as root:
        result = record(root)
    with open(FLAGS.out, "w", encoding="utf-8") as handle:
        json.dump(result, handle, indent=1)
    print(f"wrote {FLAGS.out}")
    if FLAGS.compare:
        with open(FLAGS.compare, encoding="utf-8") as handle:
            other = json.load(handle)
        differ = [name for name in result if result[name] != other.get(name)]
        print(f"{len(result) - len(differ)}/{len(result)} runs identical to {FLAGS.compare}")
        for name in differ:
            print(f"  differs: {name}")


if __name__ == "__main__":
    app.run(main)
