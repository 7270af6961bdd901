"""Time to quality: the old defaults vs the new ones (vs a plain loop), side by side.

    python benchmarks/time_to_quality.py [--task=fashion_mnist] [--arms=paper_float32,default,plain]
        [--targets=10,6,4.5] [--max_epochs=5] [--output_root=runs/time_to_quality_fashion_mnist]
        [--plot=docs/images/time_to_quality.png] [--replot]
    python benchmarks/time_to_quality.py --task=emoji --image_size=64 --arms=before,default
        --max_seconds=1800 --steps_per_eval=300 --plot=docs/images/time_to_quality_emoji.png

Arms, run one after the other in fresh subprocesses of this script (so each has
its own peak memory and thread pools), on the same machine in the same run.

``--task=emoji`` (colour, ``--image_size`` 32/64/128): ``before`` is the 64 px
default before issue 29 (dcgan with the Fashion-MNIST fast recipe, spelled out in
:data:`FAST_BEFORE`, on Keras' stock stride-2 layers: ``subpixel=false``),
``default`` today's ``gan-tf train --dataset=emoji``, and the
other :data:`EMOJI_ARMS` are the recipe sweep's levers. Each evaluation scores 2,000
samples against the 740 held-out emoji in the emoji classifier's features
(FD, KID, precision/recall, classes covered); ``--max_seconds`` stops an arm at
the first evaluation past that much training time; the printout adds the
seconds ``default`` needs to reach ``before``'s final FD, and ``--plot`` draws FD
and recall against seconds with every arm's grid at the same training time.
At its end each arm's last checkpoint is scored ``--final_draws`` times (noise
seeds 0, 1, ...) for the table's mean ± sd: one draw of 2,000 moves FD by about
10 % from seed to seed. ``--rescore`` adds those scores to arms already run.

``--task=fashion_mnist`` (the default):

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

import contextlib
import csv
import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import types

import _setup
from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_enum("task", "fashion_mnist", ["fashion_mnist", "emoji"], "Data and scoring.")
flags.DEFINE_integer("image_size", 64, "emoji: the side trained and scored (32, 64, 128).")
flags.DEFINE_list("arms", None, "Arms to run, in order (default: the task's first ones).")
flags.DEFINE_list("targets", None, "FD targets; the last is the goal (default: the task's).")
flags.DEFINE_float("max_epochs", 5, "Epoch budget per arm (in halves).")
flags.DEFINE_integer(
    "epochs",
    0,
    "With --steps_per_eval: the length (epochs) of every arm with an lr_decay and no epochs "
    "of its own; the other arms run until --max_seconds (0 = no limit for all).",
)
flags.DEFINE_integer(
    "default_epochs",
    0,
    "emoji: the default arm's epochs (0 = 25, the README's command); on a slower machine "
    "set it so the learning-rate decay ends near --max_seconds.",
)
flags.DEFINE_float("max_seconds", 0, "Training-seconds budget per arm (0 = none).")
flags.DEFINE_integer("eval_samples", None, "Generated images per evaluation (task default).")
flags.DEFINE_string("output_root", None, "Where the runs and results go.")
flags.DEFINE_string("plot", None, "Write FD-vs-seconds here (and the grids to *_grids.png).")
flags.DEFINE_string("data_dir", None, "Raw files of the dataset (default: the usual places).")
flags.DEFINE_bool("download", True, "Let tfds.load download Fashion-MNIST if not found.")
flags.DEFINE_integer("steps_per_eval", None, "Steps between evaluations (default: half an epoch).")
flags.DEFINE_integer("eval_every", 1, "Evaluate every N of those (half-)epochs.")
flags.DEFINE_bool("stop_at_goal", True, "Stop an arm at the first evaluation at the goal FD.")
flags.DEFINE_integer("parallel", 1, "Arms trained at once (the recipe sweep: 2, --threads=1).")
flags.DEFINE_integer("threads", 0, "TensorFlow intra/inter-op threads per arm (0 = TF's choice).")
flags.DEFINE_bool("replot", False, "Only redraw --plot from the arms' saved results.")
flags.DEFINE_integer(
    "final_draws",
    5,
    "Score each library arm's last checkpoint this many times (noise seeds 0..N-1, the "
    "evaluations' sample count each) for the table's mean ± sd (0 = not).",
)
flags.DEFINE_bool("rescore", False, "Only redo --final_draws on the arms' saved runs.")
flags.DEFINE_string("arm", None, "Internal: run this one arm in this process.")


@dataclasses.dataclass(frozen=True)
class Task:
    dataset: str
    examples: int  # training images (an epoch)
    classes: int
    metrics: str
    eval_samples: int
    targets: tuple[str, ...]
    arms: dict  # name -> config overrides; the first ``default_arms`` run by default
    default_arms: tuple[str, ...]
    title: str


# dcgan's fast recipe before issue 29 (lr 8e-4, EMA 0.999, base_width 32) at batch 64,
# precision auto: the default on Fashion-MNIST and on the 64 px emoji then.
FAST_BEFORE = {
    "model": "dcgan",
    "recipe": "paper",
    "learning_rate": 8e-4,
    "ema": 0.999,
    "arch": {"base_width": 32},
}
# ADA (DiffAugment's policy, its probability adapted to E[sign D(real)] = 0.6)
ADA = {"augment": "flip,translation,color", "ada_target": 0.6}
# the code before the sub-pixel convolutions too: Keras' stock stride-2 layers
BEFORE_STOCK = {**FAST_BEFORE, "arch": {"base_width": 32, "subpixel": False}}
FASHION_ARMS = {
    "paper_float32": {"recipe": "paper", "precision": "float32"},
    "before": BEFORE_STOCK,
    "default": {},
    "b32": {**FAST_BEFORE, "batch_size": 32},
    "w16_b32": {**FAST_BEFORE, "batch_size": 32, "arch": {"base_width": 16}},
    "w24_b32": {**FAST_BEFORE, "batch_size": 32, "arch": {"base_width": 24}},
    "b32_lr12": {**FAST_BEFORE, "batch_size": 32, "learning_rate": 1.2e-3},
    # the per-step levers on today's default, each one change
    "steps_per_call1": {"steps_per_call": 1},
    "steps_per_call4": {"steps_per_call": 4},
    "steps_per_call16": {"steps_per_call": 16},
    "xla": {"jit_compile": True},
    "simultaneous": {"update": "simultaneous"},
    # alternating, with G's update on the fakes D's update saw: one G forward pass fewer
    "reuse": {"update": "reuse"},
    "b16": {"batch_size": 16},
    # fewer steps: today's default with its learning rate decayed linearly to 0 over a
    # short run, as the colour recipe does; run with --steps_per_eval=375, so these
    # "epochs" of 375 steps make 1,875 steps (one real epoch at batch 32) and 3,750 (two)
    "decay_1875": {"lr_decay": "linear", "epochs": 5},
    "decay_3750": {"lr_decay": "linear", "epochs": 10},
}
EMOJI_ARMS = {
    "before": BEFORE_STOCK,
    # the README's command, `gan-tf train --dataset=emoji --epochs=25`: the colour recipe's
    # learning rate decays to 0 over the run, so the run's length is part of the recipe
    "default": {"epochs": 25},
    # the README's command since: `gan-tf train --dataset=emoji --minutes=30`, the epochs
    # timed on the machine so that the decay ends with the budget
    "minutes30": {"minutes": 30},
    # the same budget at base_width 32 (4x the FLOPs a step): on a CPU fast enough to give
    # it thousands of steps in 30 minutes, capacity rather than steps may be what is short
    "w32_minutes30": {"arch": {"base_width": 32}, "minutes": 30},
    # against the late recall sag of the widened default (0.69 at 631 s, 0.64 at its end,
    # D(x) 0.995: D memorises the set): mirror every image D sees (DiffAugment's flip,
    # about free a step), so D sees twice the distinct images
    "minutes30_flip": {"minutes": 30, "augment": "flip"},
    # or a gentler end: the rate decayed to a quarter, not to 0 (recall was 0.68 at 1,265 s,
    # where the rate was about 0.3x, and fell to 0.64 as it went to 0)
    "minutes30_floor25": {"minutes": 30, "lr_decay_to": 0.25},
    # a lower rate for the widened networks: Adam's best rate for a hidden layer falls
    # about as 1/width, and --widen doubles the width of the networks 8e-4 was tuned on
    "minutes30_lr5": {"minutes": 30, "learning_rate": 5e-4},
    # G's update on the fakes D's update saw (the PyTorch DCGAN example's step): one G
    # forward pass fewer (about a tenth of a 64 px step), so more steps in the budget; the
    # colour recipe's own since run M (so now minutes30's too), against its alternating step
    "minutes30_reuse": {"minutes": 30, "update": "reuse"},
    "minutes30_alternating": {"minutes": 30, "update": "alternating"},
    # the recipe sweep's levers, each one change from ``before``
    "lr4": {**FAST_BEFORE, "learning_rate": 4e-4},
    "lr2": {**FAST_BEFORE, "learning_rate": 2e-4},
    "w16": {**FAST_BEFORE, "arch": {"base_width": 16}},
    "b32": {**FAST_BEFORE, "batch_size": 32},
    "mbstd": {**FAST_BEFORE, "arch": {"base_width": 32, "minibatch_stddev": 4}},
    "ema9995": {**FAST_BEFORE, "ema": 0.9995},
    "w16_d32": {**FAST_BEFORE, "arch": {"base_width": 16, "d_base_width": 32}},
    "w16_b32": {**FAST_BEFORE, "arch": {"base_width": 16}, "batch_size": 32},
    "w16_lr4": {**FAST_BEFORE, "arch": {"base_width": 16}, "learning_rate": 4e-4},
    # wider, and the learning rate decayed linearly to 0 over ~30 min (of these epochs)
    "w24_b32_decay": {
        **FAST_BEFORE,
        "arch": {"base_width": 24},
        "batch_size": 32,
        "lr_decay": "linear",
        "epochs": 42,
    },
    "w32_b32_decay": {**FAST_BEFORE, "batch_size": 32, "lr_decay": "linear", "epochs": 25},
    # the colour recipe at base_width 24 (both networks) or 24 (G) / 32 (D), or 16 (the 64 px
    # default since), the decay fitted to <= 30 minutes of float32 steps on a 2-core CPU
    # without bfloat16
    "w24_decay15": {"arch": {"base_width": 24}, "epochs": 15},
    "g24_d32_decay15": {"arch": {"base_width": 24, "d_base_width": 32}, "epochs": 15},
    "w16_decay26": {"arch": {"base_width": 16}, "epochs": 26},
    "w16_decay37": {"arch": {"base_width": 16}, "epochs": 37},  # the default, ~30 min float32
    # a wider generator only (24) on the default's discriminator (16), ~30 min of float32
    "g24_d16_decay24": {"arch": {"base_width": 24, "d_base_width": 16}, "epochs": 24},
    # with ADA: late in w16_decay37, D(x) is 0.98 and D(G(z)) 0.02 (D wins); 34 epochs fit
    # ~30 min of float32 steps (ADA costs ~18 % a step)
    "w16_decay37_ada": {"arch": {"base_width": 16}, "epochs": 37, **ADA},
    "w16_decay34_ada": {"arch": {"base_width": 16}, "epochs": 34, **ADA},
    # the relativistic average loss (RaSGAN) on the default's nets: D judges reals against
    # the mean fake; its G step also scores the reals (~+2 % a step here)
    "w16_decay37_ra": {"arch": {"base_width": 16}, "epochs": 37, "loss": "relativistic"},
    # lazy R1 (StyleGAN2: every 16th step, weighted 16x; ~+3 % a step) against the late D
    # dominance; gamma 0.05 as r3gan's: at w16_decay37's end the term 0.5 E||grad D(x)||^2
    # is 2.9 on reals, so 0.05 x 2.9 = 0.14 against a D loss of 0.045
    "w16_decay37_r1": {
        "arch": {"base_width": 16},
        "epochs": 37,
        "r1_weight": 0.05,
        "penalty_every": 16,
    },
    # LeCam (Tseng 2021), made for D overfitting small sets; free. 0.01: with the sigmoid
    # loss a real score s against a_F = -s settles where 1 - sigmoid(s) = 4 x 0.01 x s,
    # s ~ 1.8 (D(x) ~ 0.86) instead of the 0.98 the default ends at
    "w16_decay37_lecam": {"arch": {"base_width": 16}, "epochs": 37, "lecam_weight": 0.01},
    # cgan: its default before issue 29 (the paper's settings) against today's
    "cgan_before": {"model": "cgan", "recipe": "paper"},
    "cgan_default": {"model": "cgan"},
    # R3GAN with its default (CPU-sized) knobs, the authors' loss, gammas and Adam, at the
    # colour recipe's batch and EMA (the authors' batch 512 and 5M-image EMA half-life are
    # for GPU runs of 20M+ images)
    "r3gan": {"model": "r3gan", "batch_size": 32, "ema": 0.999},
}
TASKS = {
    "fashion_mnist": Task(
        "fashion_mnist", 60_000, 10, "fd_classifier,coverage", 10_000, ("10", "6", "4.5"),
        FASHION_ARMS, ("paper_float32", "default", "plain"), "DCGAN on Fashion-MNIST",
    ),
    "emoji": Task(
        "emoji", 6_822, 9, "fd_classifier,kid_classifier,pr_classifier,coverage", 2_000,
        ("1.87", "0.95"), EMOJI_ARMS, ("before", "minutes30"), "emoji",
    ),
}  # fmt: skip
TITLES = {
    "paper_float32": "before: --recipe=paper --precision=float32",
    "default": "now: the defaults",
    "plain": "plain tutorial loop (paper nets, float32)",
    "before": "before: dcgan, the 28 px fast recipe",
    "w32_b32_decay": "colour recipe, base_width 32",
    "minutes30": "now: the defaults, --minutes=30",
    "w32_minutes30": "base_width 32, --minutes=30",
    "w24_decay15": "base_width 24, --epochs=15",
    "g24_d32_decay15": "base_width 24, d_base_width 32",
    "w16_decay26": "now: base_width 16, --epochs=26",
    "g24_d16_decay24": "base_width 24, d_base_width 16, --epochs=24",
    "w16_decay37_ada": "base_width 16, ADA, --epochs=37",
    "w16_decay34_ada": "base_width 16, ADA, --epochs=34",
}


class _Reached(Exception):
    """Raised by the callback once the goal FD or the time budget is reached."""


def _task() -> Task:
    return TASKS[FLAGS.task]


def _targets() -> list[str]:
    return FLAGS.targets or list(_task().targets)


def _output_root() -> str:
    if FLAGS.output_root:
        return FLAGS.output_root
    suffix = f"_{FLAGS.image_size}" if FLAGS.task == "emoji" else ""
    return f"runs/time_to_quality_{FLAGS.task}{suffix}"


def _config(overrides: dict):
    import gan_tf

    task = _task()
    extra = {"image_size": FLAGS.image_size} if task.dataset == "emoji" else {}
    base = {"model": "dcgan", "dataset": task.dataset, "data_dir": FLAGS.data_dir, **extra}
    return gan_tf.make_config(**{**base, "download": FLAGS.download, **overrides})


def _half_epoch(config) -> int:
    return FLAGS.steps_per_eval or _task().examples // config.batch_size // 2


def _goal() -> float:
    return min(float(target) for target in _targets())


def _penalties(config) -> float:
    """Gradient penalties a step computes on average (lazy ones: 1 / penalty_every each)."""
    count = sum(bool(w) for w in (config.gp_weight or config.r1_weight, config.r2_weight))
    return count / config.penalty_every


def run_library_arm(name: str, run_dir: str) -> dict:
    """One gan_tf.train run with half-epoch "epochs" (or --steps_per_eval) and
    --eval_every=1, stopped at the goal FD or after --max_seconds of training."""
    import gan_tf
    from gan_tf.build import build_networks

    task, overrides = _task(), _task().arms[name]
    if name == "default" and FLAGS.default_epochs:
        overrides = {**overrides, "epochs": FLAGS.default_epochs}
    resolved = _config(overrides)
    half = _half_epoch(resolved)
    if not FLAGS.steps_per_eval:
        epochs = int(2 * FLAGS.max_epochs)
    else:  # a length only where it sets a schedule: a constant-rate arm runs to the budget
        decays = resolved.lr_decay != "none"
        epochs = FLAGS.epochs if FLAGS.epochs and decays else 10_000
    if "minutes" not in overrides:  # a budget arm's epochs are timed by gan_tf.train
        overrides = {"epochs": epochs, **overrides}  # an arm's own: its lr_decay's length
    config = _config(
        {
            **overrides,
            "steps_per_epoch": half,
            "eval_every": FLAGS.eval_every,
            "eval_samples": FLAGS.eval_samples or task.eval_samples,
            "eval_metrics": task.metrics,
            "keep_checkpoints": 1,
        }
    )
    spent = []

    class StopAtGoal(gan_tf.Callback):
        def on_epoch_end(self, run, epoch, logs):
            spent.append(logs["seconds"])
            if "fd_classifier" not in logs:  # not an evaluation epoch
                return
            if FLAGS.stop_at_goal and logs["fd_classifier"] <= _goal():
                raise _Reached
            if FLAGS.max_seconds and sum(spent) >= FLAGS.max_seconds:
                raise _Reached

    try:
        gan_tf.train(config, run_dir, callbacks=[StopAtGoal()], verbose=0)
    except _Reached:
        pass
    saved = gan_tf.rundir.load_config(run_dir)
    with open(os.path.join(run_dir, "metrics.csv"), encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    shape = (28, 28, 1) if task.dataset == "fashion_mnist" else (*[FLAGS.image_size] * 2, 3)
    labelled = gan_tf.models.get_model(saved.model).needs_labels  # cgan: the class count
    generator, discriminator = build_networks(saved, shape, task.classes if labelled else None)
    return {
        "precision": saved.precision,
        "batch_size": saved.batch_size,
        "flops_per_step": _setup.train_step_flops(
            generator,
            discriminator,
            saved.batch_size,
            saved.update,
            penalties=_penalties(saved),
            n_critic=saved.n_critic,
        ),
        "evaluations": _evaluations(rows, run_dir),
        "grid": os.path.join(run_dir, "samples", f"epoch_{int(rows[-1]['epoch']):04d}.png"),
    }


OPTIONAL = {
    "kid": "kid_classifier",
    "precision": "precision_classifier",
    "recall": "recall_classifier",
}


def _evaluations(rows: list[dict], run_dir: str) -> list[dict]:
    """The scored epochs of metrics.csv, each with the training seconds since the last."""
    evaluations, seconds = [], 0.0
    for row in rows:
        seconds += float(row["seconds"])
        if not row.get("fd_classifier"):
            continue
        evaluations.append(
            {
                "step": int(row["step"]),
                "seconds": seconds,
                "fd": float(row["fd_classifier"]),
                "classes_covered": int(float(row["classes_covered"])),
                **{key: float(row[name]) for key, name in OPTIONAL.items() if row.get(name)},
                "grid": os.path.join(run_dir, "samples", f"epoch_{int(row['epoch']):04d}.png"),
            }
        )
        seconds = 0.0
    return evaluations


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
            generator, discriminator, config.batch_size, "simultaneous"
        ),
        "evaluations": evaluations,
        "grid": grid,
    }


def run_arm(name: str) -> None:
    """Runs arm ``name`` in this process; writes OUTPUT_ROOT/<name>.json."""
    if FLAGS.threads:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(FLAGS.threads)
        tf.config.threading.set_inter_op_parallelism_threads(FLAGS.threads)
    root = _output_root()
    run_dir = os.path.join(root, name)
    shutil.rmtree(run_dir, ignore_errors=True)  # a fresh run: resuming would skew the times
    result = run_plain_arm(run_dir) if name == "plain" else run_library_arm(name, run_dir)
    result["peak_memory_mb"] = _setup.peak_memory_mb()
    result["matmul_peak_flops"] = _setup.matmul_peak_flops(
        "bfloat16" if result["precision"] == "mixed_bfloat16" else "float32"
    )
    if name != "plain":
        result["final"] = final_scores(run_dir)
    _save_result(root, name, result)


def _save_result(root: str, name: str, result: dict) -> None:
    with open(os.path.join(root, f"{name}.json"), "w", encoding="utf-8") as handle:
        json.dump(result, handle, indent=1)


def final_scores(run_dir: str) -> dict | None:
    """The run's last checkpoint scored on ``--final_draws`` draws of samples (the
    evaluations' count each, against the same real images): ``{metric: [mean, sd]}``.
    One draw of 2,000 emoji moves FD by about 10 % from seed to seed, more than
    many of the differences between arms."""
    if not FLAGS.final_draws:
        return None
    from gan_tf import evaluation

    task = _task()
    record = evaluation.evaluate_run(
        run_dir,
        task.metrics,
        num_samples=FLAGS.eval_samples or task.eval_samples,
        repeats=FLAGS.final_draws,
        output=os.path.join(run_dir, "final_eval.json"),
        download=FLAGS.download,
        **({"data_dir": FLAGS.data_dir} if FLAGS.data_dir else {}),
    )
    spreads = record.get("metrics_std", {})
    return {
        name: [value, spreads.get(name, 0.0)]
        for name, value in record["metrics"].items()
        if not isinstance(value, list)
    }


def rescore(root: str, names: list[str]) -> None:
    """Adds ``final`` scores to the saved results of ``names`` (arms run before
    ``--final_draws``, or again with another count)."""
    for name in names:
        path = os.path.join(root, f"{name}.json")
        if name == "plain" or not os.path.exists(path):
            print(f"{name}: no saved result to rescore")
            continue
        with open(path, encoding="utf-8") as handle:
            result = json.load(handle)
        result["final"] = final_scores(os.path.join(root, name))
        _save_result(root, name, result)


def _first_at(evaluations: list[dict], target: float):
    """(elapsed seconds, step) of the first evaluation with FD <= target, else None."""
    return next(((e["elapsed"], e["step"]) for e in evaluations if e["fd"] <= target), None)


def summarise(name: str, result: dict) -> dict:
    """Seconds/steps to each target, the last values and the compute figures."""
    row, elapsed = {"arm": name, "precision": result["precision"]}, 0.0
    for evaluation in result["evaluations"]:
        elapsed += evaluation["seconds"]
        evaluation["elapsed"] = elapsed
    for target in _targets():
        row[f"fd{target}"] = _first_at(result["evaluations"], float(target))
    last = result["evaluations"][-1]
    steps = last["step"]
    row.update(
        seconds=elapsed,
        steps=steps,
        fd=last["fd"],
        best=min((e["fd"], e["elapsed"]) for e in result["evaluations"]),
        kid=last.get("kid"),
        precision_=last.get("precision"),
        recall=last.get("recall"),
        classes=last["classes_covered"],
        step_ms=1000 * elapsed / steps,
        flops=result["flops_per_step"] * steps / elapsed,
        peak=result["matmul_peak_flops"],
        memory=result["peak_memory_mb"],
        final=result.get("final"),
    )
    return row


def _optional(value, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def table(rows: list[dict]) -> str:
    targets = [f"s to FD {target} (steps)" for target in _targets()]
    header = ["arm", "precision", *targets, "stopped at: s, steps", "FD", "best FD (s)", "KID"]
    header += ["precision", "recall", "classes", "ms/step", "GFLOP/s (% of matmul peak)", "peak MB"]
    draws = next((row["final"] for row in rows if row.get("final")), None)
    if draws:
        header += [f"end FD, mean ± sd of {FLAGS.final_draws} draws", "end recall", "end KID"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = [row["arm"], row["precision"]]
        for target in _targets():
            reached = row.get(f"fd{target}")
            cells.append(f"{reached[0]:.0f} ({reached[1]})" if reached else "not reached")
        cells += [
            f"{row['seconds']:.0f}, {row['steps']}",
            f"{row['fd']:.2f}",
            f"{row['best'][0]:.2f} ({row['best'][1]:.0f})",
            _optional(row["kid"], ".4f"),
            _optional(row["precision_"], ".3f"),
            _optional(row["recall"], ".3f"),
            f"{row['classes']}/{_task().classes}",
            f"{row['step_ms']:.0f}",
            f"{row['flops'] / 1e9:.0f} ({100 * row['flops'] / row['peak']:.0f} %)",
            f"{row['memory']:.0f}",
        ]
        if draws:
            cells += _final_cells(row.get("final"))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _final_cells(final: dict | None) -> list[str]:
    if not final:
        return ["—"] * 3
    cells = [f"{final['fd_classifier'][0]:.2f} ± {final['fd_classifier'][1]:.2f}"]
    for name, spec in (("recall_classifier", ".3f"), ("kid_classifier", ".4f")):
        cells.append(_optional(final[name][0] if name in final else None, spec))
    return cells


def _at_time(evaluations: list[dict], seconds: float) -> dict:
    """The last evaluation reached within ``seconds`` of training (else the first)."""
    within = [e for e in evaluations if e["elapsed"] <= seconds + 1e-6]
    return within[-1] if within else evaluations[0]


def plot(rows: list[dict], results: dict, path: str) -> None:
    """FD (and recall, where scored) against training seconds; the grids of every arm
    at the same training time (the shortest arm's) beside it."""
    import imageio.v3 as iio
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with_recall = all(row["recall"] is not None for row in rows)
    figure, axes = plt.subplots(1, 2 if with_recall else 1, figsize=(10 if with_recall else 6.4, 4))
    axes = list(getattr(axes, "flat", [axes]))
    for row in rows:
        evaluations = results[row["arm"]]["evaluations"]
        label = TITLES.get(row["arm"], row["arm"])
        seconds = [e["elapsed"] for e in evaluations]
        axes[0].plot(seconds, [e["fd"] for e in evaluations], marker="o", label=label)
        if with_recall:
            axes[1].plot(seconds, [e["recall"] for e in evaluations], marker="o", label=label)
    for target in _targets():
        axes[0].axhline(float(target), color="gray", linewidth=0.5, linestyle=":")
    axes[0].set(xlabel="training seconds (2 CPU cores)", ylabel="classifier FD")
    axes[0].set_yscale("log")
    axes[0].legend(fontsize=8)
    if with_recall:
        axes[1].set(xlabel="training seconds (2 CPU cores)", ylabel="recall (k = 3)")
    size = f" {FLAGS.image_size} px" if FLAGS.task == "emoji" else ""
    figure.suptitle(f"{_task().title}{size}: quality against time", fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    common = min(row["seconds"] for row in rows)
    figure, grid_axes = plt.subplots(1, len(rows), figsize=(3.2 * len(rows), 3.6))
    for ax, row in zip(list(getattr(grid_axes, "flat", [grid_axes])), rows, strict=True):
        evaluations = results[row["arm"]]["evaluations"]
        shown = _at_time(evaluations, common) if "grid" in evaluations[0] else None
        image = iio.imread(shown["grid"] if shown else results[row["arm"]]["grid"])
        ax.imshow(image, cmap="gray")
        fd, seconds = (shown["fd"], shown["elapsed"]) if shown else (row["fd"], row["seconds"])
        ax.set_title(
            f"{TITLES.get(row['arm'], row['arm'])}\nFD {fd:.2f} after {seconds:.0f} s",
            fontsize=8,
        )
        ax.axis("off")
    figure.tight_layout()
    figure.savefig(path.replace(".png", "_grids.png"), dpi=110)
    plt.close(figure)


def _compare(by_arm: dict) -> list[str]:
    """Lines comparing ``default`` with the task's "before" arm: time to the before
    arm's final FD, and the goal's time ratio."""
    lines, before = [], by_arm.get("before") or by_arm.get("paper_float32")
    now = by_arm.get("default")
    if not (before and now):
        return lines
    final = before["final"]["fd_classifier"][0] if before.get("final") else before["fd"]
    reached = _first_at(now["evaluations"], final)
    lines.append(
        f"default reaches {before['arm']}'s final FD {final:.2f} "
        f"({before['seconds']:.0f} s) after "
        + (f"{reached[0]:.0f} s ({reached[1]} steps)" if reached else "— not reached")
    )
    goal = _targets()[-1]
    if before.get(f"fd{goal}") and now.get(f"fd{goal}"):
        ratio = now[f"fd{goal}"][0] / before[f"fd{goal}"][0]
        lines.append(f"default / {before['arm']} time to FD {goal}: {ratio:.0%}")
    return lines


def _load_result(root: str, name: str) -> dict:
    """An arm's saved result; for an arm stopped before it wrote one (a sweep cut
    short), its scores from metrics.csv without the compute figures."""
    path = os.path.join(root, f"{name}.json")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    run_dir = os.path.join(root, name)
    with open(os.path.join(run_dir, "metrics.csv"), encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    from gan_tf import rundir

    saved = rundir.load_config(run_dir)
    return {
        "precision": saved.precision,
        "batch_size": saved.batch_size,
        "flops_per_step": 0,
        "matmul_peak_flops": 1.0,
        "peak_memory_mb": 0.0,
        "evaluations": _evaluations(rows, run_dir),
        "grid": os.path.join(run_dir, "samples", f"epoch_{int(rows[-1]['epoch']):04d}.png"),
    }


@contextlib.contextmanager
def _arms_stopped_on_exit(started: list):
    """Inside, a SIGTERM (``kill``) or Ctrl-C of this script stops the arms it started:
    an orphaned arm would keep training and share the CPU with the next benchmark,
    spoiling both runs' seconds. The signal only raises ``SystemExit`` (128 + signum);
    the arms are terminated and reaped on the way out, not in the handler: the main
    thread is usually inside ``Popen.wait``, which is not re-entrant."""

    def stop(signum, frame):
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop), signal.signal(signal.SIGINT, stop)
    try:
        yield
    finally:
        for process in started:
            if process.poll() is None:
                process.terminate()  # the arm saves a checkpoint and exits
        for process in started:
            process.wait()
        signal.signal(signal.SIGTERM, previous[0])
        signal.signal(signal.SIGINT, previous[1])


def _wait(process) -> None:
    if process.wait():
        raise SystemExit(f"an arm failed: {' '.join(process.args)}")


def main(argv):
    del argv
    root, task = _output_root(), _task()
    os.makedirs(root, exist_ok=True)
    if FLAGS.arm:
        run_arm(FLAGS.arm)
        return
    passed = [arg for arg in sys.argv[1:] if not arg.startswith(("--arms", "--plot"))]
    results, rows = {}, []
    known = [*task.arms, *(["plain"] if task.dataset == "fashion_mnist" else [])]
    names = FLAGS.arms or task.default_arms
    for name in names:
        if name not in known:
            raise app.UsageError(f"unknown arm {name}; choose from {known}")
    if FLAGS.rescore:
        rescore(root, names)
    running, started = [], []
    with _arms_stopped_on_exit(started):
        for name in [] if FLAGS.replot or FLAGS.rescore else names:
            print(f"running {name} ...", flush=True)
            started.append(subprocess.Popen([sys.executable, __file__, f"--arm={name}", *passed]))
            running.append(started[-1])
            if len(running) == FLAGS.parallel:
                _wait(running.pop(0))
        for process in running:
            _wait(process)
    for name in names:
        results[name] = _load_result(root, name)
        row = summarise(name, results[name])
        row["evaluations"] = results[name]["evaluations"]
        rows.append(row)
    lines = [table(rows), "", *_compare({row["arm"]: row for row in rows})]
    text = "\n".join(lines)
    print(text)
    with open(os.path.join(root, "table.md"), "w", encoding="utf-8") as handle:
        handle.write(text + "\n")
    if FLAGS.plot:
        plot(rows, results, FLAGS.plot)


if __name__ == "__main__":
    app.run(main)
