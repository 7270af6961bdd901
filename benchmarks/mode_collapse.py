"""Mode collapse measured as PacGAN and VEEGAN measure it, next to their tables.

Trains each technique on the 2-D ring of 8 Gaussians, the 2-D grid of 25 and
Stacked MNIST for several seeds at a CPU budget and scores them by the papers'
protocols (gan_tf.eval.modes: modes covered, high-quality share and reverse KL on
2,500 samples for the toys; modes of 1,000 and KL on 26,000 samples for Stacked
MNIST). Each finished run appends one JSON line to --output, so an interrupted
benchmark keeps what it measured and a rerun skips it; --table prints the markdown
table (mean +- std over seeds) with the papers' figures beside gan_tf's.

    python benchmarks/mode_collapse.py --suite=toys
    python benchmarks/mode_collapse.py --suite=stacked
    python benchmarks/mode_collapse.py --table

(docs/benchmarks.md lists the runs behind its table.)
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import time

import _setup  # noqa: F401 - quiet logs, gan_tf from the checkout
import numpy as np
from absl import app, flags

import gan_tf

flags.DEFINE_enum("suite", "toys", ["toys", "stacked"], "Which datasets to train on.")
flags.DEFINE_list("seeds", ["0", "1"], "Seeds of each configuration.")
flags.DEFINE_list("toys", ["ring8", "grid25"], "The toy datasets of --suite=toys.")
flags.DEFINE_list("techniques", [], "Only these rows (default: all of the suite).")
flags.DEFINE_integer("toy_steps", 6000, "Generator updates per toy run.")
flags.DEFINE_integer("stacked_steps", 1200, "Generator updates per Stacked MNIST run.")
flags.DEFINE_string("stacked_dataset", "stacked_mnist_5k", "stacked_mnist or stacked_mnist_5k.")
flags.DEFINE_string("recipe", "fast", "The dcgan recipe of the Stacked MNIST runs (fast or paper).")
flags.DEFINE_string("output", "benchmarks/results/mode_collapse.jsonl", "JSON lines, one per run.")
flags.DEFINE_string("work_dir", "/tmp/gan_tf_mode_collapse", "Run directories (deleted after).")
flags.DEFINE_bool("table", False, "Print the markdown table of --output and exit.")
FLAGS = flags.FLAGS

# technique -> config overrides; a pack of m keeps the papers' batch of packs (100 on
# the toys, 64 on Stacked MNIST), so a step sees m times the samples
TOY_BATCH, STACKED_BATCH = 100, 64
TECHNIQUES = {
    "GAN": {},
    "PacGAN2": {"pack": 2},
    "PacGAN3": {"pack": 3},
    "PacGAN4": {"pack": 4},
    # the Unrolled GAN authors' demo: D learns at 1e-4, G at 1e-3 (at 1e-3 for both it
    # oscillated and ended on one mode: the row below, run with --techniques)
    "Unrolled GAN (5 steps)": {"unroll": 5, "d_learning_rate": 1e-4},
    "Unrolled GAN (5 steps; D at 1e-3)": {"unroll": 5},
    "Minibatch discrimination": {"arch": {"minibatch_discrimination": 50}},
    # the WGAN-GP authors' 2-D toy settings: penalty 0.1, 5 critic updates, beta_1 0.5
    "WGAN-GP": {"model": "wgan_gp", "gp_weight": 0.1, "beta_1": 0.5},
}
TOY_TECHNIQUES = tuple(name for name in TECHNIQUES if not name.endswith("D at 1e-3)"))
STACKED_TECHNIQUES = ("GAN", "PacGAN2", "PacGAN3", "PacGAN4", "Minibatch discrimination")

# The papers' figures (mean +- standard error, from the authors' repositories' table
# images: fjxmlzn/PacGAN results/Table1.png, Table2.png; akashgit/VEEGAN tab.png).
PAPERS = {
    ("ring8", "GAN"): "6.3±0.5 / 98.2±0.2 / 0.45±0.09 (PacGAN T1); 1 / 99.3 / – (VEEGAN T1)",
    ("ring8", "PacGAN2"): "7.9±0.1 / 95.6±2.0 / 0.07±0.03",
    ("ring8", "PacGAN3"): "7.8±0.1 / 97.7±0.3 / 0.10±0.02",
    ("ring8", "PacGAN4"): "7.8±0.1 / 95.9±1.4 / 0.07±0.02",
    ("ring8", "Unrolled GAN (5 steps)"): "7.6 / 35.6 / – (VEEGAN T1)",
    ("grid25", "GAN"): "17.3±0.8 / 94.8±0.7 / 0.70±0.07 (PacGAN T1); 3.3 / 0.5 / – (VEEGAN T1)",
    ("grid25", "PacGAN2"): "23.8±0.7 / 91.3±0.8 / 0.13±0.04",
    ("grid25", "PacGAN3"): "24.6±0.4 / 94.2±0.4 / 0.06±0.02",
    ("grid25", "PacGAN4"): "24.8±0.2 / 93.6±0.6 / 0.04±0.01",
    ("grid25", "Unrolled GAN (5 steps)"): "23.6 / 16 / – (VEEGAN T1)",
    ("stacked", "GAN"): "78.9±6.46 / 4.50±0.127 (PacGAN T2); 99.0 / 3.40 (VEEGAN T2)",
    ("stacked", "PacGAN2"): "1000.0±0.00 / 0.06±0.003",
    ("stacked", "PacGAN3"): "1000.0±0.00 / 0.06±0.003",
    ("stacked", "PacGAN4"): "1000.0±0.00 / 0.07±0.005",
    ("stacked", "Unrolled GAN (5 steps)"): "48.7 / 4.32 (VEEGAN T2)",
}


def _epochs(steps: int, examples: int, batch_size: int) -> dict:
    """``epochs`` and ``steps_per_epoch`` for ``steps`` updates (an epoch holds at most
    ``examples // batch_size``; ``steps_per_epoch`` only caps it)."""
    per_epoch = min(steps, examples // batch_size)
    if steps % per_epoch:
        per_epoch = next(n for n in range(per_epoch, 0, -1) if steps % n == 0)
    return {"epochs": steps // per_epoch, "steps_per_epoch": per_epoch}


def _config(dataset: str, technique: str, seed: int):
    overrides = dict(TECHNIQUES[technique])
    pack = overrides.get("pack", 1)
    overrides.setdefault("model", "dcgan")
    values = dict(seed=seed, log_every=100, check_memory=False, dataset=dataset, **overrides)
    if dataset in ("ring8", "grid25"):
        # the toy MLP every variant uses on points; Adam 1e-3 (beta_1 0.5) to learn
        # within the CPU budget (PacGAN: 1e-4, beta_1 0.8, 400k updates)
        values.update(batch_size=TOY_BATCH * pack, learning_rate=1e-3)
        steps, examples = FLAGS.toy_steps, 100_000
    else:
        values.update(recipe=FLAGS.recipe, batch_size=STACKED_BATCH * pack)
        values.update(eval_metrics="modes", eval_samples=26_000)
        steps, examples = FLAGS.stacked_steps, 128_000
    n_critic = gan_tf.make_config(**values).n_critic  # a step reads n_critic batches
    epochs = _epochs(steps, examples, values["batch_size"] * n_critic)
    if "eval_metrics" in values:
        values["eval_every"] = epochs["epochs"]  # once, at the end
    return gan_tf.make_config(**values, **epochs)


def _run(dataset: str, technique: str, seed: int) -> dict:
    config = _config(dataset, technique, seed)
    name = f"{dataset}_{technique.split()[0]}_{seed}_{config.steps_per_epoch * config.epochs}"
    run_dir = os.path.join(FLAGS.work_dir, f"{name}_{config.recipe}")
    shutil.rmtree(run_dir, ignore_errors=True)
    start = time.perf_counter()
    summary = gan_tf.train(config, run_dir, verbose=0)
    seconds = time.perf_counter() - start
    with open(os.path.join(run_dir, "metrics.csv"), encoding="utf-8") as handle:
        last = list(csv.DictReader(handle))[-1]
    keys = ("modes_covered", "high_quality", "reverse_kl", "mode_kl")
    row = {key: float(last[key]) for key in keys if last.get(key) not in (None, "")}
    shutil.rmtree(run_dir, ignore_errors=True)
    return {
        "dataset": "stacked" if dataset.startswith("stacked") else dataset,
        "technique": technique,
        "seed": seed,
        "steps": int(summary["step"]),
        "recipe": config.recipe,
        "batch_size": config.batch_size,
        "seconds": round(seconds, 1),
        **row,
    }


def _done() -> set:
    if not os.path.exists(FLAGS.output):
        return set()
    with open(FLAGS.output, encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    return {(r["dataset"], r["technique"], r["seed"], r["steps"], _recipe(r)) for r in rows}


def _recipe(row: dict) -> str:
    return row.get("recipe", "fast")


def _mean_std(values) -> str:
    values = np.asarray(values, dtype=np.float64)
    return f"{values.mean():.3g}±{values.std():.2g}" if len(values) > 1 else f"{values[0]:.3g}"


def table(rows: list[dict]) -> str:
    """The markdown table: one line per (dataset, technique), mean±std over seeds."""
    lines = [
        "| data | technique | seeds | steps | gan_tf: modes / high quality % / reverse KL "
        "(toys); modes / KL (Stacked MNIST) | papers |",
        "|---|---|---|---|---|---|",
    ]
    order = ("ring8", "grid25", "stacked")
    budgets = {(r["dataset"], r["steps"], _recipe(r)) for r in rows}
    for dataset, steps, recipe in sorted(budgets, key=lambda b: (order.index(b[0]), b[1], b[2])):
        for technique in TECHNIQUES:
            chosen = [
                r
                for r in rows
                if (r["dataset"], r["technique"], r["steps"], _recipe(r))
                == (dataset, technique, steps, recipe)
            ]
            if not chosen:
                continue
            if dataset == "stacked":
                ours = " / ".join(
                    _mean_std([r[k] for r in chosen]) for k in ("modes_covered", "mode_kl")
                )
            else:
                ours = " / ".join(
                    _mean_std([r[k] * (100 if k == "high_quality" else 1) for r in chosen])
                    for k in ("modes_covered", "high_quality", "reverse_kl")
                )
            lines.append(
                f"| {dataset} | {technique}{'' if recipe == 'fast' else f' (--recipe={recipe})'} | "
                f"{len(chosen)} | {chosen[0]['steps']} | {ours} | "
                f"{PAPERS.get((dataset, technique), '–')} |"
            )
    return "\n".join(lines)


def main(argv):
    del argv
    if FLAGS.table:
        with open(FLAGS.output, encoding="utf-8") as handle:
            print(table([json.loads(line) for line in handle if line.strip()]))
        return
    datasets = tuple(FLAGS.toys) if FLAGS.suite == "toys" else (FLAGS.stacked_dataset,)
    names = FLAGS.techniques or (TOY_TECHNIQUES if FLAGS.suite == "toys" else STACKED_TECHNIQUES)
    os.makedirs(os.path.dirname(FLAGS.output) or ".", exist_ok=True)
    done = _done()
    for seed in (int(s) for s in FLAGS.seeds):
        for dataset in datasets:
            for technique in names:
                steps = FLAGS.toy_steps if FLAGS.suite == "toys" else FLAGS.stacked_steps
                short = "stacked" if dataset.startswith("stacked") else dataset
                if (short, technique, seed, steps, FLAGS.recipe) in done:
                    continue
                row = _run(dataset, technique, seed)
                print(json.dumps(row), flush=True)
                with open(FLAGS.output, "a", encoding="utf-8") as handle:
                    handle.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    app.run(main)
