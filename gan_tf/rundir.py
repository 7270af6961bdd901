"""The run directory: one module owns its files, checkpoints and the rules of resuming.

::

    RUN/
      config.json            the resolved config (updated when a resume changes a field)
      run.json               what the data fixed: sample shape, number of classes,
                             whether the networks were your own
      checkpoints/           tf.train.CheckpointManager: networks, optimizers, step, epoch, RNG
      samples/epoch_0001.png fixed-noise grid per epoch (class rows for conditional
                             models; a scatter of real vs generated points for 2-D toys)
      progress.gif           the epoch pictures as an animation
      metrics.csv            one row per epoch (mean losses, D scores, seconds; toy mode
                             metrics; --eval_every metrics on the epochs they ran)
      metrics.png            metric-vs-epoch panels
      losses.csv, losses.png one row per --log_every steps (window means) and its plot
      eval.json              written by experiments/evaluate.py
      export/, animations/   written by experiments/export.py and animate.py
      logs/                  TensorBoard scalars and sample images

Resume rules: rerunning on the same directory restores the latest checkpoint
and drops every output of later epochs, so an interrupted run continues
exactly. Fields in :data:`gan_tf.config.FIXED_FIELDS` cannot change on
resume; every other field may, takes effect, and is reported once.
"""

from __future__ import annotations

import csv
import json
import os

import keras
import tensorflow as tf

from gan_tf import distribute, visualize
from gan_tf.build import build_networks
from gan_tf.config import FIXED_FIELDS, TrainConfig, config_from_dict
from gan_tf.errors import ConfigError, RunNotFoundError
from gan_tf.files import write_json

__all__ = [
    "Checkpoints",
    "append_csv",
    "apply_learning_rates",
    "check_same_networks",
    "checkpoint_epoch",
    "find_checkpoint",
    "default_run_dir",
    "has_config",
    "load_config",
    "open_run",
    "resume_changes",
    "restore_generator",
    "run_info",
    "truncate_csv",
]

CONFIG_FILE = "config.json"
RUN_FILE = "run.json"


def default_run_dir(model: str, dataset: str) -> str:
    """``runs/<model>_<dataset>`` (``folder:PATH`` datasets made file-name safe)."""
    safe_dataset = dataset.replace(":", "_").replace(os.sep, "_").strip("_")
    return os.path.join("runs", f"{model}_{safe_dataset}")


def has_config(run_dir: str) -> bool:
    """Whether ``run_dir`` holds a run's ``config.json``."""
    return os.path.exists(os.path.join(run_dir, CONFIG_FILE))


def load_config(run_dir: str) -> TrainConfig:
    """The config a run was trained with (its ``config.json``).

    Raises:
      ConfigError: the file has keys that are not config fields.
    """
    path = os.path.join(run_dir, CONFIG_FILE)
    with open(path, encoding="utf-8") as handle:
        return config_from_dict(json.load(handle), source=path)


def run_info(run_dir: str) -> dict:
    """What a run's data fixed: ``{"shape": [...], "num_classes": int or None,
    "custom_networks": bool}``."""
    with open(os.path.join(run_dir, RUN_FILE), encoding="utf-8") as handle:
        info = json.load(handle)
    info.setdefault("custom_networks", False)
    return info


def resume_changes(config: TrainConfig, run_dir: str) -> list[tuple[str, object, object]]:
    """The fields ``config`` changes against the run saved in ``run_dir``, as
    ``(name, saved, now)``; empty for a new run.

    Raises:
      ConfigError: an architecture field differs (the run cannot be resumed with it).
    """
    if not has_config(run_dir):
        return []
    saved = load_config(run_dir)
    changes = [
        (name, value, getattr(config, name))
        for name, value in saved.to_dict().items()
        if value != getattr(config, name)
    ]
    refused = [change for change in changes if change[0] in FIXED_FIELDS]
    if refused:
        listed = ", ".join(f"{name}={old} (now {new})" for name, old, new in refused)
        if saved.recipe != config.recipe:
            listed += f" from recipe={saved.recipe}"
        raise ConfigError(
            f"{run_dir} holds a run with {listed}; pass the same values to resume it or "
            "choose another output_dir",
            *(name for name, _, _ in refused),
            "output_dir",
        )
    return changes


