"""The run directory: one module owns its files, checkpoints and the rules of resuming.

::

    RUN/
      config.json            the resolved config (updated when a resume changes a field)
      run.json               what the data fixed: sample shape, number of classes,
                             whether the networks were your own; the last checkpoint
                             saved; the watchdog's events
      checkpoints/           tf.train.CheckpointManager: networks, optimizers, step, epoch, RNG
                             and the position inside the epoch; ckpt-<epoch> every
                             checkpoint_every epochs, steps/ckpt-<step> (checkpoint_every_steps,
                             SIGTERM, Ctrl-C), best/ckpt-<epoch> (the best evaluation),
                             damaged/ (checkpoints that failed verification, moved aside)
      best.json              the best checkpoint's epoch, step, metric and value
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

Resume rules: rerunning on the same directory verifies the checkpoints, restores
the newest intact one (an epoch's or a step's, mid-epoch included) and drops every
output after it, so an interrupted run continues exactly. A run that saved
checkpoints but has no intact one is refused (never silently restarted);
``restart`` moves its files aside. Fields in :data:`gan_tf.config.FIXED_FIELDS` cannot change on
resume; every other field may, takes effect, and is reported once.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import sys

import keras
import tensorflow as tf

from gan_tf import distribute, visualize
from gan_tf.build import build_networks
from gan_tf.config import FIXED_FIELDS, TrainConfig, config_from_dict
from gan_tf.errors import (
    CheckpointError,
    ConfigError,
    GanTfError,
    RunCorruptError,
    RunNotFoundError,
    RunWriteError,
)
from gan_tf.files import write_json
from gan_tf.runlock import LOCK_FILE

__all__ = [
    "BEST_DIR",
    "Checkpoints",
    "STEPS_DIR",
    "append_csv",
    "apply_learning_rates",
    "best_record",
    "check_same_networks",
    "checkpoint_epoch",
    "find_checkpoint",
    "default_run_dir",
    "drop_outputs_after",
    "has_config",
    "load_config",
    "move_aside",
    "open_run",
    "read_checkpoint",
    "read_record",
    "record_event",
    "resume_changes",
    "restore_generator",
    "run_info",
    "truncate_csv",
    "update_run_info",
    "writing",
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


# What to do about each run record that does not parse (the checkpoints are intact).
_REPAIR = {
    CONFIG_FILE: "restore it from a copy (or rewrite it: its fields are the train flags), "
    "or train again with restart to move this run aside and start anew",
    "run.json": "restore it from a copy, or train again with restart to move this run "
    "aside and start anew",
    "best.json": "restore it from a copy, or delete it (the run then has no best checkpoint "
    "on record)",
}


def read_record(run_dir: str, name: str, required: tuple[str, ...] = ()) -> dict:
    """Reads the run's JSON record ``name`` (``config.json``, ``run.json``,
    ``best.json``): a JSON object holding at least the ``required`` keys.

    Raises:
      RunCorruptError: the file is not UTF-8 JSON, not an object, or lacks a required
        key (a hand edit or a truncated copy); the message names the file and the fix.
      FileNotFoundError: the file does not exist.
    """
    path = os.path.join(run_dir, name)
    with open(path, "rb") as handle:
        raw = handle.read()
    try:
        record = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as error:
        reason = f"not UTF-8 text: byte {error.start}"
    except json.JSONDecodeError as error:
        reason = f"not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
    else:
        missing = [key for key in required if key not in record] if isinstance(record, dict) else []
        if isinstance(record, dict) and not missing:
            return record
        reason = f"no {', '.join(missing)}" if missing else f"a JSON {type(record).__name__}"
        reason += ", not the object gan_tf wrote"
    repair = _REPAIR.get(name, "restore it from a copy")
    raise RunCorruptError(f"{path} is damaged ({reason}); {repair}", "restart")


def save_config(config: TrainConfig, run_dir: str) -> None:
    """Writes ``config`` as the run's ``config.json`` (atomically)."""
    with writing("the run files", run_dir):
        write_json(os.path.join(run_dir, CONFIG_FILE), config.to_dict(), sort_keys=True)


