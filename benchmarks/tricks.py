"""The tricks table: each "Improved Techniques" trick against plain dcgan, same budget.

    python benchmarks/tricks.py

reproduces both tables (all variants, both datasets, two runs at a time); in full:

    python benchmarks/tricks.py --datasets=fashion_mnist,emoji --fashion_steps=1410
        --emoji_steps=1272 --evals=2 --parallel=2 --output_root=runs/tricks

Each variant is dcgan with the library defaults (``recipe=fast``, ``precision=auto``:
mixed_bfloat16 on this CPU; batch 64) plus the overrides in :data:`VARIANTS`, trained
on two datasets for the same number of generator steps:

* ``fashion_mnist`` (28x28): ``--fashion_steps`` (1,410 at batch 64: 1.5 passes over the 60,000
  images, run as 2 epochs of 705 steps), scored
  on 5,000 samples against the first 5,000 test images with the Fashion-MNIST
  classifier, as ``benchmarks/recipe_sweep.py`` does.
* ``emoji`` at 32x32: the colour protocol of docs/colour.md and of the "Colour check" in
  docs/benchmarks.md: ``--image_size=32 --arch=base_width=32,max_width=256`` (the trick's
  own arch knobs on top), ``--emoji_steps`` (1,272: 12 epochs of 106 steps, an epoch at
  most one pass over the 6,822 training emoji), scored on 2,000 samples against the
  740 held-out emoji with the emoji classifier.

Scores are the run's own ``--eval_every`` evaluations (``eval_metrics=fd_classifier,
coverage``, the fixed evaluation noise of the run's EMA generator): ``--evals`` of them,
evenly spaced, the last at the final step, which the table reports (the earlier ones are
in each run's ``metrics.csv``). ``ms/step`` is the run's training seconds (the
``seconds`` column of ``metrics.csv``, evaluation excluded) over its generator steps,
both counted after the first epoch, which holds the tracing (all of the run if it has one
epoch). ``--parallel`` runs that many variants at once, one TensorFlow thread
each, so the step times compare with each other, not with the idle 2-thread figures
elsewhere in docs/benchmarks.md.

Every run goes to ``<output_root>/<dataset>-<steps>steps-<samples>samples/<variant>``;
a run whose ``metrics.csv`` reaches the last step with a score is reported without
training again, an unfinished one resumes where it stopped (``gan_tf.train`` resumes a
run directory by itself), and ``--rerun`` starts every chosen run again (the old
directory is moved aside to ``<variant>.moved-N``, nothing is deleted). The watchdog
only warns (``on_divergence=warn``), so each trick gets the whole budget; NaN/inf still
stops a run, which the table then shows as stopped. A variant whose config the library
rejects (a knob not there yet) is skipped with a note.

Historical averaging's weight, 1e-3, was picked on a 470-step Fashion-MNIST trial (the
settings above, one thread each, 1,000 samples): classifier-FD 8.27 (plain), 7.84 (1e-4),
8.20 (1e-3) and 8.64 (1e-2). None wrecks training at that length, but the weighted penalty
had grown to about 0.01, 0.1 and 0.6 against losses near 1: 1e-2 already costs FD, 1e-3
is the largest weight that pulls noticeably without a measurable cost.
"""

from __future__ import annotations

import csv
import json
import math
import os
import subprocess
import sys
import time

import _setup  # noqa: F401 - quiet TF logs; gan_tf importable from the checkout
from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_list("variants", None, "Variants to run (default: all of VARIANTS).")
flags.DEFINE_list("datasets", ["fashion_mnist", "emoji"], "Datasets: fashion_mnist, emoji.")
flags.DEFINE_integer("fashion_steps", 1410, "Generator steps on Fashion-MNIST (batch 64).")
flags.DEFINE_integer("emoji_steps", 1272, "Generator steps on emoji at 32x32 (batch 64).")
flags.DEFINE_integer("evals", 2, "Evaluations per run, evenly spaced, the last at the end.")
flags.DEFINE_integer(
    "eval_samples", None, "Generated images scored (default: 5000 Fashion-MNIST, 2000 emoji)."
)
flags.DEFINE_integer("parallel", 2, "Runs trained at once (one thread each).")
flags.DEFINE_bool("rerun", False, "Train every chosen run again (old runs are moved aside).")
flags.DEFINE_string("output_root", "runs/tricks", "Where the runs go.")
flags.DEFINE_string("data_dir", None, "Where the datasets are (default: the library's search).")
flags.DEFINE_string("job", None, "Internal: train this <dataset>/<variant> in this process.")

