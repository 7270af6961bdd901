"""gan_tf.cli.common: only typed errors become one-line messages; flags come from the config."""

import os

import pytest

from gan_tf.cli import common as _cli
from gan_tf.errors import ConfigError, DataNotFoundError, TrainingDivergedError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_config_errors_exit_2_with_parameters_shown_as_flags(capsys):
    def bad():
        raise ConfigError(
            "batch_size=0 is too small; lower n_critic or raise batch_size",
            "batch_size",
            "n_critic",
        )

    with pytest.raises(SystemExit) as caught:
        _cli.guarded(bad)
    assert caught.value.code == 2
    assert capsys.readouterr().err == (
        "error: --batch_size=0 is too small; lower --n_critic or raise --batch_size\n"
    )


def test_flag_names_map_parameters_to_differently_named_flags(capsys):
    def bad():
        raise ConfigError("output must end in .json", "output")

    with pytest.raises(SystemExit):
        _cli.guarded(bad, flag_names={"output": "out"})
    assert capsys.readouterr().err == "error: --out must end in .json\n"


@pytest.mark.parametrize("error", [DataNotFoundError("no data"), TrainingDivergedError("nan")])
def test_runtime_errors_exit_1(error, capsys):
    def bad():
        raise error

    with pytest.raises(SystemExit) as caught:
        _cli.guarded(bad)
    assert caught.value.code == 1 and capsys.readouterr().err == f"error: {error}\n"


@pytest.mark.parametrize("error", [ValueError("shape mismatch in a layer"), KeyError("x")])
def test_any_other_error_keeps_its_traceback(error):
    def bug():
        raise error

    with pytest.raises(type(error)):  # not swallowed into a one-line "flag" error
        _cli.guarded(bug)


def test_as_flags_leaves_values_and_longer_words_alone():
    message = "model=cgan needs labels; the model_dir and remodel stay"
    assert _cli.as_flags(message, ["model"]) == (
        "--model=cgan needs labels; the model_dir and remodel stay"
    )
    message = "strategy=tpu found no TPU at tpu=x; pass tpu or use strategy 'tpu'"
    assert _cli.as_flags(message, ["strategy", "tpu"]) == (
        "--strategy=tpu found no TPU at --tpu=x; pass --tpu or use --strategy 'tpu'"
    )