def load_config(run_dir: str) -> TrainConfig:
    """The config a run was trained with (its ``config.json``).

    Raises:
      ConfigError: the file has keys that are not config fields, or bad values.
      RunCorruptError: the file does not parse (see :func:`read_record`).
    """
    path = os.path.join(run_dir, CONFIG_FILE)
    return config_from_dict(read_record(run_dir, CONFIG_FILE), source=path)


def run_info(run_dir: str) -> dict:
    """What a run's data fixed: ``{"shape": [...], "num_classes": int or None (the
    classes a conditional run samples), "data_classes": the data's classes (what a
    semi-supervised discriminator classifies), "custom_networks": bool}``.

    Raises:
      RunCorruptError: ``run.json`` does not parse or lacks ``shape``.
    """
    info = read_record(run_dir, RUN_FILE, required=("shape",))
    info.setdefault("custom_networks", False)
    info.setdefault("data_classes", info.get("num_classes"))
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


STEPS_DIR = "steps"  # checkpoints/steps/ckpt-<step>: --checkpoint_every_steps, SIGTERM
BEST_DIR = "best"  # checkpoints/best/ckpt-<epoch>: the best evaluation (never rotated out)
DAMAGED_DIR = "damaged"  # checkpoints that failed verification, moved aside
KEEP_STEP_CHECKPOINTS = 2
BEST_FILE = "best.json"
_PREFIX = re.compile(r"(ckpt-\d+)\.(?:index|data-\d+-of-\d+)")


class DamagedCheckpoint(Exception):
    """A checkpoint whose files are missing or do not read back (internal)."""


def read_checkpoint(prefix: str) -> dict:
    """Reads every tensor of the checkpoint at ``prefix`` back (TensorFlow checks each
    one's CRC) and returns its ``{"step": int, "epoch": int}`` (``None`` where absent).

    Raises:
      DamagedCheckpoint: a file is missing, truncated or corrupt.
    """
    try:
        reader = tf.train.load_checkpoint(prefix)
        values = {key: reader.get_tensor(key) for key in reader.get_variable_to_shape_map()}
    except (tf.errors.OpError, IndexError, ValueError, OSError) as error:
        reason = str(error).strip().splitlines()[0][:120] if str(error).strip() else type(error)
        raise DamagedCheckpoint(reason) from None
    read = lambda name: values.get(f"{name}/.ATTRIBUTES/VARIABLE_VALUE")  # noqa: E731
    return {name: None if read(name) is None else int(read(name)) for name in ("step", "epoch")}


def _prefixes(directory: str) -> list[str]:
    """The checkpoint prefixes in ``directory``: those its state file lists and those
    whose files are there (a damaged one may have only some), oldest number first."""
    names = set()
    if os.path.isdir(directory):
        names.update(m.group(1) for m in map(_PREFIX.fullmatch, os.listdir(directory)) if m)
    try:
        state = tf.train.get_checkpoint_state(directory)
    except (tf.errors.OpError, ValueError):  # an unreadable state file: the files decide
        state = None
    if state:
        names.update(os.path.basename(path) for path in state.all_model_checkpoint_paths)
    numbered = sorted(names, key=lambda name: int(name.rsplit("-", 1)[1]))
    return [os.path.join(directory, name) for name in numbered]


def _write_state(directory: str, prefixes: list[str]) -> None:
    """Makes ``directory``'s checkpoint state file list exactly ``prefixes``, as
    ``tf.train.CheckpointManager`` writes it: relative names (the run directory may
    move) with their times (so rotation deletes them in turn)."""
    state_file = os.path.join(directory, "checkpoint")
    if not prefixes:
        if os.path.exists(state_file):
            os.remove(state_file)
        return
    names = [os.path.basename(prefix) for prefix in prefixes]
    times = [os.path.getmtime(prefix + ".index") for prefix in prefixes]
    lines = [f'model_checkpoint_path: "{names[-1]}"']
    lines += [f'all_model_checkpoint_paths: "{name}"' for name in names]
    lines += [f"all_model_checkpoint_timestamps: {time:.6f}" for time in times]
    tmp = state_file + ".tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    os.replace(tmp, state_file)


def _move_aside(prefix: str, target_dir: str) -> None:
    os.makedirs(target_dir, exist_ok=True)
    directory, name = os.path.split(prefix)
    for entry in os.listdir(directory):
        if entry.startswith(name + "."):
            target = os.path.join(target_dir, entry)
            while os.path.exists(target):
                target += ".old"
            os.replace(os.path.join(directory, entry), target)


