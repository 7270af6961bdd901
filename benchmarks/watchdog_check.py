"""The divergence watchdog's default thresholds against existing healthy runs.

    python benchmarks/watchdog_check.py [--run_dirs=runs/a,runs/b] [--runs_root=runs]
        [--nodiverge] [--diverge_steps=40]

With the defaults of :class:`gan_tf.config.TrainConfig` (``divergence_loss``,
``saturation_steps``, ``min_diversity``) it reports, for every run directory given
(default: every directory under ``--runs_root`` with a ``losses.csv`` and a
``config.json``):

1. what :meth:`gan_tf.watchdog.Watchdog.check_step` would say over the run's
   ``losses.csv``. Those rows are ``--log_every`` window means, not single steps:
   each row's means stand in for every step of its window, so per-step extremes
   (a single step's loss spike, a short saturated stretch) can be larger than
   what this replay sees. Reported: the steps covered, the largest ``|loss or D
   score|``, the longest stretch of saturated windows (D(x) > 0.99 and D(G(z)) <
   0.01, sigmoid losses only) in steps, and the events that would fire;
2. the newest checkpoint's epoch diversity, computed as the training loop does:
   the fixed-noise epoch grid (class rows for conditional runs) against as many
   of the run's first training images, next to ``min_diversity``, and what
   ``check_diversity`` would say at that checkpoint's step (nothing before step
   ``COLLAPSE_WARMUP_STEPS``);
3. the evaluations in the run's ``metrics.csv`` (``--eval_every`` or a benchmark's
   scoring) replayed through ``check_eval`` with ``worse_evals``: how many, the
   primary metric's first and best values, and the events that would fire;
4. (``--diverge``) a tiny dcgan run on Fashion-MNIST at learning rate 1e8, once
   with ``on_divergence=warn`` and once with ``stop``: the events it records and
   the error line.

Healthy runs should fire nothing; the diverging run should fire within a few steps.
"""

from __future__ import annotations

import csv
import dataclasses
import glob
import os
import tempfile
import time

import _setup  # noqa: F401 - quiet TF logs; gan_tf importable from the checkout
from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_list("run_dirs", None, "Run directories (default: every run under --runs_root).")
flags.DEFINE_string("runs_root", "runs", "Where to look for runs when --run_dirs is not given.")
flags.DEFINE_boolean("diversity", True, "Also load each run's newest checkpoint (part 2).")
flags.DEFINE_boolean("diverge", True, "Also train a tiny run at learning rate 1e8 (part 3).")
flags.DEFINE_integer("diverge_steps", 40, "Steps of the diverging run.")


def watchdog_defaults() -> dict:
    """The watchdog fields' defaults of :class:`gan_tf.config.TrainConfig`."""
    from gan_tf.config import TrainConfig

    names = ("divergence_loss", "saturation_steps", "min_diversity", "worse_evals")
    return {f.name: f.default for f in dataclasses.fields(TrainConfig) if f.name in names}


def find_runs(root: str) -> list[str]:
    """Every directory under ``root`` (itself included) with a losses.csv and config.json."""
    found = {
        os.path.dirname(path)
        for path in glob.glob(os.path.join(root, "**", "losses.csv"), recursive=True)
    }
    return sorted(d for d in found if os.path.exists(os.path.join(d, "config.json")))


