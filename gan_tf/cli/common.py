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
    import restores stderr first, so its traceback is still shown. Later C++ lines
    are filtered by TF_CPP_MIN_LOG_LEVEL, 3 by default: on some CPUs (a Xeon with
    AMX) Grappler logs a harmless ``remapper failed`` ERROR line when it traces a
    step, and every real failure reaches Python as an exception anyway (set
    TF_CPP_MIN_LOG_LEVEL=0 to see TensorFlow's C++ logs).
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
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
        note_renamed()
        guarded(function, flag_names=flag_names)

    def parse(args):
        try:
            return flags.FLAGS(args)
        except flags.Error as error:
            fail(str(error), USAGE_ERROR)

    app.run(run, argv=argv, flags_parser=parse)


RENAMED: dict[str, str] = {}  # an old flag spelling -> the flag it now spells


def renamed(old: str, new: str) -> None:
    """Keeps ``--old`` working as another spelling of the (defined) flag ``--new``, as a
    flag of the calling command's module; using it prints a one-line deprecation note."""
    _alias(old, new, sys._getframe(1).f_globals["__name__"])


def define_run_dir() -> None:
    """``--run_dir``, the training run a command reads (``--output_dir`` spelt it before)."""
    from absl import flags

    module = sys._getframe(1).f_globals["__name__"]
    flags.DEFINE_string(
        "run_dir", None, "The training run to read (train's --output_dir).", module_name=module
    )
    _alias("output_dir", "run_dir", module)


def _alias(old: str, new: str, module: str) -> None:
    from absl import flags

    flags.DEFINE_alias(old, new, module_name=module)
    flags.FLAGS[old].help = f"The old spelling of --{new} (deprecated; it still works)."
    RENAMED[old] = new


def note_renamed() -> None:
    """One line on stderr for each old flag spelling the command line used."""
    from absl import flags

    for old, new in RENAMED.items():
        if old in flags.FLAGS and flags.FLAGS[old].present:
            print(
                f"note: --{old} is now --{new} (the old spelling still works)",
                file=sys.stderr,
                flush=True,
            )


def require_run_dir() -> str:
    """``--run_dir`` with ``~`` expanded, or a usage error when it was not given."""
    from absl import flags

    from gan_tf.errors import ConfigError

    if not flags.FLAGS.run_dir:
        raise ConfigError(
            "run_dir is required: the directory of a training run (train's --output_dir)",
            "run_dir",
        )
    return os.path.expanduser(flags.FLAGS.run_dir)


def out_path(default: str) -> str:
    """``--out`` with ``~`` expanded, else ``default``."""
    from absl import flags

    return os.path.expanduser(flags.FLAGS.out) if flags.FLAGS.out else default


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