def _remove(prefix: str) -> None:
    directory, name = os.path.split(prefix)
    for entry in os.listdir(directory):
        if entry.startswith(name + "."):
            os.remove(os.path.join(directory, entry))


def _write_failure(what: str, run_dir: str, error: Exception) -> RunWriteError:
    text = getattr(error, "message", None) or str(error) or type(error).__name__
    if isinstance(error, OSError) and error.strerror:
        text = error.strerror  # "No space left on device", "Permission denied"
    text = re.sub(r"\{\{[^}]*\}\}\s*|\s*\[Op:\w+\].*", "", text.strip().splitlines()[0])
    reason = text.rsplit("; ", 1)[-1][:160]  # TensorFlow: "<path>; File too large"
    return RunWriteError(
        f"could not write {what} in {run_dir} ({reason}); free disk space or fix the "
        "permissions, then rerun the same command to resume from the last checkpoint"
    )


@contextlib.contextmanager
def writing(what: str, run_dir: str, *, tensorflow: bool = False):
    """Turns a failed write of ``what`` (disk full, no permission: an ``OSError``, or
    with ``tensorflow`` a TensorFlow op error, as checkpoint writes raise) into one
    :class:`RunWriteError`; the previous checkpoint is left as it was."""
    errors = (OSError, tf.errors.OpError) if tensorflow else OSError
    try:
        yield
    except errors as error:
        if isinstance(error, GanTfError):  # e.g. a RunWriteError from further in
            raise
        raise _write_failure(what, run_dir, error) from None