def replay_losses(run_dir: str, sigmoid_outputs: bool, defaults: dict) -> dict:
    """Replays ``check_step`` over the run's losses.csv, each window mean standing in
    for every step of its window."""
    from gan_tf.watchdog import SATURATED_FAKE, SATURATED_REAL, Watchdog

    watchdog = Watchdog(
        divergence_loss=defaults["divergence_loss"],
        saturation_steps=defaults["saturation_steps"],
        sigmoid_outputs=sigmoid_outputs,
    )
    with open(os.path.join(run_dir, "losses.csv"), encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    events, peak, peak_key, last_steps = [], 0.0, "-", {}
    longest = current = steps = 0
    previous = 0
    for row in rows:
        step, epoch = int(row["step"]), int(row["epoch"])
        values = {
            key: float(value)
            for key, value in row.items()
            if key not in ("epoch", "step") and value not in ("", None)
        }
        last_steps[epoch] = step
        width = step - previous if step > previous else 1  # the window's steps
        previous = step
        steps += width
        for key, value in values.items():
            if abs(value) > peak:
                peak, peak_key = abs(value), key
        if sigmoid_outputs and "d_real" in values and "d_fake" in values:
            saturated = values["d_real"] > SATURATED_REAL and values["d_fake"] < SATURATED_FAKE
            current = current + width if saturated else 0
            longest = max(longest, current)
        for inner in range(step - width + 1, step + 1):
            event = watchdog.check_step(values, inner, epoch)
            if event is not None:
                events.append(f"{event.kind}@{event.step}")
    return {
        "rows": len(rows),
        "steps": steps,
        "peak": f"{peak:.3g} ({peak_key})",
        "saturated": f"{longest}" if sigmoid_outputs else "n/a (raw scores)",
        "events": ", ".join(events) or "none",
        "last_steps": last_steps,
    }


_DATA_CACHE: dict = {}


def real_images(config, count: int):
    """The first ``count`` training images of the run's data as float in [-1, 1]."""
    from gan_tf import data
    from gan_tf.models import get_model

    conditional = get_model(config.model).conditional
    key = (config.dataset, config.data_dir, config.max_examples, config.image_size)
    key += (config.background, conditional, count)
    if key not in _DATA_CACHE:
        dataset = data.load_dataset(
            config.dataset,
            data_dir=config.data_dir,
            with_labels=conditional,
            max_examples=config.max_examples,
            image_size=config.image_size,
            download=False,
            background=config.background,
        )
        _DATA_CACHE[key] = data.first_examples(dataset, count)
    return _DATA_CACHE[key]


def checkpoint_diversity(run_dir: str, last_steps: dict, defaults: dict) -> list[str]:
    """[checkpoint epoch (step), diversity of its fixed-noise epoch grid, what
    ``check_diversity`` says] as table cells; ``last_steps``: epoch -> its last step."""
    import gan_tf
    from gan_tf import data, rundir, sampling
    from gan_tf.watchdog import COLLAPSE_WARMUP_STEPS, Watchdog, diversity

    epoch = rundir.checkpoint_epoch(run_dir)
    if epoch is None:
        return ["-", "no checkpoint", "-"]
    step = last_steps.get(epoch)
    run = gan_tf.load_run(run_dir)
    config = run.config
    if data.is_toy(config.dataset):
        return [f"{epoch} ({step})", "toy (not an image grid)", "-"]
    noise, labels = sampling.epoch_grid_inputs(  # the training loop's epoch grid
        config.seed, config.latent_dim, config.grid_size, run.num_classes
    )
    samples = run.generate(noise, None if labels is None else labels.numpy())
    value = diversity(samples, real_images(config, len(samples)))
    if step is None:
        verdict = "step unknown"
    else:
        event = Watchdog(min_diversity=defaults["min_diversity"]).check_diversity(
            value, step, epoch
        )
        verdict = event.kind if event else "none"
        if step < COLLAPSE_WARMUP_STEPS:
            verdict += f" (step < {COLLAPSE_WARMUP_STEPS}: warm-up)"
    return [f"{epoch} ({step})", f"{value:.3f}", verdict]


def replay_evaluations(run_dir: str, defaults: dict) -> list[str] | None:
    """Part 3: the primary metric of ``metrics.csv`` through ``check_eval``; table
    cells, or ``None`` when the run has no evaluations."""
    from gan_tf.eval.names import primary_metric
    from gan_tf.watchdog import Watchdog

    path = os.path.join(run_dir, "metrics.csv")
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    primary = primary_metric(
        [key for key in (rows[0] if rows else {}) if any(r[key] for r in rows)]
    )
    if primary is None:
        return None
    name, higher = primary
    watchdog, values, events = Watchdog(worse_evals=defaults["worse_evals"]), [], []
    for row in rows:
        if row[name]:
            values.append(float(row[name]))
            event, _ = watchdog.check_eval(
                name, values[-1], higher, int(row["step"]), int(row["epoch"])
            )
            if event is not None:
                events.append(f"{event.kind}@{event.step}")
    best = max(values) if higher else min(values)
    return [
        run_dir,
        name,
        str(len(values)),
        f"{values[0]:.3g}",
        f"{best:.3g}",
        ", ".join(events) or "none",
    ]


def diverging_run(on_divergence: str) -> tuple[str, str]:
    """Trains the lr-1e8 run with ``on_divergence``; (events, outcome) as table cells."""
    import gan_tf
    from gan_tf import rundir

    config = gan_tf.make_config(
        model="dcgan",
        dataset="fashion_mnist",
        learning_rate=1e8,
        epochs=1,
        steps_per_epoch=FLAGS.diverge_steps,
        max_examples=3000,
        precision="float32",
        on_divergence=on_divergence,
    )
    with tempfile.TemporaryDirectory() as run_dir:
        started = time.perf_counter()
        try:
            summary = gan_tf.train(config, run_dir, verbose=0)
            events, outcome = summary["events"], f"finished at step {summary['step']}"
        except gan_tf.TrainingDivergedError as error:  # events from run.json
            events = rundir.run_info(run_dir).get("events", [])
            outcome = f"TrainingDivergedError: {str(error).replace(run_dir, '<run_dir>')}"
        seconds = time.perf_counter() - started
    cells = [f"{e['kind']}@{e['step']} ({e['action']}): {e['message']}" for e in events]
    return "; ".join(cells) or "none", f"{outcome} [{seconds:.0f} s]"


def main(argv):
    del argv
    from gan_tf.losses import get_loss
    from gan_tf.rundir import load_config

    defaults = watchdog_defaults()
    print(
        "Watchdog defaults: "
        + ", ".join(f"{name}={value:g}" for name, value in defaults.items())
        + "\n"
    )
    run_dirs = FLAGS.run_dirs if FLAGS.run_dirs is not None else find_runs(FLAGS.runs_root)
    print(
        "## Healthy runs: check_step replayed over losses.csv\n\n"
        "losses.csv rows are --log_every window means (each stands in for every step of its "
        "window), so per-step extremes may be larger than these.\n"
    )
    if not run_dirs:
        print(f"(no runs with losses.csv and config.json under {FLAGS.runs_root!r})\n")
    else:
        columns = "| run | model | dataset | loss | rows | steps | max abs value | "
        columns += "longest saturated (steps) | events |"
        if FLAGS.diversity:
            columns += f" ckpt epoch (step) | diversity (min {defaults['min_diversity']:g}) |"
            columns += " collapse event |"
        print(columns)
        print("|---" * columns.count(" | ") + "|---|")
        for run_dir in run_dirs:
            cells = [run_dir]
            try:
                config = load_config(run_dir)
                sigmoid = get_loss(config.loss).sigmoid_outputs
                found = replay_losses(run_dir, sigmoid, defaults)
                cells += [config.model, config.dataset, config.loss]
                cells += [str(found[key]) for key in ("rows", "steps", "peak", "saturated")]
                cells.append(found["events"])
                if FLAGS.diversity:
                    cells += checkpoint_diversity(run_dir, found["last_steps"], defaults)
            except Exception as error:  # one bad run does not hide the others
                cells.append(f"error: {type(error).__name__}: {error}".splitlines()[0])
            print("| " + " | ".join(cells) + " |", flush=True)
        print()
    evaluated = [
        cells for cells in map(lambda d: replay_evaluations(d, defaults), run_dirs) if cells
    ]
    if evaluated:
        print("## Healthy runs: check_eval replayed over metrics.csv\n")
        print("| run | primary metric | evaluations | first | best | events |")
        print("|---|---|---|---|---|---|")
        for cells in evaluated:
            print("| " + " | ".join(cells) + " |")
        print()
    if FLAGS.diverge:
        print(
            f"## Diverging run: dcgan, fashion_mnist, learning_rate=1e8, "
            f"{FLAGS.diverge_steps} steps, float32\n"
        )
        print("| on_divergence | events (kind@step (action): message) | outcome |")
        print("|---|---|---|")
        for action in ("warn", "stop"):
            events, outcome = diverging_run(action)
            print(f"| {action} | {events} | {outcome} |", flush=True)


if __name__ == "__main__":
    app.run(main)
