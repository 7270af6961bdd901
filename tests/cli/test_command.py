"""The gan-tf command (gan_tf.cli): commands, --help without TensorFlow, the exit-code
convention for absl's own parse errors too, and experiments/*.py sharing its flags."""

import dataclasses
import os
import subprocess
import sys

import pytest

from gan_tf import TrainConfig
from gan_tf.cli import COMMANDS

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def gan_tf_cli(*args, code=None):
    """``gan-tf ARGS`` as ``python -m gan_tf.cli`` (the console script calls the same main)."""
    return subprocess.run(
        [sys.executable, "-m", "gan_tf.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
    )


def test_help_answers_without_importing_tensorflow():
    probe = (
        "import sys; from gan_tf.cli import main\n"
        "try:\n    main(['gan-tf', 'train', '--help'])\n"
        "except SystemExit as exit:\n    code = exit.code\n"
        "print('EXIT', code, 'tensorflow' in sys.modules, 'keras' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert result.stdout.strip().splitlines()[-1] == "EXIT 0 False False"
    assert result.stdout.startswith("gan-tf train: Trains a GAN")


def test_train_help_lists_every_config_field_with_its_help():
    result = gan_tf_cli("train", "--help")
    assert result.returncode == 0 and result.stderr == ""
    for field in dataclasses.fields(TrainConfig):
        assert f"--{field.name}:" in result.stdout or f"--[no]{field.name}:" in result.stdout
    assert "--output_dir:" in result.stdout and "--verbose:" in result.stdout
    flat = " ".join(result.stdout.split())
    assert "(default 0.0002; dcgan 0.0012, ssgan 0.003, wgan 5e-05, wgan_gp 0.0001)" in flat
    script = subprocess.run(  # the script answers with the same text
        [sys.executable, os.path.join(ROOT, "experiments", "train.py"), "-h"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert script.returncode == 0 and script.stdout == result.stdout


def test_every_command_has_help_and_the_top_level_lists_them():
    listing = gan_tf_cli("--help")
    assert listing.returncode == 0
    for command in COMMANDS:
        assert f"  {command} " in listing.stdout
        help_text = gan_tf_cli(command, "--help")
        assert help_text.returncode == 0 and help_text.stdout.startswith(f"gan-tf {command}: ")
    assert "--checkpoint:" in gan_tf_cli("sample", "--help").stdout


@pytest.mark.parametrize(
    "args, fragment",
    [
        ([], "usage: gan-tf COMMAND"),
        (["tarin"], "error: unknown command 'tarin'; choose one of: train, sample"),
        (["train", "--epochs=abc"], "error: flag --epochs=abc: invalid literal"),
        (["train", "--nosuchflag=1"], "error: Unknown command line flag 'nosuchflag'"),
        # each of these starts TensorFlow (~6 s): two run with `make test-slow` only
        pytest.param(
            ["sample", "extra"], "error: unexpected argument(s): extra", marks=pytest.mark.slow
        ),
        pytest.param(
            ["download", "cifar10"],
            "error: cannot download 'cifar10' (tfds or Keras fetch it",
            marks=pytest.mark.slow,
        ),
    ],
)
def test_usage_errors_exit_2_with_one_line(args, fragment):
    result = gan_tf_cli(*args)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert fragment in result.stderr
    if args:
        assert len(result.stderr.strip().splitlines()) == 1


def test_version():
    from gan_tf import __version__

    result = gan_tf_cli("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"gan-tf {__version__}"