class Checkpoints:
    """The run's checkpoints: saves them, and restores the newest intact one.

    Three kinds live under ``RUN/checkpoints``: one per ``checkpoint_every`` epochs
    (``ckpt-<epoch>``, the last ``keep_checkpoints`` kept), step checkpoints
    (``steps/ckpt-<step>``: ``checkpoint_every_steps``, SIGTERM, Ctrl-C; the last
    two kept) and the best evaluation's (``best/ckpt-<epoch>``, kept until a better
    one). Every worker saves (a multi-worker save may need all of them), but only
    the chief into ``RUN/checkpoints``; the others write into a scratch directory
    that is deleted straight after. All workers restore the chief's checkpoints
    (``RUN`` must be on a file system every worker sees).

    Args:
      run_dir: the run directory.
      objects: what every checkpoint must hold (``GAN.checkpoint_objects``).
      keep: epoch checkpoints to keep.
      worker: "" on the chief, else the worker's id.
      progress: optional trackables (e.g. the position inside an epoch) that
        checkpoints of older versions lack; restored where present.
    """

    def __init__(self, run_dir, objects: dict, keep: int, worker: str = "", progress=None):
        self.run_dir = run_dir
        self.directory = os.path.join(run_dir, "checkpoints")
        self.chief = not worker
        self.scratch = os.path.join(self.directory, f".{worker}") if worker else None
        self.required = tf.train.Checkpoint(**objects)
        self.progress = progress
        extra = {"progress": progress} if progress is not None else {}
        self.checkpoint = tf.train.Checkpoint(**objects, **extra)
        self.keep = keep
        self._managers = {}

    def _manager(self, kind: str) -> tf.train.CheckpointManager:
        if kind not in self._managers:
            base = self.scratch or self.directory
            directory, keep = {
                "epoch": (base, self.keep),
                "step": (os.path.join(base, STEPS_DIR), KEEP_STEP_CHECKPOINTS),
                "best": (os.path.join(base, BEST_DIR), 1),
            }[kind]
            self._managers[kind] = tf.train.CheckpointManager(
                self.checkpoint, directory, max_to_keep=keep
            )
        return self._managers[kind]

    def restore(self) -> dict | None:
        """Restores the newest intact checkpoint, epoch or step (``None`` if the run
        has none yet). Damaged ones (missing, truncated or corrupt files) are moved to
        ``checkpoints/damaged/`` with one warning line on stderr; a run that had
        checkpoints but has no intact one stops.

        Returns:
          ``{"path", "step", "epoch"}`` of the restored checkpoint, or ``None``.

        Raises:
          CheckpointError: the run saved checkpoints before, and none is intact.
          ConfigError: the checkpoint does not fit the networks or optimizers built
            now (e.g. your own networks with another architecture).
        """
        intact, damaged = [], []
        kinds = ((self.directory, 1), (os.path.join(self.directory, STEPS_DIR), 0))
        for directory, epoch_kind in kinds:
            for prefix in _prefixes(directory):
                try:
                    state = read_checkpoint(prefix)
                except DamagedCheckpoint as error:
                    damaged.append((prefix, str(error)))
                    continue
                intact.append(((state["step"] or 0, epoch_kind), {"path": prefix, **state}))
        if not intact:
            if damaged or _saved_before(self.run_dir):
                raise _no_usable_checkpoint(self.run_dir, damaged)
            return None
        chosen = max(intact, key=lambda item: item[0])[1]
        if damaged and self.chief:
            self._set_aside(damaged, [item[1]["path"] for item in intact])
            names = ", ".join(os.path.relpath(p, self.directory) for p, _ in damaged)
            print(
                f"warning: skipped damaged checkpoint(s) {names} ({damaged[0][1]}), moved "
                f"to {os.path.join(self.directory, DAMAGED_DIR)}; resuming from "
                f"{os.path.relpath(chosen['path'], self.directory)}",
                file=sys.stderr,
                flush=True,
            )
        self.restore_from(chosen["path"])
        return chosen

    def restore_from(self, path: str) -> None:
        """Restores the checkpoint at ``path`` (its progress too, where it has one)."""
        _restore(self.required, path, self.run_dir).expect_partial()  # progress: below
        if self.progress is not None:
            tf.train.Checkpoint(progress=self.progress).restore(path).expect_partial()

    def _set_aside(self, damaged, intact_paths) -> None:
        with writing("the checkpoint index", self.run_dir):
            for prefix, _ in damaged:
                _move_aside(prefix, os.path.join(self.directory, DAMAGED_DIR))
            for directory in (self.directory, os.path.join(self.directory, STEPS_DIR)):
                _write_state(
                    directory, [p for p in intact_paths if os.path.dirname(p) == directory]
                )

    def newest_before(self, step: int) -> str | None:
        """The newest intact checkpoint (epoch, step or best) saved before ``step``:
        where a rollback returns to."""
        found = []
        for sub in ("", STEPS_DIR, BEST_DIR):
            for prefix in _prefixes(os.path.join(self.directory, sub)):
                try:
                    saved = read_checkpoint(prefix)["step"]
                except DamagedCheckpoint:
                    continue
                if saved is not None and saved < step:
                    found.append((saved, prefix))
        return max(found)[1] if found else None

    def discard_after(self, step: int) -> None:
        """Deletes the epoch and step checkpoints saved after ``step`` (a rollback
        abandons them); the best one stays."""
        for directory in (self.directory, os.path.join(self.directory, STEPS_DIR)):
            kept = []
            for prefix in _prefixes(directory):
                try:
                    state = read_checkpoint(prefix)
                except DamagedCheckpoint:
                    _move_aside(prefix, os.path.join(self.directory, DAMAGED_DIR))
                    continue
                if state["step"] is not None and state["step"] > step:
                    _remove(prefix)
                else:
                    kept.append(prefix)
            _write_state(directory, kept)
        self._managers = {}  # they re-read the state files

    def save(self, epoch: int, step: int) -> str:
        """Saves the end-of-epoch checkpoint ``ckpt-<epoch>``."""
        return self._save("epoch", epoch, epoch, step)

    def save_step(self, epoch: int, step: int) -> str:
        """Saves a step checkpoint ``steps/ckpt-<step>`` (mid-epoch: with the position)."""
        return self._save("step", step, epoch, step)

    def save_best(self, epoch: int, step: int, metric: str, value: float) -> str:
        """Saves ``best/ckpt-<epoch>`` and records it in ``best.json``."""
        path = self._save("best", epoch, epoch, step)
        if self.chief:
            record = {"epoch": epoch, "step": step, "metric": metric, "value": value}
            with writing(BEST_FILE, self.run_dir):
                write_json(os.path.join(self.run_dir, BEST_FILE), record)
        return path

    def _save(self, kind: str, number: int, epoch: int, step: int) -> str:
        with writing("a checkpoint", self.run_dir, tensorflow=True):
            path = self._manager(kind).save(checkpoint_number=number)
            if self.scratch:
                tf.io.gfile.rmtree(self.scratch)
                self._managers = {}
                return path
            if kind != "best":
                update_run_info(self.run_dir, last_checkpoint={"epoch": epoch, "step": step})
        return path


