"""`tfds:NAME[:SPLIT]`: any tfds image dataset, here a tiny builder prepared in the test
(its files are all a run needs: another process reads them without the builder's code)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from gan_tf import data
from gan_tf.data import images as image_ops
from gan_tf.data.sources import tfds_source
from gan_tf.errors import ConfigError, DataNotFoundError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class TinyShapes(tfds.core.GeneratorBasedBuilder):
    """40 train + 10 test RGB images of 20-39 px (not square), 3 classes."""

    VERSION = tfds.core.Version("1.0.0")

    def _info(self):
        features = {
            "image": tfds.features.Image(shape=(None, None, 3)),
            "label": tfds.features.ClassLabel(num_classes=3),
        }
        return tfds.core.DatasetInfo(builder=self, features=tfds.features.FeaturesDict(features))

    def _split_generators(self, dl_manager):
        return {"train": self._generate_examples(40, 0), "test": self._generate_examples(10, 1)}

    def _generate_examples(self, count, seed):
        rng = np.random.default_rng(seed)
        for index in range(count):
            height, width = rng.integers(20, 40, 2)
            image = rng.integers(0, 256, (height, width, 3), np.uint8)
            yield index, {"image": image, "label": index % 3}


class TinyVectors(tfds.core.GeneratorBasedBuilder):
    """No image feature at all."""

    VERSION = tfds.core.Version("1.0.0")

    def _info(self):
        features = tfds.features.FeaturesDict(
            {"x": tfds.features.Tensor(shape=(2,), dtype=np.float32)}
        )
        return tfds.core.DatasetInfo(builder=self, features=features)

    def _split_generators(self, dl_manager):
        return {"train": self._generate_examples()}

    def _generate_examples(self):
        for index in range(4):
            yield index, {"x": np.full(2, index, np.float32)}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    directory = str(tmp_path_factory.mktemp("tfds"))
    for builder in (TinyShapes, TinyVectors):
        builder(data_dir=directory).download_and_prepare()
    return directory


@pytest.mark.parametrize(
    "argument, expected",
    [
        ("mnist", ("mnist", None)),
        ("mnist:3.0.1", ("mnist:3.0.1", None)),
        ("mnist:train[:10%]", ("mnist", "train[:10%]")),
        ("lsun/bedroom:3.1.0:train", ("lsun/bedroom:3.1.0", "train")),
        ("cats_vs_dogs:4.*.*:train[10:]", ("cats_vs_dogs:4.*.*", "train[10:]")),
    ],
)
def test_names_versions_and_splits_are_told_apart(argument, expected):
    assert tfds_source.parse(argument) == expected


def test_a_prepared_tfds_dataset_loads_cropped_resized_and_labelled(data_dir):
    dataset = data.load_dataset(
        "tfds:tiny_shapes", data_dir=data_dir, with_labels=True, image_size=16
    )
    assert (dataset.image_shape, dataset.num_examples, dataset.num_classes) == ((16, 16, 3), 40, 3)
    images, labels = data.as_arrays(dataset)
    assert images.shape == (40, 16, 16, 3) and images.dtype == np.uint8
    raw = list(tfds.builder("tiny_shapes", data_dir=data_dir).as_dataset(split="train"))
    np.testing.assert_array_equal(labels, [int(example["label"]) for example in raw])
    expected = image_ops.center_crop_resize(raw[0]["image"], None, 16).numpy()
    np.testing.assert_array_equal(images[0], expected)
    assert images.std() > 30  # pixels, not a constant
    test = data.load_dataset("tfds:tiny_shapes", data_dir=data_dir, split="test")
    assert test.num_examples == 10 and test.image_shape == (64, 64, 3)  # default side
    half = data.load_dataset("tfds:tiny_shapes:train[:50%]", data_dir=data_dir)
    assert half.num_examples == 20
    assert data.image_shape_of("tfds:tiny_shapes", 32, data_dir) == (32, 32, 3)
    batch = next(iter(data.batches(dataset, 8, seed=0)))[0]
    assert -1.0 <= float(tf.reduce_min(batch)) < float(tf.reduce_max(batch)) <= 1.0


def test_a_tfds_dataset_streams_when_it_would_not_fit(data_dir, monkeypatch):
    monkeypatch.setattr(tfds_source, "CACHE_BYTES", 0)
    dataset = data.load_dataset("tfds:tiny_shapes", data_dir=data_dir, image_size=8)
    assert not dataset.in_memory and dataset.reorder is not None
    first = data.as_arrays(dataset)[0]
    one = np.stack(list(dataset.reorder(5).as_numpy_iterator()))
    again = np.stack(list(dataset.reorder(5).as_numpy_iterator()))
    np.testing.assert_array_equal(one, again)  # the order is drawn by the seed alone
    assert sorted(map(bytes, one)) == sorted(map(bytes, first))  # the same images


def test_tfds_errors_are_one_line(data_dir):
    cases = [
        ("tfds:tiny_vectors", {}, ConfigError, "has no image feature"),
        ("tfds:no_such_dataset_anywhere", {}, DataNotFoundError, "check the name"),
        ("tfds:", {}, ConfigError, "needs a name"),
    ]
    for name, options, kind, message in cases:
        with pytest.raises(kind) as error:
            data.load_dataset(name, data_dir=data_dir, download=False, **options)
        assert message in str(error.value) and "\n" not in str(error.value)


@pytest.mark.slow  # ~15 s subprocess; the tfds source in-process above (the suite budget)
def test_gan_tf_train_on_a_tfds_dataset_from_the_command_line(data_dir, tmp_path):
    run_dir = str(tmp_path / "run")
    result = subprocess.run(
        [
            sys.executable,
            os.path.join(ROOT, "experiments", "train.py"),
            "--model=cgan",
            "--dataset=tfds:tiny_shapes",
            f"--data_dir={data_dir}",
            "--image_size=16",
            "--batch_size=8",
            "--epochs=1",
            "--steps_per_epoch=2",
            f"--output_dir={run_dir}",
            "--verbose=0",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
    )
    assert result.returncode == 0, result.stderr
    config = json.load(open(os.path.join(run_dir, "config.json")))
    assert config["dataset"] == "tfds:tiny_shapes"
    info = json.load(open(os.path.join(run_dir, "run.json")))
    assert info["shape"] == [16, 16, 3] and info["data_classes"] == 3
    assert os.path.exists(os.path.join(run_dir, "samples", "epoch_0001.png"))


def test_without_tensorflow_datasets_the_error_says_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "tensorflow_datasets", None)  # import fails: an extra
    assert tfds_source.tfds_module() is None
    with pytest.raises(DataNotFoundError, match=r"tfds:mnist' needs TensorFlow Datasets") as error:
        data.load_dataset("tfds:mnist")
    assert 'pip install "gan-tf[tfds]"' in str(error.value)
    # a named dataset without local files names both fixes and never tries tfds
    with pytest.raises(DataNotFoundError, match="no local files") as error:
        data.load_dataset("cifar10", data_dir=str(tmp_path))
    text = str(error.value)
    assert "TensorFlow Datasets, which would download it, is not installed" in text
    assert "put the raw files in data_dir" in text and "gan-tf[tfds]" in text