BATCH = 64
# Per dataset: training examples (an epoch is at most one pass), evaluation samples,
# classes of its classifier, the side of self-attention's feature maps (half the
# image side) and the protocol's own config fields.
DATASETS = {
    "fashion_mnist": {
        "examples": 60_000,
        "eval_samples": 5000,
        "classes": 10,
        "attention": 14,
        "config": {},
    },
    "emoji": {
        "examples": 6_822,
        "eval_samples": 2000,
        "classes": 9,
        "attention": 16,
        "config": {"image_size": 32, "arch": {"base_width": 32, "max_width": 256}},
    },
}
# Each trick's overrides of the defaults; a callable takes the dataset's settings.
VARIANTS = {
    "plain": {},
    "feature_matching": {"loss": "feature_matching"},
    "minibatch_discrimination": {"arch": {"minibatch_discrimination": 100}},
    "minibatch_stddev": {"arch": {"minibatch_stddev": 4}},
    "historical_averaging": {"historical_averaging": 1e-3},
    "virtual_batch_norm": {"arch": {"generator_norm": "virtual"}},
    "self_attention": lambda dataset: {"arch": {"attention": dataset["attention"]}},
    "label_smoothing": {"label_smoothing": 0.1},
    "spectral_norm": {"spectral_norm": True},
}


def trick(variant: str, dataset: str) -> dict:
    """The overrides ``variant`` adds on ``dataset``."""
    overrides = VARIANTS[variant]
    return overrides(DATASETS[dataset]) if callable(overrides) else overrides


def budget(dataset: str) -> tuple[int, int, int]:
    """(epochs, steps_per_epoch, eval_every) for the dataset's step budget: ``--evals``
    evaluations evenly spaced, an epoch at most one pass over the data."""
    steps = FLAGS.fashion_steps if dataset == "fashion_mnist" else FLAGS.emoji_steps
    per_pass = DATASETS[dataset]["examples"] // BATCH
    epochs = FLAGS.evals
    while math.ceil(steps / epochs) > per_pass:
        epochs += FLAGS.evals
    return epochs, math.ceil(steps / epochs), epochs // FLAGS.evals


def eval_samples(dataset: str) -> int:
    return FLAGS.eval_samples or DATASETS[dataset]["eval_samples"]


def make_config(variant: str, dataset: str):
    """The run's config; raises ``gan_tf.ConfigError`` if the library rejects it."""
    import gan_tf

    epochs, steps_per_epoch, eval_every = budget(dataset)
    protocol = DATASETS[dataset]["config"]
    overrides = dict(trick(variant, dataset))
    if "arch" in protocol or "arch" in overrides:  # the trick's knobs over the protocol's
        overrides["arch"] = {**protocol.get("arch", {}), **overrides.get("arch", {})}
    return gan_tf.make_config(
        **{
            "model": "dcgan",
            "dataset": dataset,
            "data_dir": FLAGS.data_dir,
            "download": False,
            "batch_size": BATCH,
            "epochs": epochs,
            "steps_per_epoch": steps_per_epoch,
            "eval_every": eval_every,
            "eval_samples": eval_samples(dataset),
            "eval_metrics": "fd_classifier,coverage",
            "keep_checkpoints": 1,
            "on_divergence": "warn",
            **protocol,
            **overrides,
        }
    )


def run_dir(variant: str, dataset: str) -> str:
    epochs, steps_per_epoch, _ = budget(dataset)
    group = f"{dataset}-{epochs * steps_per_epoch}steps-{eval_samples(dataset)}samples"
    return os.path.join(FLAGS.output_root, group, variant)


def read_rows(variant: str, dataset: str) -> list[dict]:
    path = os.path.join(run_dir(variant, dataset), "metrics.csv")
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def finished(variant: str, dataset: str) -> bool:
    """Whether the run's metrics.csv reaches its last step with a score."""
    rows = read_rows(variant, dataset)
    epochs, steps_per_epoch, _ = budget(dataset)
    return bool(
        rows and int(rows[-1]["step"]) >= epochs * steps_per_epoch and rows[-1].get("fd_classifier")
    )


def train_job(job: str) -> None:
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    import gan_tf

    dataset, variant = job.split("/")
    config = make_config(variant, dataset)
    gan_tf.train(config, run_dir(variant, dataset), verbose=0, restart=FLAGS.rerun)


def command_flags(overrides: dict) -> list[str]:
    """The overrides as command-line flags of experiments/train.py."""
    parts = []
    for key, value in overrides.items():
        if key == "arch":
            parts.append("--arch=" + ",".join(f"{k}={v}" for k, v in value.items()))
        elif value is True:
            parts.append(f"--{key}")
        else:
            parts.append(f"--{key}={value:g}" if isinstance(value, float) else f"--{key}={value}")
    return parts


def flag_text(overrides: dict) -> str:
    return " ".join(f"`{part}`" for part in command_flags(overrides)) or "(defaults)"


def summary(variant: str, dataset: str) -> dict | None:
    """FD, classes covered, ms/step and the last step of a run (None: no epoch yet)."""
    rows = read_rows(variant, dataset)
    if not rows:
        return None
    scored = [row for row in rows if row.get("fd_classifier")]
    last_step = int(rows[-1]["step"])
    timed = rows[1:] or rows  # after the first epoch (tracing, warm-up) where there is one
    first_step = int(rows[0]["step"]) if len(rows) > 1 else 0
    return {
        "step": last_step,
        "fd": float(scored[-1]["fd_classifier"]) if scored else None,
        "fd_step": int(scored[-1]["step"]) if scored else None,
        "classes": int(float(scored[-1]["classes_covered"])) if scored else None,
        "ms": 1000 * sum(float(row["seconds"]) for row in timed) / (last_step - first_step),
    }


