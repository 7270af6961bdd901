"""Shared plumbing for the experiment scripts: quiet TF logs, one-line errors."""

from __future__ import annotations

import os
import re
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow is imported

# Let `python experiments/x.py` import gan_tf from a checkout that is not pip-installed.
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)


def _import_tensorflow_quietly() -> None:
    """Imports TensorFlow and initialises its devices with stderr (fd 2) silenced.

    TensorFlow's C++ start-up lines (oneDNN, CUDA probing) ignore
    TF_CPP_MIN_LOG_LEVEL; without this they bury our one-line errors. A failed
    import restores stderr first, so its traceback is still shown.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflow as tf

        if not _multi_worker(sys.argv[1:]):
            tf.config.list_logical_devices()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _multi_worker(args) -> bool:
    """Whether the command line may ask for --strategy=multi_worker (flags are not parsed
    yet; a --flagfile is assumed to)."""
    joined = " ".join(args)
    if re.search(r"(^|\s)--?flagfile", joined):
        return True
    return re.search(r"(^|\s)--?strategy(=|\s+)multi_worker", joined) is not None


_import_tensorflow_quietly()

USAGE_ERROR = 2
RUNTIME_ERROR = 1


def fail(message: str, code: int) -> None:
    """Prints one ``error: ...`` line to stderr and exits with ``code`` (no traceback)."""
    print(f"error: {message}", file=sys.stderr, flush=True)
    sys.exit(code)


def reject_arguments(argv) -> None:
    """Exits with a usage error when the command line holds anything but flags."""
    if len(argv) > 1:
        fail(
            f"unexpected argument(s): {' '.join(argv[1:])}; flags look like --name=value",
            USAGE_ERROR,
        )


def require_run_dir(output_dir) -> str:
    """``output_dir``, or a ValueError when the --output_dir flag was not given."""
    if not output_dir:
        raise ValueError("--output_dir is required: the directory of a training run")
    return output_dir


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