def _saved_before(run_dir: str) -> bool:
    """Whether the run recorded a checkpoint (run.json's ``last_checkpoint``)."""
    path = os.path.join(run_dir, RUN_FILE)
    return os.path.exists(path) and "last_checkpoint" in run_info(run_dir)


def _no_usable_checkpoint(run_dir: str, damaged) -> CheckpointError:
    if damaged:
        names = ", ".join(os.path.basename(p) for p, _ in damaged)
        found = f"no intact checkpoint (damaged: {names}; {damaged[0][1]})"
    else:
        found = "files of a run that saved checkpoints, but none is left"
    return CheckpointError(
        f"{run_dir} holds {found}; train into a new output_dir, or pass restart to move "
        "the old files aside and start again",
        "output_dir",
        "restart",
    )


def update_run_info(run_dir: str, **fields) -> None:
    """Sets ``fields`` in ``run.json`` (chief only)."""
    path = os.path.join(run_dir, RUN_FILE)
    info = run_info(run_dir) if os.path.exists(path) else {}
    write_json(path, {**info, **fields})


def record_event(run_dir: str, event: dict) -> None:
    """Appends ``event`` (a watchdog detection and what was done) to ``run.json``'s
    ``events``."""
    path = os.path.join(run_dir, RUN_FILE)
    events = run_info(run_dir).get("events", []) if os.path.exists(path) else []
    with writing(RUN_FILE, run_dir):
        update_run_info(run_dir, events=[*events, event])


def best_record(run_dir: str) -> dict | None:
    """``best.json``: the best checkpoint's ``epoch``, ``step``, ``metric`` and
    ``value``, or ``None`` when the run has none."""
    if not os.path.exists(os.path.join(run_dir, BEST_FILE)):
        return None
    return read_record(run_dir, BEST_FILE, required=("epoch", "metric", "value"))


def move_aside(run_dir: str) -> str | None:
    """Moves everything in ``run_dir`` into a new sibling ``<run_dir>.moved-<N>``
    (``restart``); returns where, or ``None`` when there was nothing. Never deletes."""
    if not os.path.isdir(run_dir) or not set(os.listdir(run_dir)) - {LOCK_FILE}:
        return None  # nothing but this process's own lock
    number = 1
    while os.path.exists(f"{run_dir.rstrip(os.sep)}.moved-{number}"):
        number += 1
    target = f"{run_dir.rstrip(os.sep)}.moved-{number}"
    with writing("the moved run", run_dir):
        os.replace(run_dir, target)
    return target


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


def apply_learning_rates(
    config: TrainConfig, generator_optimizer, discriminator_optimizer, scale: float = 1.0
):
    """Gives restored optimizers the config's learning rates times ``scale`` (what
    rollbacks left; a checkpoint holds the rate it was saved with). With ``lr_decay``
    the schedule is rebuilt from the config anyway."""
    if config.lr_decay != "none":
        return
    generator_optimizer.learning_rate = config.learning_rate * scale
    discriminator_optimizer.learning_rate = (config.d_learning_rate or config.learning_rate) * scale


def open_run(
    config: TrainConfig,
    run_dir: str,
    objects: dict,
    info: dict,
    strategy,
    progress=None,
) -> tuple[Checkpoints, dict | None]:
    """Restores the run's newest intact checkpoint (``objects["epoch"]`` then holds
    its epoch), then creates the run directory, saves the config and ``info`` and
    drops every output after the checkpoint. Only the chief writes, and nothing is
    written when the checkpoint does not fit.

    Returns:
      The :class:`Checkpoints` and what :meth:`Checkpoints.restore` restored.

    Raises:
      ConfigError: the checkpoint does not fit what was built.
      CheckpointError: the run had checkpoints and none is intact.
      RunWriteError: the run directory cannot be written.
    """
    chief = distribute.is_chief(strategy)
    worker = "" if chief else distribute.task_id(strategy)
    checkpoints = Checkpoints(run_dir, objects, config.keep_checkpoints, worker, progress)
    restored = checkpoints.restore()
    if not chief:
        return checkpoints, restored
    with writing("the run files", run_dir):
        for sub in ("checkpoints", "samples", "logs"):
            os.makedirs(os.path.join(run_dir, sub), exist_ok=True)
        save_config(config, run_dir)
        update_run_info(run_dir, **info)
        epoch = int(objects["epoch"].numpy()) if restored else 0
        drop_outputs_after(run_dir, epoch, restored["step"] if restored else 0)
    return checkpoints, restored


