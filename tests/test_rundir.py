"""gan_tf.rundir: the run directory's files and resume rules, without training."""

import csv
import json
import os

import numpy as np
import pytest
import tensorflow as tf

import gan_tf
from gan_tf import rundir
from gan_tf.errors import ConfigError, RunNotFoundError

CONFIG = dict(model="gan", dataset="mnist", latent_dim=8, batch_size=16, epochs=2)


def write_run(run_dir, config=None, info=None, **extra_keys):
    """A run directory's config.json and run.json as training writes them (plus any keys)."""
    os.makedirs(run_dir, exist_ok=True)
    values = {**(config or gan_tf.make_config(**CONFIG)).to_dict(), **extra_keys}
    with open(os.path.join(run_dir, "config.json"), "w", encoding="utf-8") as handle:
        json.dump(values, handle)
    with open(os.path.join(run_dir, "run.json"), "w", encoding="utf-8") as handle:
        json.dump(info or {"shape": [28, 28, 1], "num_classes": None}, handle)


def read_rows(path):
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        return reader.fieldnames, list(reader)


def test_default_run_dir():
    assert rundir.default_run_dir("dcgan", "fashion_mnist") == os.path.join(
        "runs", "dcgan_fashion_mnist"
    )
    assert rundir.default_run_dir("cgan", f"folder:{os.sep}data{os.sep}pets") == os.path.join(
        "runs", "cgan_folder__data_pets"
    )


def test_load_config_round_trips_the_saved_config(tmp_path):
    config = gan_tf.make_config(**CONFIG, learning_rate=1e-3, arch={})
    write_run(tmp_path, config)
    assert rundir.load_config(str(tmp_path)) == config


def test_load_config_rejects_unknown_keys_naming_them(tmp_path):
    write_run(tmp_path, bogus_knob=1, other_knob="x")
    with pytest.raises(ConfigError) as error:
        rundir.load_config(str(tmp_path))
    message = str(error.value)
    assert "unknown key(s) bogus_knob, other_knob" in message
    assert os.path.join(str(tmp_path), "config.json") in message  # says which file


def test_legacy_config_with_output_dir_still_loads(tmp_path):
    config = gan_tf.make_config(**CONFIG)
    write_run(tmp_path, config, output_dir="runs/old_layout")
    loaded = rundir.load_config(str(tmp_path))
    assert loaded == config and not hasattr(loaded, "output_dir")


def test_run_info_defaults_custom_networks_to_false(tmp_path):
    write_run(tmp_path, info={"shape": [2], "num_classes": 8})  # written before the field
    assert rundir.run_info(str(tmp_path)) == {
        "shape": [2],
        "num_classes": 8,
        "data_classes": 8,  # the classes of the data: a conditional run's own
        "custom_networks": False,
    }


def test_resume_changes(tmp_path):
    saved = gan_tf.make_config(**CONFIG)
    assert rundir.resume_changes(saved, str(tmp_path / "new")) == []  # a new run
    write_run(tmp_path, saved)
    assert rundir.resume_changes(saved, str(tmp_path)) == []
    changed = gan_tf.make_config(**{**CONFIG, "epochs": 4, "learning_rate": 1e-3, "log_every": 7})
    assert rundir.resume_changes(changed, str(tmp_path)) == [
        ("epochs", 2, 4),
        ("learning_rate", 2e-4, 1e-3),
        ("log_every", 50, 7),
    ]
    refused = gan_tf.make_config(**{**CONFIG, "latent_dim": 16, "ema": 0.9, "epochs": 4})
    with pytest.raises(ConfigError) as error:
        rundir.resume_changes(refused, str(tmp_path))
    message = str(error.value)
    assert "latent_dim=8 (now 16)" in message and "ema=0.0 (now 0.9)" in message
    assert "epochs" not in message  # only the refused fields are named
    assert {"latent_dim", "ema", "output_dir"} <= set(error.value.params)


def test_append_csv_adds_rows_and_widens_the_header(tmp_path):
    path = str(tmp_path / "metrics.csv")
    rundir.append_csv(path, {"epoch": 1, "loss": 0.5})
    rundir.append_csv(path, {"epoch": 2, "loss": 0.25})
    assert read_rows(path) == (
        ["epoch", "loss"],
        [{"epoch": "1", "loss": "0.5"}, {"epoch": "2", "loss": "0.25"}],
    )
    rundir.append_csv(path, {"epoch": 3, "loss": 0.125, "fd": 9.5})  # a new column
    fields, rows = read_rows(path)
    assert fields == ["epoch", "loss", "fd"]
    assert rows == [
        {"epoch": "1", "loss": "0.5", "fd": ""},
        {"epoch": "2", "loss": "0.25", "fd": ""},
        {"epoch": "3", "loss": "0.125", "fd": "9.5"},
    ]
    rundir.append_csv(path, {"epoch": 4, "loss": 0.0625})  # a subset of the columns
    assert read_rows(path)[1][-1] == {"epoch": "4", "loss": "0.0625", "fd": ""}
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    rundir.append_csv(str(empty), {"epoch": 1})
    assert read_rows(str(empty)) == (["epoch"], [{"epoch": "1"}])