class Checkpoints:
    """Restores the run's latest checkpoint and saves new ones.

    Every worker saves (a multi-worker save may need all of them), but only the
    chief into ``RUN/checkpoints``; the others write into a scratch directory
    that is deleted straight after. All workers restore the chief's checkpoints
    (``RUN`` must be on a file system every worker sees).
    """

    def __init__(self, run_dir: str, checkpoint: tf.train.Checkpoint, keep: int, worker: str):
        self.directory = os.path.join(run_dir, "checkpoints")
        self.scratch = os.path.join(self.directory, f".{worker}") if worker else None
        self.checkpoint = checkpoint
        self.manager = tf.train.CheckpointManager(
            checkpoint, self.scratch or self.directory, max_to_keep=keep
        )

    def restore(self) -> None:
        """Restores the latest checkpoint, if any.

        Raises:
          ConfigError: the checkpoint does not fit the networks or optimizers built
            now (e.g. your own networks with another architecture).
        """
        latest = tf.train.latest_checkpoint(self.directory)
        if latest:
            _restore(self.checkpoint, latest, os.path.dirname(self.directory))

    def save(self, epoch: int) -> None:
        self.manager.save(checkpoint_number=epoch)
        if self.scratch:
            tf.io.gfile.rmtree(self.scratch)


def _restore(checkpoint: tf.train.Checkpoint, path: str, run_dir: str):
    try:
        return checkpoint.restore(path).assert_existing_objects_matched()
    except (AssertionError, ValueError) as error:
        first = str(error).strip().splitlines()[0][:200]
        raise ConfigError(
            f"{run_dir}'s checkpoint does not fit the networks built now ({first}); resume "
            "with the same networks and fixed fields, or choose another output_dir",
            "output_dir",
        ) from None


def check_same_networks(run_dir: str, custom: bool) -> None:
    """Refuses to resume a run with your own networks as a registered model's run,
    and the other way round.

    Raises:
      ConfigError: the run was trained the other way.
    """
    if not os.path.exists(os.path.join(run_dir, RUN_FILE)):
        return
    if run_info(run_dir)["custom_networks"] != custom:
        was = "your own networks" if not custom else "the registered model's networks"
        raise ConfigError(
            f"{run_dir} was trained with {was}; resume it the same way or choose another "
            "output_dir",
            "output_dir",
        )


def apply_learning_rates(config: TrainConfig, generator_optimizer, discriminator_optimizer):
    """Gives restored optimizers the config's learning rates (a checkpoint holds the
    rate it was saved with). With ``lr_decay`` the schedule is rebuilt from the
    config anyway."""
    if config.lr_decay != "none":
        return
    generator_optimizer.learning_rate = config.learning_rate
    discriminator_optimizer.learning_rate = config.d_learning_rate or config.learning_rate


def open_run(
    config: TrainConfig,
    run_dir: str,
    checkpoint: tf.train.Checkpoint,
    info: dict,
    strategy,
) -> Checkpoints:
    """Restores the run's latest checkpoint (``checkpoint.epoch`` then holds its
    epoch), then creates the run directory, saves the config and ``info`` and drops
    every output of epochs after the checkpoint. Only the chief writes, and nothing
    is written when the checkpoint does not fit.

    Raises:
      ConfigError: the checkpoint does not fit what was built.
    """
    chief = distribute.is_chief(strategy)
    worker = "" if chief else distribute.task_id(strategy)
    checkpoints = Checkpoints(run_dir, checkpoint, config.keep_checkpoints, worker)
    checkpoints.restore()
    if not chief:
        return checkpoints
    for sub in ("checkpoints", "samples", "logs"):
        os.makedirs(os.path.join(run_dir, sub), exist_ok=True)
    write_json(os.path.join(run_dir, CONFIG_FILE), config.to_dict(), sort_keys=True)
    write_json(os.path.join(run_dir, RUN_FILE), info)
    last_epoch = int(checkpoint.epoch.numpy())
    for name in ("metrics.csv", "losses.csv"):
        truncate_csv(os.path.join(run_dir, name), last_epoch)
    for picture in visualize.epoch_grids(run_dir):
        if int(os.path.basename(picture)[len("epoch_") : -len(".png")]) > last_epoch:
            os.remove(picture)
    return checkpoints


def truncate_csv(path: str, last_epoch: int) -> None:
    """Keeps the rows of epochs <= last_epoch (drops un-checkpointed work)."""
    if not os.path.exists(path):
        return
    with open(path, encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        fields = reader.fieldnames or []
        rows = [row for row in reader if int(row["epoch"]) <= last_epoch]
    _write_csv(path, fields, rows)


def _write_csv(path: str, fields, rows) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, restval="")
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, path)


