"""The errors gan_tf raises on purpose, each meaning one thing a user can fix.

The command-line scripts turn exactly these into one ``error: ...`` line and an
exit code (:data:`EXIT_CODES`); anything else is a bug and keeps its traceback.
Library messages name the function's parameters (``batch_size``); the scripts
show them as flags (``--batch_size``), using :attr:`GanTfError.params`.
"""

from __future__ import annotations

__all__ = [
    "CheckpointError",
    "ConfigError",
    "DataCorruptError",
    "DataNotFoundError",
    "EXIT_CODES",
    "GanTfError",
    "ResourceNotFoundError",
    "RunCorruptError",
    "RunLockedError",
    "RunNotFoundError",
    "RunWriteError",
    "TrainingDivergedError",
    "TrainingInterrupted",
    "WeightsNotFoundError",
]


class GanTfError(Exception):
    """Base of every error gan_tf raises deliberately.

    Args:
      message: what is wrong and how to fix it, naming parameters as written in code.
      params: the parameter names the message mentions (the CLI shows them as flags).
    """

    def __init__(self, message: str, *params: str):
        super().__init__(message)
        self.params = params


class ConfigError(GanTfError, ValueError):
    """A bad argument, config value or combination of them (usage error, exit 2)."""


class ResourceNotFoundError(GanTfError, FileNotFoundError):
    """Something the user must provide is missing: data, a run, weights (exit 1)."""


class WeightsNotFoundError(ResourceNotFoundError):
    """Network weights (a classifier's, InceptionV3's) are missing or cannot be downloaded."""


class DataNotFoundError(ResourceNotFoundError):
    """No source could provide the requested dataset; the message lists what was tried."""


class RunNotFoundError(ResourceNotFoundError):
    """A directory is not a gan_tf run, or it has no checkpoint yet."""


class DataCorruptError(GanTfError, OSError):
    """A dataset file exists but cannot be read (truncated, not the format its name says);
    the message names the path (exit 1)."""


class CheckpointError(GanTfError, OSError):
    """A run directory holds a run but no checkpoint that can be restored (exit 1)."""


class RunWriteError(GanTfError, OSError):
    """A run file (checkpoint, CSV, picture) could not be written: disk full, no
    permission; the previous checkpoint is intact (exit 1)."""


class RunCorruptError(GanTfError, OSError):
    """A run record (``config.json``, ``run.json``, ``best.json``) does not parse: a
    hand edit or a truncated copy; the message names the file and the fix (exit 1)."""


class RunLockedError(GanTfError, RuntimeError):
    """Another live process is training the same run directory; the message names it
    (pid, host, command) (exit 1)."""


class TrainingInterrupted(GanTfError, RuntimeError):
    """SIGTERM or Ctrl-C stopped training after a checkpoint was saved (exit 1)."""


class TrainingDivergedError(GanTfError, RuntimeError):
    """Training diverged (a NaN/inf or exploding loss, a saturated discriminator, a
    collapsed generator, a metric getting worse) and ``on_divergence`` said stop; the
    last checkpoint is intact (exit 1)."""


# What the command-line scripts exit with (usage errors 2, everything else 1).
EXIT_CODES: dict[type[GanTfError], int] = {ConfigError: 2, GanTfError: 1}