def drop_outputs_after(run_dir: str, epoch: int, step: int) -> None:
    """Drops the metrics rows and epoch pictures of epochs after ``epoch`` and the
    loss rows after ``step`` (work that no checkpoint kept)."""
    truncate_csv(os.path.join(run_dir, "metrics.csv"), epoch)
    truncate_csv(os.path.join(run_dir, "losses.csv"), step, column="step")
    for picture in visualize.epoch_grids(run_dir):
        if int(os.path.basename(picture)[len("epoch_") : -len(".png")]) > epoch:
            os.remove(picture)


def truncate_csv(path: str, last: int, column: str = "epoch") -> None:
    """Keeps the rows whose ``column`` is <= ``last`` (drops un-checkpointed work) and
    drops a last row cut short by an interrupted write (no final newline, or cells
    missing)."""
    if not os.path.exists(path):
        return
    with open(path, encoding="utf-8", newline="") as handle:
        text = handle.read()
    if text and not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
    reader = csv.DictReader(io.StringIO(text))
    fields = reader.fieldnames or []
    rows = [row for row in reader if _whole(row, fields, column) and int(row[column]) <= last]
    _write_csv(path, fields, rows)


def _whole(row: dict, fields, column: str) -> bool:
    """Whether ``row`` has every cell and an integer ``column`` (not cut short)."""
    if None in row or any(row.get(name) is None for name in fields):
        return False
    return row[column].strip().isdigit()


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


def _latest(run_dir: str) -> str | None:
    """The newest checkpoint by step: the latest epoch or step checkpoint."""
    directory = os.path.join(run_dir, "checkpoints")
    paths = [
        path
        for path in (
            tf.train.latest_checkpoint(directory),
            tf.train.latest_checkpoint(os.path.join(directory, STEPS_DIR)),
        )
        if path
    ]
    if len(paths) < 2:
        return paths[0] if paths else None
    return max(paths, key=lambda path: (_read_variable(path, "step") or 0, STEPS_DIR not in path))


def _read_variable(path: str, name: str) -> int | None:
    try:
        return int(tf.train.load_checkpoint(path).get_tensor(f"{name}/.ATTRIBUTES/VARIABLE_VALUE"))
    except (tf.errors.OpError, ValueError):
        return None


def checkpoint_epoch(run_dir: str, path: str | None = None) -> int | None:
    """The epoch of the run's newest checkpoint (or of ``path``): the epochs it
    completed; ``None`` before the first."""
    path = path or _latest(run_dir)
    if path is None:
        return None
    epoch = _read_variable(path, "epoch")
    return epoch if epoch is not None else int(path.rsplit("-", 1)[1])


def checkpoint_record(run_dir: str, path: str) -> dict:
    """What identifies a checkpoint in ``eval.json``: its ``path``, ``epoch`` and
    ``step``, and ``which`` (``"best"``: the best evaluation's; ``"latest"``: the
    newest; else ``"epoch"`` or ``"step"`` for an older kept one)."""
    latest = _latest(run_dir)
    if os.path.basename(os.path.dirname(path)) == BEST_DIR:
        which = "best"
    elif latest and os.path.abspath(path) == os.path.abspath(latest):
        which = "latest"
    else:
        which = "step" if os.path.basename(os.path.dirname(path)) == STEPS_DIR else "epoch"
    return {
        "path": path,
        "epoch": checkpoint_epoch(run_dir, path),
        "step": _read_variable(path, "step"),
        "which": which,
    }


NEWEST_WORDS = ("latest", "newest", "last")  # what users write for the newest checkpoint


