"""The lever sweep behind dcgan's fast recipe: FD against generator steps per setting.

    python benchmarks/recipe_sweep.py [--variants=paper_w64,w32,...] [--evals=12]
        [--steps_per_eval=235] [--parallel=2] [--output_root=runs/recipe_sweep]

Each variant is dcgan on Fashion-MNIST in ``--precision`` (default ``mixed_bfloat16``)
with ``recipe=paper`` plus the overrides in :data:`VARIANTS`, trained for ``evals`` x
``steps_per_eval`` generator steps (default 12 x 235: three epochs in quarters) and
scored after every quarter on 5,000
samples against 5,000 test images (classifier-FD and class coverage; fewer images than
the README's 10,000, so these FDs sit a little higher). ``--parallel`` runs that many
variants at once, one thread each: the machine's noise then lands on the seconds, never
on the steps, so the table reports steps. Multiply by the idle step times of
``benchmarks/train_speed.py`` (or the ``ms/step`` of ``time_to_quality.py``) for seconds.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys

import _setup  # noqa: F401 - quiet TF logs; gan_tf importable from the checkout
from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_list("variants", None, "Variants to run (default: all of VARIANTS).")
flags.DEFINE_integer("evals", 12, "Evaluations per variant.")
flags.DEFINE_integer("steps_per_eval", 235, "Generator steps between evaluations (batch 64).")
flags.DEFINE_integer("parallel", 2, "Variants trained at once (one thread each).")
flags.DEFINE_list("targets", ["6", "4.5"], "FDs whose first step is reported.")
flags.DEFINE_string("output_root", "runs/recipe_sweep", "Where the runs go.")
flags.DEFINE_string(
    "precision",
    "mixed_bfloat16",
    "Every variant's precision: the sweep's mixed_bfloat16 (fast on CPUs with AMX/AVX512_BF16, "
    "emulated and ~10x slower elsewhere) or float32 (what precision=auto picks on other CPUs).",
)
flags.DEFINE_string("variant", None, "Internal: train this one variant in this process.")

W32 = {"arch": {"base_width": 32}}
FAST = {**W32, "learning_rate": 1.2e-3, "ema": 0.999, "batch_size": 32}  # dcgan's fast recipe
VARIANTS = {
    "paper_w64": {},
    "w32": W32,
    "w32_ema": {**W32, "ema": 0.999},
    "w32_ttur_ema": {**W32, "ema": 0.999, "d_learning_rate": 4e-4},
    "w32_lr4": {**W32, "learning_rate": 4e-4},
    "w32_lr4_ema": {**W32, "learning_rate": 4e-4, "ema": 0.999},
    "w32_lr8": {**W32, "learning_rate": 8e-4},
    "w32_lr8_ema": {**W32, "learning_rate": 8e-4, "ema": 0.999},  # = the fast recipe
    "w32_lr8_ema_b32": {**W32, "learning_rate": 8e-4, "ema": 0.999, "batch_size": 32},
    "w32_lr8_ema_simultaneous": {
        **W32,
        "learning_rate": 8e-4,
        "ema": 0.999,
        "update": "simultaneous",
    },
    # issue 29: narrower or faster at batch 32
    "w16_lr8_ema_b32": {
        "arch": {"base_width": 16},
        "learning_rate": 8e-4,
        "ema": 0.999,
        "batch_size": 32,
    },
    "w24_lr8_ema_b32": {
        "arch": {"base_width": 24},
        "learning_rate": 8e-4,
        "ema": 0.999,
        "batch_size": 32,
    },
    "w32_lr12_ema_b32": {**W32, "learning_rate": 1.2e-3, "ema": 0.999, "batch_size": 32},
    # issue 29's second round, each one change from the fast recipe (w32_lr12_ema_b32)
    "w32_lr16_ema_b32": {**W32, "learning_rate": 1.6e-3, "ema": 0.999, "batch_size": 32},
    "w32_lr12_ema_b32_beta99": {**FAST, "beta_2": 0.99},
    "w32_lr12_ema_b32_dlr24": {**FAST, "d_learning_rate": 2.4e-3},
    "w32_lr12_ema_b16": {**FAST, "batch_size": 16},
    "g24_d32_lr12_ema_b32": {**FAST, "arch": {"base_width": 24, "d_base_width": 32}},
    "w32_lr12_ema_b32_ema998": {**FAST, "ema": 0.998},
    # issue 29's third round: 4x4 kernels, 0.64x the multiply-adds of a step
    "k4": {**FAST, "arch": {"base_width": 32, "kernel_size": 4}},
}


def train_variant(name: str) -> None:
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    import gan_tf

    overrides = VARIANTS[name]
    batch = overrides.get("batch_size", 64)
    config = gan_tf.make_config(
        model="dcgan",
        dataset="fashion_mnist",
        recipe="paper",
        precision=FLAGS.precision,
        steps_per_epoch=FLAGS.steps_per_eval * 64 // batch,
        epochs=FLAGS.evals,
        eval_every=1,
        eval_samples=5000,
        eval_metrics="fd_classifier,coverage",
        keep_checkpoints=1,
        **overrides,
    )
    run_dir = os.path.join(FLAGS.output_root, name)
    shutil.rmtree(run_dir, ignore_errors=True)
    gan_tf.train(config, run_dir, verbose=0)


def report(name: str) -> str:
    with open(os.path.join(FLAGS.output_root, name, "metrics.csv"), encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    batch = VARIANTS[name].get("batch_size", 64)
    cells = [name]
    for target in FLAGS.targets:
        first = next((r for r in rows if float(r["fd_classifier"]) <= float(target)), None)
        # steps in batch-64 equivalents (images seen / 64), so batch sizes compare
        cells.append(str(int(first["step"]) * batch // 64) if first else "not reached")
    last = rows[-1]
    cells += [f"{float(last['fd_classifier']):.2f}", f"{int(float(last['classes_covered']))}/10"]
    return "| " + " | ".join(cells) + " |"


def main(argv):
    del argv
    if FLAGS.variant:
        train_variant(FLAGS.variant)
        return
    names = FLAGS.variants or list(VARIANTS)
    passed = [arg for arg in sys.argv[1:] if not arg.startswith("--variants")]
    running = []
    for name in names:
        if name not in VARIANTS:
            raise app.UsageError(f"unknown variant {name!r}; choose from {list(VARIANTS)}")
        running.append(subprocess.Popen([sys.executable, __file__, f"--variant={name}", *passed]))
        if len(running) == FLAGS.parallel:
            running.pop(0).wait()
    for process in running:
        process.wait()
    targets = " | ".join(f"steps to FD {t}" for t in FLAGS.targets)
    print(
        f"| variant | {targets} | FD after {FLAGS.evals * FLAGS.steps_per_eval} steps | classes |"
    )
    print("|---|" + "---|" * (len(FLAGS.targets) + 2))
    for name in names:
        print(report(name))


if __name__ == "__main__":
    app.run(main)
