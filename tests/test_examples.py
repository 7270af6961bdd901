"""The scripts of examples/ run: examples/fit_fashion_mnist.py's main on fake Fashion-MNIST
files, a few steps, with its callbacks (CSVLogger rows, the stop_training callback)."""

import csv
import importlib.util
import os

from fake_data import write_mnist_idx

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_example(name):
    """The module of ``examples/<name>.py``, imported by path (examples/ is no package)."""
    spec = importlib.util.spec_from_file_location(
        name, os.path.join(ROOT, "examples", f"{name}.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_fit_fashion_mnist_trains_logs_and_stops_when_asked(tmp_path):
    data_dir, out = str(tmp_path / "fashion-mnist"), str(tmp_path / "out")
    write_mnist_idx(data_dir, train=128)  # two batches of 64, in the IDX format of the real files
    example = load_example("fit_fashion_mnist")
    # d_real_limit=-1: every D(real) is above it, so the custom callback stops after epoch 0
    history = example.main(epochs=3, steps=2, out=out, data_dir=data_dir, d_real_limit=-1.0)
    assert sorted(history.history) == ["d_fake", "d_real", "discriminator_loss", "generator_loss"]
    assert len(history.history["generator_loss"]) == 1
    with open(os.path.join(out, "log.csv"), encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["epoch"] for row in rows] == ["0"]
    assert float(rows[0]["generator_loss"]) == history.history["generator_loss"][0]
    assert os.path.getsize(os.path.join(out, "samples.png")) > 0
    # without the stop: every epoch runs (each capped at 2 steps)
    history = example.main(epochs=2, steps=2, out=out, data_dir=data_dir, d_real_limit=2.0)
    assert len(history.history["generator_loss"]) == 2