def watchdog_events(variant: str, dataset: str) -> list[str]:
    path = os.path.join(run_dir(variant, dataset), "run.json")
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as handle:
        events = json.load(handle).get("events", [])
    return [f"{e.get('kind')} at step {e.get('step')} ({e.get('action')})" for e in events]


def table(dataset: str, variants: list[str], skipped: dict[str, str]) -> str:
    epochs, steps_per_epoch, _ = budget(dataset)
    steps, classes = epochs * steps_per_epoch, DATASETS[dataset]["classes"]
    protocol = "".join(f", `{flag}`" for flag in command_flags(DATASETS[dataset]["config"]))
    lines = [
        f"### {dataset}: dcgan, fast recipe, precision=auto{protocol}, {steps} generator "
        f"steps, {eval_samples(dataset)} samples",
        "",
        "| trick | flag(s) | classifier-FD ↓ | classes covered | ms/step | time vs plain "
        "| FD vs plain |",
        "|---|---|---|---|---|---|---|",
    ]
    plain = summary("plain", dataset) if finished("plain", dataset) else None
    notes = []
    for variant in variants:
        cells = [variant, flag_text(trick(variant, dataset))]
        result = None if variant in skipped else summary(variant, dataset)
        if variant in skipped:
            cells += ["not run: config rejected", "", "", "", ""]
            notes.append(f"{variant}: {skipped[variant]}")
        elif result is None:
            cells += ["not run", "", "", "", ""]
        else:
            fd = "—" if result["fd"] is None else f"{result['fd']:.2f}"
            if result["step"] < steps or result["fd_step"] != result["step"]:
                fd += f" (stopped at step {result['step']})"
            cells += [
                fd,
                "—" if result["classes"] is None else f"{result['classes']}/{classes}",
                f"{result['ms']:.0f}",
            ]
            if plain and result["fd"] is not None:
                ratio, difference = result["ms"] / plain["ms"], result["fd"] - plain["fd"]
                cells += [f"{ratio:.2f}x", f"{difference:+.2f}"]
            else:
                cells += ["—", "—"]
            notes += [f"{variant}: watchdog {e}" for e in watchdog_events(variant, dataset)]
        lines.append("| " + " | ".join(cells) + " |")
    if notes:
        lines += [""] + [f"- {note}" for note in notes]
    return "\n".join(lines)


def log_path(job: str) -> str:
    dataset, variant = job.split("/")
    return run_dir(variant, dataset) + ".log"


def run_jobs(jobs: list[str]) -> None:
    """Trains ``jobs`` in subprocesses, ``--parallel`` at a time; prints each one's
    wall time as it ends (and the end of its log if it failed)."""
    passed = [arg for arg in sys.argv[1:] if not arg.startswith(("--variants", "--datasets"))]
    pending, running = list(jobs), {}
    while pending or running:
        while pending and len(running) < FLAGS.parallel:
            job = pending.pop(0)
            os.makedirs(os.path.dirname(log_path(job)), exist_ok=True)
            with open(log_path(job), "a", encoding="utf-8") as log:
                process = subprocess.Popen(
                    [sys.executable, __file__, f"--job={job}", *passed],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            running[job] = (process, time.perf_counter())
        time.sleep(1)
        for job, (process, started) in list(running.items()):
            if process.poll() is None:
                continue
            del running[job]
            print(
                f"{job}: {time.perf_counter() - started:.0f} s wall, exit {process.returncode}",
                file=sys.stderr,
                flush=True,
            )
            if process.returncode:
                with open(log_path(job), encoding="utf-8") as log:
                    tail = log.read().splitlines()[-5:]
                print("\n".join(f"  {line}" for line in tail), file=sys.stderr, flush=True)


def main(argv):
    del argv
    if FLAGS.job:
        train_job(FLAGS.job)
        return
    import gan_tf

    variants = FLAGS.variants or list(VARIANTS)
    for name in variants:
        if name not in VARIANTS:
            raise app.UsageError(f"unknown variant {name!r}; choose from {list(VARIANTS)}")
    for dataset in FLAGS.datasets:
        if dataset not in DATASETS:
            raise app.UsageError(f"unknown dataset {dataset!r}; choose from {list(DATASETS)}")
    skipped = {dataset: {} for dataset in FLAGS.datasets}
    jobs = []
    for dataset in FLAGS.datasets:
        for variant in variants:
            try:
                make_config(variant, dataset)
            except gan_tf.ConfigError as error:
                skipped[dataset][variant] = str(error)
                print(f"note: skipping {dataset}/{variant}: {error}", file=sys.stderr)
                continue
            if FLAGS.rerun or not finished(variant, dataset):
                jobs.append(f"{dataset}/{variant}")
            else:
                print(f"{dataset}/{variant}: finished, reported as is", file=sys.stderr)
    run_jobs(jobs)
    for dataset in FLAGS.datasets:
        print(table(dataset, variants, skipped[dataset]) + "\n", flush=True)


if __name__ == "__main__":
    app.run(main)