def find_checkpoint(run_dir: str, checkpoint: int | str | None = None) -> str:
    """The checkpoint prefix to load: the newest (``None``, or one of
    :data:`NEWEST_WORDS`), the best evaluation's (``"best"``), the one saved at the end
    of epoch ``checkpoint`` (an int or its digits), or a path (``.../ckpt-7``,
    ``.index`` optional).

    Raises:
      RunNotFoundError: no checkpoint yet, that epoch's was not kept (the message lists
        the kept ones), no best one, or the path is not a checkpoint.
    """
    directory = os.path.join(run_dir, "checkpoints")
    if isinstance(checkpoint, str) and checkpoint.strip().isdecimal():
        checkpoint = int(checkpoint)
    if isinstance(checkpoint, str) and checkpoint.strip().lower() in NEWEST_WORDS + ("best",):
        checkpoint = None if checkpoint.strip().lower() in NEWEST_WORDS else "best"
    if checkpoint is None:
        latest = _latest(run_dir)
        if latest is None:
            raise RunNotFoundError(f"{run_dir} has no checkpoint yet; train it first")
        return latest
    if checkpoint == "best":
        best = tf.train.latest_checkpoint(os.path.join(directory, BEST_DIR))
        if best is None:
            raise RunNotFoundError(
                f"{run_dir} has no best checkpoint; runs keep one when trained with eval_every",
                "eval_every",
            )
        return best
    if isinstance(checkpoint, int):
        path = os.path.join(directory, f"ckpt-{checkpoint}")
        if not os.path.exists(path + ".index"):
            state = tf.train.get_checkpoint_state(directory)
            kept = [p.rsplit("-", 1)[1] for p in state.all_model_checkpoint_paths] if state else []
            raise RunNotFoundError(
                f"{run_dir} has no checkpoint of epoch {checkpoint} (kept: "
                f"{', '.join(kept) or 'none'}); runs keep the last keep_checkpoints "
                "checkpoints, saved every checkpoint_every epochs"
            )
        return path
    path = os.path.expanduser(str(checkpoint))
    path = path[: -len(".index")] if path.endswith(".index") else path
    if not os.path.exists(path + ".index"):
        raise RunNotFoundError(
            f"checkpoint={checkpoint} is not a checkpoint (no {os.path.basename(path)}.index); "
            f"pass best, latest, an epoch, or a prefix like {os.path.join(directory, 'ckpt-3')}",
            "checkpoint",
        )
    return path


def require_run(run_dir: str) -> None:
    """Raises :class:`RunNotFoundError` unless ``run_dir`` holds a run's records."""
    if not all(os.path.exists(os.path.join(run_dir, f)) for f in (CONFIG_FILE, RUN_FILE)):
        raise RunNotFoundError(
            f"{run_dir} is not a gan_tf run (no config.json/run.json); pass the "
            "output_dir of a training run"
        )


def restore_generator(
    run_dir: str, generator: keras.Model | None = None, checkpoint: int | str | None = None
) -> tuple[keras.Model, TrainConfig]:
    """Loads a run's config and its generator (the EMA one if the run kept it) from a
    checkpoint. Conditional generators take ``[noise, labels]``.

    Args:
      run_dir: a training run's directory.
      generator: for runs trained with your own networks: an untrained network of
        the same architecture to load the weights into.
      checkpoint: ``None`` (the newest), ``"best"``, an epoch number, or a
        checkpoint path (see :func:`find_checkpoint`).

    Raises:
      RunNotFoundError: ``run_dir`` has no config or not that checkpoint.
      ConfigError: a run with your own networks and no ``generator`` passed.
    """
    require_run(run_dir)
    config = load_config(run_dir)
    info = run_info(run_dir)
    latest = find_checkpoint(run_dir, checkpoint)
    if generator is None:
        if info["custom_networks"]:
            raise ConfigError(
                f"{run_dir} was trained with your own networks; load it from Python with "
                "gan_tf.load_run(run_dir, generator=<a network of the same architecture>)"
            )
        generator, _ = build_networks(config, tuple(info["shape"]), info["data_classes"])
    name = "generator_ema" if config.ema else "generator"
    _restore(tf.train.Checkpoint(**{name: generator}), latest, run_dir).expect_partial()
    return generator, config