def append_csv(path: str, row: dict) -> None:
    """Appends ``row``; a row with new columns (e.g. evaluation metrics) rewrites the
    file with the union of columns, leaving earlier rows' new cells empty."""
    header, rows = [], []
    if os.path.exists(path) and os.path.getsize(path) > 0:
        with open(path, encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            header = list(reader.fieldnames or [])
            rows = list(reader)
        if set(row) <= set(header):
            with open(path, "a", newline="", encoding="utf-8") as handle:
                csv.DictWriter(handle, fieldnames=header, restval="").writerow(row)
            return
    _write_csv(path, header + [name for name in row if name not in header], [*rows, row])


def checkpoint_epoch(run_dir: str) -> int | None:
    """The epoch of the run's latest checkpoint, or ``None`` before the first."""
    latest = tf.train.latest_checkpoint(os.path.join(run_dir, "checkpoints"))
    return int(latest.rsplit("-", 1)[1]) if latest else None


def find_checkpoint(run_dir: str, checkpoint: int | str | None = None) -> str:
    """The checkpoint prefix to load: the latest (``None``), the one saved at the end
    of epoch ``checkpoint`` (an int), or a path (``.../ckpt-7``, ``.index`` optional).

    Raises:
      RunNotFoundError: no checkpoint yet, that epoch's was not kept (the message lists
        the kept ones), or the path is not a checkpoint.
    """
    directory = os.path.join(run_dir, "checkpoints")
    if checkpoint is None:
        latest = tf.train.latest_checkpoint(directory)
        if latest is None:
            raise RunNotFoundError(f"{run_dir} has no checkpoint yet; train it first")
        return latest
    if isinstance(checkpoint, int):
        path = os.path.join(directory, f"ckpt-{checkpoint}")
        if not os.path.exists(path + ".index"):
            state = tf.train.get_checkpoint_state(directory)
            kept = [p.rsplit("-", 1)[1] for p in state.all_model_checkpoint_paths] if state else []
            raise RunNotFoundError(
                f"{run_dir} has no checkpoint for epoch={checkpoint} (kept: "
                f"{', '.join(kept) or 'none'}); runs keep the last keep_checkpoints "
                "checkpoints, saved every checkpoint_every epochs",
                "epoch",
            )
        return path
    path = os.path.expanduser(str(checkpoint))
    path = path[: -len(".index")] if path.endswith(".index") else path
    if not os.path.exists(path + ".index"):
        raise RunNotFoundError(
            f"checkpoint={checkpoint} is not a checkpoint (no {os.path.basename(path)}.index); "
            f"pass a prefix like {os.path.join(directory, 'ckpt-3')}",
            "checkpoint",
        )
    return path


def restore_generator(
    run_dir: str, generator: keras.Model | None = None, checkpoint: int | str | None = None
) -> tuple[keras.Model, TrainConfig]:
    """Loads a run's config and its generator (the EMA one if the run kept it) from a
    checkpoint. Conditional generators take ``[noise, labels]``.

    Args:
      run_dir: a training run's directory.
      generator: for runs trained with your own networks: an untrained network of
        the same architecture to load the weights into.
      checkpoint: ``None`` (the latest), an epoch number, or a checkpoint path
        (see :func:`find_checkpoint`).

    Raises:
      RunNotFoundError: ``run_dir`` has no config or not that checkpoint.
      ConfigError: a run with your own networks and no ``generator`` passed.
    """
    if not all(os.path.exists(os.path.join(run_dir, f)) for f in (CONFIG_FILE, RUN_FILE)):
        raise RunNotFoundError(
            f"{run_dir} is not a gan_tf run (no config.json/run.json); pass the "
            "output_dir of a training run"
        )
    config = load_config(run_dir)
    info = run_info(run_dir)
    latest = find_checkpoint(run_dir, checkpoint)
    if generator is None:
        if info["custom_networks"]:
            raise ConfigError(
                f"{run_dir} was trained with your own networks; load it from Python with "
                "gan_tf.load_run(run_dir, generator=<a network of the same architecture>)"
            )
        generator, _ = build_networks(config, tuple(info["shape"]), info["num_classes"])
    name = "generator_ema" if config.ema else "generator"
    _restore(tf.train.Checkpoint(**{name: generator}), latest, run_dir).expect_partial()
    return generator, config
