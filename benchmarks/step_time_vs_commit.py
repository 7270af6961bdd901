"""Train step time at the demo settings: this working tree against a baseline commit.

    python benchmarks/step_time_vs_commit.py [--baseline=68dd244] [--current=REV]
        [--steps=60] [--repeats=5]

Each version trains in its own fresh process, ``python -m gan_tf.cli train`` run in
its checkout with ``PYTHONPATH`` set to it (the baseline, and ``--current`` when
given, are ``git worktree``s under /tmp): ``--model=dcgan --dataset=fashion_mnist``
with the demo's defaults in float32, 2 epochs of ``--steps`` steps, no evaluation.
The time is epoch 2's ``seconds`` column of ``metrics.csv`` (the train loop alone:
epoch 1 holds the tf.function tracing; pictures and checkpoints are outside it) over
its steps. ``--max_examples=steps x 64`` keeps the per-epoch shuffle-buffer fill
(~1.3 s with all 60,000 images, a quarter of such an epoch) out of the figure; the
steps compute the same. The versions alternate, their order swapped every round;
the table gives each version's median and min seconds per step and new/baseline.
Run it on an otherwise idle machine: each round prints the load average.
"""

from __future__ import annotations

import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile

from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_string("baseline", "68dd244", "Baseline commit (the one before the refactor).")
flags.DEFINE_string(
    "current", "", "Commit to time as the new version (default: this working tree)."
)
flags.DEFINE_integer("steps", 60, "Steps per epoch; epoch 2's are timed.")
flags.DEFINE_integer("repeats", 5, "Rounds; each round trains every version once.")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA_DIR = "/usr/share/datasets/fashion-mnist"  # `make data`; the demo falls back to MNIST
DEMO_FLAGS = "--model=dcgan --precision=float32 --epochs=2 --eval_every=0".split()


def git(*args: str, cwd: str = ROOT) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.strip()


def checkout(rev: str, role: str) -> tuple[str, str]:
    """A detached worktree of ``rev`` at /tmp/gan_tf_<role>_<sha> (reused if present).

    Returns:
      The worktree's root and a label for the table.
    """
    sha = git("rev-parse", "--short=7", f"{rev}^{{commit}}")
    path = f"/tmp/gan_tf_{role}_{sha}"
    if not os.path.isdir(path):
        git("worktree", "add", "--detach", path, sha)
    if git("rev-parse", "HEAD", cwd=path) != git("rev-parse", f"{sha}^{{commit}}"):
        raise SystemExit(f"{path} is not at {sha}: remove it (git worktree remove {path})")
    return path, sha


def environment(root: str) -> dict:
    """The subprocess environment: ``root`` first on the path, quiet TensorFlow."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
    return env


def check_import(root: str) -> str:
    """The ``gan_tf`` that a process started like the timed ones imports; it must be
    ``root``'s (an editable install elsewhere must not win)."""
    found = subprocess.run(
        [sys.executable, "-c", "import gan_tf; print(gan_tf.__file__)"],
        cwd=root, env=environment(root), check=True, capture_output=True, text=True
    ).stdout.strip()  # fmt: skip
    if not found.startswith(os.path.join(root, "gan_tf") + os.sep):
        raise SystemExit(f"a process in {root} imports {found}, not that checkout's gan_tf")
    return found


def time_run(root: str, dataset: str) -> tuple[float, dict]:
    """Trains 2 epochs with ``root``'s ``gan_tf`` in a new process.

    Returns:
      Epoch 2's seconds per step and the run's resolved config.
    """
    with tempfile.TemporaryDirectory(prefix="gan_tf_step_time_") as output_dir:
        command = [sys.executable, "-m", "gan_tf.cli", "train", *DEMO_FLAGS, f"--dataset={dataset}"]
        command += [f"--steps_per_epoch={FLAGS.steps}", f"--max_examples={FLAGS.steps * 64}"]
        command += [f"--output_dir={output_dir}"]
        done = subprocess.run(
            command, cwd=root, env=environment(root), capture_output=True, text=True
        )
        if done.returncode:
            raise SystemExit(f"{' '.join(command)} in {root} failed:\n{done.stderr[-3000:]}")
        with open(os.path.join(output_dir, "metrics.csv"), newline="") as handle:
            rows = {int(row["epoch"]): row for row in csv.DictReader(handle)}
        with open(os.path.join(output_dir, "config.json")) as handle:
            config = json.load(handle)
    if "seconds" not in rows[2]:
        raise SystemExit(f"{root}: metrics.csv has no 'seconds' column: {sorted(rows[2])}")
    steps = int(rows[2]["step"]) - int(rows[1]["step"])
    if steps != FLAGS.steps:
        raise SystemExit(f"{root}: epoch 2 ran {steps} steps, not {FLAGS.steps} (batch > 64?)")
    return float(rows[2]["seconds"]) / steps, config


def main(argv):
    del argv
    dataset = "fashion_mnist"
    if not os.path.isdir(DATA_DIR):
        dataset = "mnist"
        print(f"no {DATA_DIR} (make data): timing on MNIST, as `make demo` would train")
    base_root, base_sha = checkout(FLAGS.baseline, "baseline")
    if FLAGS.current:
        new_root, new_label = checkout(FLAGS.current, "current")
    else:
        dirty = git("status", "--porcelain", "--", "gan_tf")
        new_root, new_label = ROOT, git("rev-parse", "--short=7", "HEAD") + ("+" if dirty else "")
    versions = {"baseline": (base_root, base_sha), "current": (new_root, new_label)}
    for name, (root, label) in versions.items():
        print(f"{name:8} {label:9} imports {check_import(root)}", flush=True)
    times, configs = {name: [] for name in versions}, {}
    for index in range(FLAGS.repeats):
        order = list(versions) if index % 2 == 0 else list(versions)[::-1]
        for name in order:
            seconds, configs[name] = time_run(versions[name][0], dataset)
            times[name].append(seconds)
            load = os.getloadavg()[0]  # other jobs on the machine make the figures noisy
            print(
                f"round {index + 1}/{FLAGS.repeats} {name:8} {seconds * 1e3:7.2f} ms/step "
                f"(1-min load average after it {load:.1f})",
                flush=True,
            )
    differing = sorted(
        key
        for key in configs["baseline"].keys() | configs["current"].keys()
        if configs["baseline"].get(key) != configs["current"].get(key)
    )
    if differing:
        print(f"WARNING: the resolved configs differ in: {', '.join(differing)}")
    print(
        f"\ndcgan on {dataset}, float32, batch {configs['baseline']['batch_size']}: epoch 2 "
        f"of {FLAGS.steps} steps, {FLAGS.repeats} rounds, {os.cpu_count()} CPU cores"
    )
    print(f"{'version':8} {'commit':9} {'median ms/step':>14} {'min ms/step':>11}")
    for name, (_, label) in versions.items():
        print(
            f"{name:8} {label:9} {statistics.median(times[name]) * 1e3:14.2f} "
            f"{min(times[name]) * 1e3:11.2f}"
        )
    ratios = [new / old for new, old in zip(times["current"], times["baseline"], strict=True)]
    medians = statistics.median(times["current"]) / statistics.median(times["baseline"])
    print(
        f"current/baseline: ratio of medians {medians:.3f}, median of per-round ratios "
        f"{statistics.median(ratios):.3f} (rounds: {', '.join(f'{r:.3f}' for r in ratios)})"
    )


if __name__ == "__main__":
    app.run(main)
