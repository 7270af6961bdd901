"""Time to quality: DCGAN on Fashion-MNIST, the old defaults vs the new ones vs a plain loop.

    python benchmarks/time_to_quality.py [--arms=paper_float32,default,plain]
        [--targets=10,6,4.5] [--max_epochs=5] [--output_root=runs/time_to_quality]
        [--plot=docs/images/time_to_quality.png] [--replot]

Arms, run one after the other in fresh subprocesses of this script (so each has
its own peak memory and thread pools), on the same machine in the same run:

* ``paper_float32``: the defaults before recipes and precision=auto:
  ``gan_tf.train`` with ``recipe=paper precision=float32``.
* ``default``: ``gan_tf.train`` with today's defaults, i.e. what
  ``python experiments/train.py --model=dcgan --dataset=fashion_mnist`` runs.
* ``plain``: a TF-tutorial-style loop (one ``tf.function``, two tapes,
  ``BinaryCrossentropy(from_logits=True)``, ``shuffle().batch()``) on the paper
  networks in float32.

Every half epoch each arm is scored like the README: 10,000 samples of fixed
noise against the 10,000 Fashion-MNIST test images in the shipped classifier's
features (FD and class coverage). The library arms run with ``steps_per_epoch``
set to half an epoch, so every "epoch" of theirs is a fresh shuffle's first half.
An arm stops at the first evaluation at or below the lowest target, or after
``--max_epochs``. Seconds are training time only (evaluation, sample grids and
checkpoints excluded), summed from the per-(half-)epoch timings.

Printed per arm: the seconds (and generator steps) to reach each target FD, the
last FD and coverage, the seconds per step, the process's peak memory, and the
achieved FLOP/s (the train step's FLOPs counted from the layer shapes, see
``_setup.train_step_flops``) against the FLOP/s a 2048x2048 matmul reaches in
the arm's precision on this machine. ``--plot`` draws FD against seconds and
writes the grid of each arm at its stopping point beside it (``*_grids.png``).
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import time
import types

import _setup
from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_list("arms", ["paper_float32", "default", "plain"], "Arms to run, in order.")
flags.DEFINE_list("targets", ["10", "6", "4.5"], "Classifier-FD targets; the last is the goal.")
flags.DEFINE_float("max_epochs", 5, "Epoch budget per arm (in halves).")
flags.DEFINE_integer("eval_samples", 10_000, "Generated and real test images per evaluation.")
flags.DEFINE_string("output_root", "runs/time_to_quality", "Where the runs and results go.")
flags.DEFINE_string("plot", None, "Write FD-vs-seconds here (and the grids to *_grids.png).")
flags.DEFINE_string("data_dir", None, "Raw Fashion-MNIST files (default: the usual places).")
flags.DEFINE_bool("download", True, "Let tfds.load download Fashion-MNIST if not found.")
flags.DEFINE_integer("steps_per_eval", None, "Steps between evaluations (default: half an epoch).")
flags.DEFINE_bool("replot", False, "Only redraw --plot from the arms' saved results.")
flags.DEFINE_string("arm", None, "Internal: run this one arm in this process.")

LIBRARY_ARMS = {
    "paper_float32": {"recipe": "paper", "precision": "float32"},
    "default": {},
}
TITLES = {
    "paper_float32": "before: --recipe=paper --precision=float32",
    "default": "now: the defaults",
    "plain": "plain tutorial loop (paper nets, float32)",
}


class _Reached(Exception):
    """Raised by the callback once the goal FD is reached: the arm stops there."""


def _config(overrides: dict):
    import gan_tf

    return gan_tf.make_config(
        model="dcgan",
        dataset="fashion_mnist",
        data_dir=FLAGS.data_dir,
        download=FLAGS.download,
        **overrides,
    )


def _half_epoch(config) -> int:
    return FLAGS.steps_per_eval or 60_000 // config.batch_size // 2


def _goal() -> float:
    return min(float(target) for target in FLAGS.targets)


def run_library_arm(name: str, run_dir: str) -> dict:
    """One gan_tf.train run with half-epoch "epochs" and --eval_every=1."""
    import gan_tf
    from gan_tf.build import build_networks

    base = _config(LIBRARY_ARMS[name])
    half = _half_epoch(base)
    config = _config(
        {
            **LIBRARY_ARMS[name],
            "steps_per_epoch": half,
            "epochs": int(2 * FLAGS.max_epochs),
            "eval_every": 1,
            "eval_samples": FLAGS.eval_samples,
            "eval_metrics": "fd_classifier,coverage",
            "keep_checkpoints": 1,
        }
    )

    class StopAtGoal(gan_tf.Callback):
        def on_epoch_end(self, run, epoch, logs):
            if logs["fd_classifier"] <= _goal():
                raise _Reached

    try:
        gan_tf.train(config, run_dir, callbacks=[StopAtGoal()], verbose=0)
    except _Reached:
        pass
    saved = gan_tf.rundir.load_config(run_dir)
    with open(os.path.join(run_dir, "metrics.csv"), encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    generator, discriminator = build_networks(saved, (28, 28, 1))
    last = int(rows[-1]["epoch"])
    return {
        "precision": saved.precision,
        "batch_size": saved.batch_size,
        "flops_per_step": _setup.train_step_flops(
            generator, discriminator, saved.batch_size, saved.update == "simultaneous"
        ),
        "evaluations": [
            {
                "step": int(row["step"]),
                "seconds": float(row["seconds"]),
                "fd": float(row["fd_classifier"]),
                "classes_covered": int(float(row["classes_covered"])),
            }
            for row in rows
        ],
        "grid": os.path.join(run_dir, "samples", f"epoch_{last:04d}.png"),
    }


def run_plain_arm(run_dir: str) -> dict:
    """The tutorial loop on the paper networks, scored with the same protocol."""
    import keras
    import tensorflow as tf

    from gan_tf import data, evaluation, sampling, training, visualize
    from gan_tf.build import build_networks

    config = _config({"recipe": "paper", "precision": "float32"})
    os.makedirs(run_dir, exist_ok=True)
    keras.utils.set_random_seed(config.seed)
    generator, discriminator = build_networks(config, (28, 28, 1))
    step = _setup.plain_step_fn(
        generator, discriminator, config.latent_dim, config.learning_rate, config.beta_1
    )
    dataset = data.load_dataset("fashion_mnist", data_dir=FLAGS.data_dir, download=FLAGS.download)
    images, _ = data.as_arrays(dataset)
    batches = (
        tf.data.Dataset.from_tensor_slices(images)
        .shuffle(60_000, seed=config.seed)
        .batch(config.batch_size, drop_remainder=True)
        .map(data.to_float_images)
        .prefetch(tf.data.AUTOTUNE)
    )
    evaluator = evaluation.Evaluator(
        "fashion_mnist",
        "fd_classifier,coverage",
        num_real=FLAGS.eval_samples,
        data_dir=FLAGS.data_dir,
        download=FLAGS.download,
    )
    # the library's --eval_every scoring (same noise, same protocol) on the plain generator
    sampler = types.SimpleNamespace(
        conditional=False, generate=lambda noise, labels=None: generator(noise, training=False)
    )
    scoring = dataclasses.replace(config, eval_samples=FLAGS.eval_samples)
    grid_noise = sampling.fixed_noise(config.seed, config.latent_dim, config.grid_size**2)
    half, evaluations, steps, seconds = _half_epoch(config), [], 0, 0.0
    grid = os.path.join(run_dir, "grid.png")
    while steps < 2 * FLAGS.max_epochs * half:
        started = time.perf_counter()
        for real in batches:
            gen_loss, _ = step(real)
            steps += 1
            if steps % half == 0:
                break
        float(gen_loss)
        seconds_now = time.perf_counter() - started
        seconds += seconds_now
        values = training.evaluate_generator(evaluator, sampler, scoring)
        evaluations.append(
            {
                "step": steps,
                "seconds": seconds_now,
                "fd": float(values["fd_classifier"]),
                "classes_covered": int(values["classes_covered"]),
            }
        )
        rows = visualize.to_uint8(generator(grid_noise, training=False))
        visualize.save_image(visualize.image_grid(rows, rows=config.grid_size), grid)
        if evaluations[-1]["fd"] <= _goal():
            break
    return {
        "precision": "float32",
        "batch_size": config.batch_size,
        "flops_per_step": _setup.train_step_flops(
            generator, discriminator, config.batch_size, simultaneous=True
        ),
        "evaluations": evaluations,
        "grid": grid,
    }


def run_arm(name: str) -> None:
    """Runs arm ``name`` in this process; writes OUTPUT_ROOT/<name>.json."""
    run_dir = os.path.join(FLAGS.output_root, name)
    shutil.rmtree(run_dir, ignore_errors=True)  # a fresh run: resuming would skew the times
    result = run_plain_arm(run_dir) if name == "plain" else run_library_arm(name, run_dir)
    result["peak_memory_mb"] = _setup.peak_memory_mb()
    result["matmul_peak_flops"] = _setup.matmul_peak_flops(
        "bfloat16" if result["precision"] == "mixed_bfloat16" else "float32"
    )
    with open(os.path.join(FLAGS.output_root, f"{name}.json"), "w", encoding="utf-8") as handle:
        json.dump(result, handle, indent=1)


def summarise(name: str, result: dict) -> dict:
    """Seconds/steps to each target, the last values and the compute figures."""
    row, elapsed = {"arm": name, "precision": result["precision"]}, 0.0
    for evaluation in result["evaluations"]:
        elapsed += evaluation["seconds"]
        evaluation["elapsed"] = elapsed
        for target in FLAGS.targets:
            if evaluation["fd"] <= float(target) and f"fd{target}" not in row:
                row[f"fd{target}"] = (elapsed, evaluation["step"])
    last = result["evaluations"][-1]
    steps = last["step"]
    row.update(
        seconds=elapsed,
        steps=steps,
        fd=last["fd"],
        classes=last["classes_covered"],
        step_ms=1000 * elapsed / steps,
        flops=result["flops_per_step"] * steps / elapsed,
        peak=result["matmul_peak_flops"],
        memory=result["peak_memory_mb"],
    )
    return row


def table(rows: list[dict]) -> str:
    targets = [f"s to FD {target} (steps)" for target in FLAGS.targets]
    header = ["arm", "precision", *targets, "stopped at: s, steps", "FD", "classes"]
    header += ["ms/step", "GFLOP/s (% of matmul peak)", "peak MB"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = [row["arm"], row["precision"]]
        for target in FLAGS.targets:
            reached = row.get(f"fd{target}")
            cells.append(f"{reached[0]:.0f} ({reached[1]})" if reached else "not reached")
        cells += [
            f"{row['seconds']:.0f}, {row['steps']}",
            f"{row['fd']:.2f}",
            f"{row['classes']}/10",
            f"{row['step_ms']:.0f}",
            f"{row['flops'] / 1e9:.0f} ({100 * row['flops'] / row['peak']:.0f} %)",
            f"{row['memory']:.0f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot(rows: list[dict], results: dict, path: str) -> None:
    import imageio.v3 as iio
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6.4, 4.0))
    for row in rows:
        evaluations = results[row["arm"]]["evaluations"]
        axes.plot(
            [e["elapsed"] for e in evaluations],
            [e["fd"] for e in evaluations],
            marker="o",
            label=TITLES.get(row["arm"], row["arm"]),
        )
    for target in FLAGS.targets:
        axes.axhline(float(target), color="gray", linewidth=0.5, linestyle=":")
    axes.set(xlabel="training seconds (2 CPU cores)", ylabel="FD (Fashion-MNIST classifier)")
    axes.set_yscale("log")
    ticks = sorted({4.0, *(float(t) for t in FLAGS.targets), 15.0})
    axes.set_yticks(ticks, [f"{t:g}" for t in ticks])
    axes.minorticks_off()
    axes.legend(fontsize=8)
    axes.set_title("DCGAN on Fashion-MNIST: quality against time", fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    figure, grid_axes = plt.subplots(1, len(rows), figsize=(3.2 * len(rows), 3.6))
    for ax, row in zip(list(getattr(grid_axes, "flat", [grid_axes])), rows, strict=True):
        ax.imshow(iio.imread(results[row["arm"]]["grid"]), cmap="gray")
        ax.set_title(
            f"{TITLES.get(row['arm'], row['arm'])}\nFD {row['fd']:.2f} after "
            f"{row['seconds']:.0f} s",
            fontsize=8,
        )
        ax.axis("off")
    figure.tight_layout()
    figure.savefig(path.replace(".png", "_grids.png"), dpi=110)
    plt.close(figure)


def main(argv):
    del argv
    os.makedirs(FLAGS.output_root, exist_ok=True)
    if FLAGS.arm:
        run_arm(FLAGS.arm)
        return
    passed = [arg for arg in sys.argv[1:] if not arg.startswith(("--arms", "--plot"))]
    results, rows = {}, []
    for name in FLAGS.arms:
        if name not in (*LIBRARY_ARMS, "plain"):
            raise app.UsageError(f"unknown arm {name}; choose from {[*LIBRARY_ARMS, 'plain']}")
        if not FLAGS.replot:
            print(f"running {name} ...", flush=True)
            subprocess.run([sys.executable, __file__, f"--arm={name}", *passed], check=True)
        with open(os.path.join(FLAGS.output_root, f"{name}.json"), encoding="utf-8") as handle:
            results[name] = json.load(handle)
        rows.append(summarise(name, results[name]))
    text = table(rows)
    print(text)
    by_arm = {row["arm"]: row for row in rows}
    if "paper_float32" in by_arm and "default" in by_arm:
        goal = FLAGS.targets[-1]
        before, now = by_arm["paper_float32"].get(f"fd{goal}"), by_arm["default"].get(f"fd{goal}")
        if before and now:
            print(f"\ndefault / paper_float32 time to FD {goal}: {now[0] / before[0]:.0%}")
    with open(os.path.join(FLAGS.output_root, "table.md"), "w", encoding="utf-8") as handle:
        handle.write(text + "\n")
    if FLAGS.plot:
        plot(rows, results, FLAGS.plot)


if __name__ == "__main__":
    app.run(main)