def test_truncate_csv_keeps_rows_up_to_the_epoch(tmp_path):
    path = str(tmp_path / "losses.csv")
    for epoch, step in ((1, 2), (1, 4), (2, 6), (2, 8), (3, 10)):
        rundir.append_csv(path, {"epoch": epoch, "step": step})
    rundir.truncate_csv(path, 2)
    assert [row["step"] for row in read_rows(path)[1]] == ["2", "4", "6", "8"]
    rundir.truncate_csv(path, 0)
    assert read_rows(path) == (["epoch", "step"], [])  # the header stays
    rundir.truncate_csv(str(tmp_path / "missing.csv"), 1)  # no file: nothing to do
    assert not (tmp_path / "missing.csv").exists()


def test_checkpoint_epoch(tmp_path):
    assert rundir.checkpoint_epoch(str(tmp_path)) is None
    checkpoint = tf.train.Checkpoint(value=tf.Variable(1.0))
    manager = tf.train.CheckpointManager(checkpoint, str(tmp_path / "checkpoints"), max_to_keep=2)
    assert rundir.checkpoint_epoch(str(tmp_path)) is None
    manager.save(checkpoint_number=3)
    assert rundir.checkpoint_epoch(str(tmp_path)) == 3
    manager.save(checkpoint_number=12)
    assert rundir.checkpoint_epoch(str(tmp_path)) == 12


def test_restore_generator_errors(tmp_path):
    for run_dir in (tmp_path / "nothing", tmp_path):  # missing, and empty
        with pytest.raises(RunNotFoundError, match="not a gan_tf run"):
            rundir.restore_generator(str(run_dir))
    write_run(tmp_path / "config_only")
    os.remove(tmp_path / "config_only" / "run.json")
    with pytest.raises(RunNotFoundError, match="no config.json/run.json"):
        rundir.restore_generator(str(tmp_path / "config_only"))
    write_run(tmp_path / "untrained")
    with pytest.raises(RunNotFoundError, match="has no checkpoint yet"):
        rundir.restore_generator(str(tmp_path / "untrained"))
    with pytest.raises(RunNotFoundError, match="has no checkpoint yet"):
        gan_tf.load_run(str(tmp_path / "untrained"))
    assert issubclass(RunNotFoundError, FileNotFoundError)  # callers catching the builtin


LEGACY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "legacy_0.1")


@pytest.mark.parametrize(
    "name", ["gan_ring8", "cgan_ring8_ema", pytest.param("wgan_gp_ring8", marks=pytest.mark.slow)]
)
def test_runs_written_by_gan_tf_0_1_load_and_resume(name, tmp_path):
    """Runs trained by the code before the refactor (their config.json has output_dir
    and no arch): the generator restores to the same samples, and training resumes."""
    import dataclasses
    import json
    import shutil

    import gan_tf

    run_dir = str(tmp_path / name)
    shutil.copytree(os.path.join(LEGACY, name), run_dir)
    with open(os.path.join(LEGACY, "samples_seed1.json"), encoding="utf-8") as handle:
        expected = np.asarray(json.load(handle)[name], np.float32)
    run = gan_tf.load_run(run_dir)
    np.testing.assert_allclose(run.sample(6, seed=1), expected, rtol=1e-5, atol=1e-6)
    config = dataclasses.replace(rundir.load_config(run_dir), epochs=3)
    summary = gan_tf.train(config, run_dir, verbose=0)
    assert (summary["start_epoch"], summary["epoch"]) == (2, 3)
    assert summary["step"] == 3 * summary["steps_per_epoch"]  # the old run's 2 epochs + 1
    assert summary["changes"] == {"epochs": (2, 3)}
    with open(os.path.join(run_dir, "config.json"), encoding="utf-8") as handle:
        assert "output_dir" not in json.load(handle)  # rewritten in the current format


def test_resuming_a_paper_recipe_run_with_the_fast_defaults_names_the_recipe(tmp_path):
    """A run started with recipe=paper (or before recipes) differs from today's fast
    defaults in fixed fields: the refusal says which recipe made it."""
    paper = gan_tf.make_config(recipe="paper", precision="float32")
    (tmp_path / rundir.CONFIG_FILE).write_text(json.dumps(paper.to_dict()))
    with pytest.raises(ConfigError) as caught:
        rundir.resume_changes(gan_tf.make_config(precision="float32"), str(tmp_path))
    message = str(caught.value)
    assert "arch={'base_width': 64" in message and "ema=0.0 (now 0.999)" in message
    assert message.count("from recipe=paper") == 1
    assert rundir.resume_changes(paper, str(tmp_path)) == []
