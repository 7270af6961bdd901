"""Shared plumbing of the commands: quiet TensorFlow start-up, one-line errors, exit
codes, and flags generated from :class:`gan_tf.TrainConfig`.

Exit codes (every command, absl's own flag-parsing errors included):

* 0: done (also: a finished run asked to train to the same epoch);
* 1: something the command needs is missing or broke at run time: data, a run, a
  checkpoint, weights, diverged training, Ctrl-C (rerun to resume);
* 2: a usage error: an unknown or malformed flag, a bad value or combination.

Errors gan_tf raises deliberately (:class:`gan_tf.errors.GanTfError`) print one
``error: ...`` line naming the flag and the fix; anything else is a bug and keeps
its traceback.
"""

from __future__ import annotations

import os
import re
import sys

USAGE_ERROR = 2
RUNTIME_ERROR = 1


def import_tensorflow_quietly() -> None:
    """Imports TensorFlow and initialises its devices with stderr (fd 2) silenced.

    TensorFlow's C++ start-up lines (oneDNN, CUDA probing) ignore
    TF_CPP_MIN_LOG_LEVEL; without this they bury our one-line errors. A failed
    import restores stderr first, so its traceback is still shown.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
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


def fail(message: str, code: int) -> None:
    """Prints one ``error: ...`` line to stderr and exits with ``code`` (no traceback)."""
    print(f"error: {message}", file=sys.stderr, flush=True)
    sys.exit(code)


def as_flags(message: str, params, flag_names: dict | None = None, defined=None) -> str:
    """Rewrites the library's parameter names in ``message`` as the flags they came
    from (``batch_size`` -> ``--batch_size``; ``flag_names`` maps other spellings).
    With ``defined`` (the command's flag names), parameters that are not flags of
    the command stay as they are."""
    for param in params:
        flag = (flag_names or {}).get(param, param)
        if defined is not None and flag not in defined:
            continue
        # a word on its own, not a value ("strategy=tpu", "'tpu'") nor part of a longer name
        message = re.sub(rf"(?<![\w\-='/.]){re.escape(param)}(?![\w'])", f"--{flag}", message)
        message = message.replace(f"--{flag}=False", f"--no{flag}")  # absl's boolean spelling
    return message


def guarded(function, *args, flag_names: dict | None = None, **kwargs):
    """Calls ``function``; turns gan_tf's typed errors (and Ctrl-C) into one line and
    an exit code: usage errors (:class:`gan_tf.errors.ConfigError`) exit 2, missing
    data/runs and divergence exit 1. Any other exception is a bug and keeps its
    traceback."""
    from absl import flags, logging

    from gan_tf.errors import EXIT_CODES, GanTfError

    logging.set_verbosity(logging.ERROR)  # tfds logs its attempts through absl
    try:
        return function(*args, **kwargs)
    except GanTfError as error:
        code = next(code for kind, code in EXIT_CODES.items() if isinstance(error, kind))
        defined = set(flags.FLAGS) if flags.FLAGS.is_parsed() else None
        fail(as_flags(str(error), error.params, flag_names, defined), code)
    except KeyboardInterrupt:
        fail(
            "interrupted; rerun the same command to resume from the last checkpoint", RUNTIME_ERROR
        )


def run_main(function, argv, flag_names: dict | None = None) -> None:
    """Parses ``argv`` (absl), refuses positional arguments, then runs ``function()``
    under :func:`guarded`. A malformed flag is a usage error: one line, exit 2."""
    from absl import app, flags

    def run(args):
        if len(args) > 1:
            fail(
                f"unexpected argument(s): {' '.join(args[1:])}; flags look like --name=value",
                USAGE_ERROR,
            )
        guarded(function, flag_names=flag_names)

    def parse(args):
        try:
            return flags.FLAGS(args)
        except flags.Error as error:
            fail(str(error), USAGE_ERROR)

    app.run(run, argv=argv, flags_parser=parse)


def epoch_number(value: str | None) -> int | None:
    """``--epoch``'s value as an int (``None`` when unset).

    Raises:
      ConfigError: not a whole number; the message names the flag that does what a
        word like ``best`` or ``latest`` asks for.
    """
    from gan_tf.errors import ConfigError
    from gan_tf.rundir import NEWEST_WORDS

    if value is None or value.strip().isdecimal():
        return None if value is None else int(value)
    word = value.strip().lower()
    if word in ("best", "top", "max"):
        hint = "the best evaluation's checkpoint is --checkpoint=best"
    elif word in (*NEWEST_WORDS, "final", "end", "-1"):
        hint = "the newest checkpoint is the default: leave --epoch out (or --checkpoint=latest)"
    else:
        hint = "--checkpoint takes best, latest or a checkpoint path"
    raise ConfigError(f"--epoch takes an epoch number such as --epoch=3, got '{value}'; {hint}")


def require_run_dir(output_dir) -> str:
    """``output_dir``, or a usage error when the --output_dir flag was not given."""
    from gan_tf.errors import ConfigError

    if not output_dir:
        raise ConfigError("output_dir is required: the directory of a training run", "output_dir")
    return output_dir


def define_config_flags(module_name: str) -> None:
    """Defines one flag per :class:`gan_tf.TrainConfig` field, with the field's help
    (defaults included), as flags of ``module_name``. Every flag defaults to unset,
    so the variant's paper defaults apply; ``--arch`` takes ``key=value,...``."""
    from absl import flags

    from gan_tf.config import field_help, field_types

    define = {
        bool: flags.DEFINE_bool,
        int: flags.DEFINE_integer,
        float: flags.DEFINE_float,
        str: flags.DEFINE_string,
        dict: flags.DEFINE_string,
    }
    for name, kind in field_types().items():
        define[kind](name, None, field_help(name), module_name=module_name)


def config_from_flags():
    """The :class:`gan_tf.TrainConfig` the config flags describe (unset flags take defaults)."""
    from absl import flags

    from gan_tf.config import field_types, make_config
    from gan_tf.errors import ConfigError

    values = {name: getattr(flags.FLAGS, name) for name in field_types()}
    if values.get("arch") is not None:
        pairs = [item for item in values["arch"].split(",") if item.strip()]
        if not all("=" in pair for pair in pairs):
            raise ConfigError(f"arch takes key=value,..., got {values['arch']!r}", "arch")
        values["arch"] = dict(pair.strip().split("=", 1) for pair in pairs)
    return make_config(**values)
