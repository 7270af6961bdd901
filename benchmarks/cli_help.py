"""How fast the command line answers ``--help``, against the cost of starting Python.

    python benchmarks/cli_help.py [--repeats=5]

Prints the median wall time of ``gan-tf train --help`` (answered from the stored
help, TensorFlow not imported), of a bare ``python -c pass`` (the floor) and of
``gan-tf train --helpfull`` (absl's own help: TensorFlow starts first), each run
as a fresh process (``python -m gan_tf.cli``, what the ``gan-tf`` script runs).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

import _setup
from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_integer("repeats", 5, "Runs of each command (median reported).")


def seconds(command) -> float:
    times = []
    for _ in range(FLAGS.repeats):
        started = time.perf_counter()
        subprocess.run(command, capture_output=True, check=False, cwd=_setup._ROOT)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main(argv):
    del argv
    floor = seconds([sys.executable, "-c", "pass"])
    fast = seconds([sys.executable, "-m", "gan_tf.cli", "train", "--help"])
    full = seconds([sys.executable, "-m", "gan_tf.cli", "train", "--helpfull"])
    print("| command | median s | vs python -c pass |\n|---|---|---|")
    print(f"| python -c pass | {floor:.3f} | 1.0x |")
    print(f"| gan-tf train --help | {fast:.3f} | {fast / floor:.1f}x |")
    print(f"| gan-tf train --helpfull (TensorFlow imported) | {full:.3f} | {full / floor:.1f}x |")


if __name__ == "__main__":
    app.run(main)
