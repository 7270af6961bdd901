"""The ``gan-tf`` command (installed by ``pip install``) and the scripts in ``experiments/``.

    gan-tf train --model=dcgan --dataset=cifar10
    gan-tf sample|evaluate|export|animate|gif --run_dir=RUN
    gan-tf train-classifier --dataset=folder:~/pets --out=pets.weights.h5
    gan-tf download emoji

Each command is a module of this package: its absl flags, ``MAIN`` (the function
it runs) and ``FLAG_NAMES`` (library parameter -> flag spelling for error lines).
``experiments/<script>.py`` call :func:`run_command` with the same flags.
``--help`` answers from ``help.json`` (written by ``make docs``, checked by the
tests) without importing TensorFlow; everything else parses the flags after
TensorFlow has started quietly. Exit codes: :mod:`gan_tf.cli.common`.
"""

from __future__ import annotations

import importlib
import json
import os
import sys

from gan_tf.cli import common

__all__ = ["COMMANDS", "help_text", "help_texts", "main", "run_command"]

COMMANDS = {  # command -> (module, one-line summary)
    "train": ("train", "train a GAN (rerun the same command to resume)"),
    "sample": ("sample", "write samples of a run's checkpoint to an .npz (and a grid PNG)"),
    "evaluate": ("evaluate", "score a run (FD/KID/precision-recall/coverage...) to eval.json"),
    "export": ("export", "export a run's generator as .keras or a SavedModel"),
    "animate": ("animate", "latent-walk or class-morph GIFs of a run"),
    "gif": ("gif", "rebuild a run's progress GIF from its epoch grids"),
    "train-classifier": ("train_classifier", "train a domain classifier for the metrics"),
    "download": ("download", "fetch the emoji colour images (no make or npm needed)"),
}
HELP_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "help.json")
HELP_FLAGS = ("--help", "-help", "-h", "--helpshort", "-?")


def usage() -> str:
    lines = ["usage: gan-tf COMMAND [--flag=value ...]   (gan-tf COMMAND --help: its flags)", ""]
    lines += [f"  {name:17s} {summary}" for name, (_, summary) in COMMANDS.items()]
    lines += ["", "Exit codes: 0 done, 1 missing data/run/weights or diverged, 2 bad flags."]
    return "\n".join(lines)


def main(argv=None) -> None:
    """``gan-tf COMMAND [flags]``: the console-script entry point."""
    argv = list(sys.argv if argv is None else argv)
    if len(argv) < 2 or argv[1] in HELP_FLAGS:
        print(usage(), file=sys.stdout if len(argv) > 1 else sys.stderr)
        sys.exit(0 if len(argv) > 1 else common.USAGE_ERROR)
    if argv[1] == "--version":
        import gan_tf

        print(f"gan-tf {gan_tf.__version__}")
        sys.exit(0)
    command = argv[1]
    if command not in COMMANDS:
        common.fail(
            f"unknown command '{command}'; choose one of: {', '.join(COMMANDS)} "
            "(gan-tf --help describes them)",
            common.USAGE_ERROR,
        )
    arguments = argv[2:]
    if command == "download" and arguments and not arguments[0].startswith("-"):
        arguments = [f"--dataset={arguments[0]}", *arguments[1:]]  # gan-tf download emoji
    run_command(command, [f"gan-tf {command}", *arguments])


def run_command(command: str, argv=None) -> None:
    """Runs ``command`` on ``argv`` (default ``sys.argv``; ``argv[0]`` is the program)."""
    argv = list(sys.argv if argv is None else argv)
    if any(arg in HELP_FLAGS for arg in argv[1:]):
        text = _stored_help().get(command)
        if text is not None:
            try:
                print(text)
            except BrokenPipeError:  # `gan-tf train --help | head`
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(0)
    common.import_tensorflow_quietly()
    module = importlib.import_module(f"gan_tf.cli.{COMMANDS[command][0]}")
    common.run_main(module.MAIN, argv, module.FLAG_NAMES)


def help_text(command: str) -> str:
    """The ``--help`` text of ``command``: its docstring and its flags with their help
    and defaults. Imports the command (defining its flags): one command per process."""
    from absl import flags

    module = importlib.import_module(f"gan_tf.cli.{COMMANDS[command][0]}")
    lines = flags.FLAGS.module_help(module.__name__).strip().splitlines()
    listed = "\n".join(line for line in lines if not line.startswith(module.__name__))
    return f"gan-tf {command}: {module.__doc__.strip()}\n\nflags:\n{listed}\n"


def help_texts() -> dict[str, str]:
    """:func:`help_text` of every command (what ``make docs`` stores in ``help.json``).
    Each command's flags are removed again after its text is taken."""
    from absl import flags

    texts = {}
    for command, (name, _) in COMMANDS.items():
        module_name = f"gan_tf.cli.{name}"
        texts[command] = help_text(command)
        for flag in flags.FLAGS.get_flags_for_module(module_name):
            delattr(flags.FLAGS, flag.name)
        sys.modules.pop(module_name, None)
    return texts


def _stored_help() -> dict:
    try:
        with open(HELP_FILE, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return {}  # then absl's own --help, after TensorFlow starts
