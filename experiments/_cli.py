"""Shared plumbing for the experiment scripts: quiet TF logs, one-line errors."""

from __future__ import annotations

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow is imported

# Let `python experiments/x.py` import gan_tf from a checkout that is not pip-installed.
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

USAGE_ERROR = 2
RUNTIME_ERROR = 1


def fail(message: str, code: int) -> None:
    """Prints one ``error: ...`` line to stderr and exits with ``code`` (no traceback)."""
    print(f"error: {message}", file=sys.stderr, flush=True)
    sys.exit(code)


def run_guarded(function, *args, **kwargs):
    """Calls ``function``; maps the library's errors to one line and an exit code.

    ValueError (bad flag values) exits 2; missing data, missing runs, diverged
    training and Ctrl-C exit 1.
    """
    from absl import logging

    from gan_tf.data import DataNotFoundError

    logging.set_verbosity(logging.ERROR)  # tfds logs its attempts through absl
    from gan_tf.training import TrainingDivergedError

    try:
        return function(*args, **kwargs)
    except ValueError as error:
        fail(str(error), USAGE_ERROR)
    except (DataNotFoundError, OSError, TrainingDivergedError) as error:
        fail(str(error), RUNTIME_ERROR)
    except KeyboardInterrupt:
        fail(
            "interrupted; rerun the same command to resume from the last checkpoint", RUNTIME_ERROR
        )
