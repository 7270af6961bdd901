"""Evaluation where no classifier ships: a classifier trained on your own folder (real
emoji pixels in class sub-folders) scores runs on it at any size; reference features
come from the disk cache the second time; the error lines name the offline fix."""

import os

import imageio.v3 as iio
import numpy as np
import pytest
from real_data import EMOJI_DIR, requires_emoji, write_emoji_folder

from gan_tf import data, evaluation
from gan_tf.errors import ConfigError, WeightsNotFoundError
from gan_tf.eval import features, fid_inception


@pytest.fixture(scope="module")
def emoji_folder(tmp_path_factory):
    """120 real 64x64 emoji of each of three categories, one sub-folder per category."""
    return write_emoji_folder(tmp_path_factory.mktemp("my_emoji"), 120)


@pytest.fixture(scope="module")
def folder_classifier(emoji_folder, tmp_path_factory):
    output = str(tmp_path_factory.mktemp("weights") / "mine.weights.h5")
    record = evaluation.train_dataset_classifier(
        f"folder:{emoji_folder}", output, epochs=8, batch_size=32, verbose=0
    )
    return output, record


@pytest.mark.slow  # ~30 s (trains the folder classifier): `make test-slow`
@requires_emoji
def test_a_folder_classifier_trains_on_its_sub_folders(folder_classifier):
    output, record = folder_classifier
    assert record["image_shape"] == [32, 32, 3] and record["num_classes"] == 3
    assert record["train_examples"] + record["test_examples"] == 360
    assert 20 <= record["test_examples"] <= 60  # the held-out tenth
    assert record["test_accuracy"] > 0.6  # three real categories, chance is 1/3
    model = features.load_classifier("folder:/anywhere", output)
    assert model.input_shape == (None, 32, 32, 3) and model.output_shape == (None, 3)


@pytest.mark.slow  # uses that classifier: `make test-slow`
@requires_emoji
def test_runs_on_the_folder_are_scored_with_it_at_64_px(emoji_folder, folder_classifier):
    output, _ = folder_classifier
    dataset = f"folder:{emoji_folder}"
    assert evaluation.default_metrics(dataset, output) == evaluation.DEFAULT_METRICS
    evaluator = evaluation.Evaluator(
        dataset,
        evaluation.default_metrics(dataset, output),
        num_real=40,
        real_split="test",
        image_size=64,
        classifier_weights=output,
        kid_subset_size=20,
    )
    real, _ = data.as_arrays(data.load_dataset(dataset, image_size=64))  # every class
    noise = np.random.default_rng(0).integers(0, 256, real.shape, dtype=np.uint8)
    scored_real, scored_noise = evaluator(real), evaluator(noise)
    assert scored_real["classes_covered"] == 3
    assert scored_noise["fd_classifier"] > 3 * scored_real["fd_classifier"]
    assert evaluator.protocol(200)["classifier"]["network"] == "folder_classifier"
    assert evaluator.protocol(200)["classifier"]["num_classes"] == 3


@requires_emoji
def test_reference_features_are_read_from_the_cache_the_second_time(emoji_folder, tmp_path):
    def build(**kwargs):
        kwargs.setdefault("feature_cache", str(tmp_path))
        return evaluation.Evaluator(
            "emoji",
            "fd_classifier,coverage",
            num_real=100,
            data_dir=EMOJI_DIR,
            download=False,
            **kwargs,
        )

    first = build()
    path = first.records["classifier"]["reference_cache"]
    assert os.path.basename(path).startswith("emoji_test_emoji_classifier_")
    written = os.stat(path).st_mtime_ns
    second = build()
    assert second.records["classifier"]["reference_cache"] == path
    assert os.stat(path).st_mtime_ns == written
    np.testing.assert_array_equal(
        second.real_features["classifier"][0], first.real_features["classifier"][0]
    )
    assert len(os.listdir(tmp_path)) == 1
    build(image_size=32)  # other pixels (a 32 px reference): another entry
    assert len(os.listdir(tmp_path)) == 2
    assert build(feature_cache=False).records["classifier"]["reference_cache"] is None


@requires_emoji
def test_missing_weights_error_lines_name_the_offline_fix(emoji_folder, monkeypatch, tmp_path):
    dataset = f"folder:{emoji_folder}"
    with pytest.raises(
        WeightsNotFoundError, match="gan-tf train-classifier --dataset=folder:"
    ) as error:
        evaluation.Evaluator(dataset, "fd_classifier", num_real=10)
    assert "\n" not in str(error.value) and error.value.params == ("classifier_weights",)

    def offline(*args, **kwargs):
        raise Exception("URL fetch failure: Name or service not known")  # noqa: TRY002

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))  # no cached FID weights
    monkeypatch.setattr(fid_inception.keras.utils, "get_file", offline)
    with pytest.raises(WeightsNotFoundError, match="could not be downloaded") as error:
        evaluation.Evaluator(dataset, evaluation.default_metrics(dataset), num_real=10)
    message = str(error.value)
    assert "URL fetch failure" in message and "--fid_weights=PATH" in message
    assert f"gan-tf train-classifier --dataset={dataset} --out=C.weights.h5" in message
    assert "classifier_weights=C.weights.h5" in message and "\n" not in message
    assert error.value.params == ("fid_weights", "classifier_weights")


def test_a_folder_without_classes_or_an_unknown_dataset_has_no_classifier(tmp_path):
    with pytest.raises(ConfigError, match="dataset=celeb_a has no classifier.*folder:PATH"):
        evaluation.train_dataset_classifier("celeb_a", str(tmp_path / "c.weights.h5"))
    flat = tmp_path / "flat"
    os.makedirs(flat)
    for index in range(30):
        iio.imwrite(flat / f"{index}.png", np.full((8, 8, 3), index * 8, np.uint8))
    with pytest.raises(ConfigError, match="no class sub-folders"):
        evaluation.train_dataset_classifier(f"folder:{flat}", str(tmp_path / "c.weights.h5"))
    assert sorted(os.listdir(tmp_path)) == ["flat"]  # nothing written


@requires_emoji
def test_conditional_samples_follow_the_reference_class_mix_and_a_given_reference():
    evaluator = evaluation.Evaluator(
        "emoji", "fd_classifier", num_real=740, data_dir=EMOJI_DIR, download=False
    )
    held_out = np.bincount(evaluator.real_labels, minlength=9)
    assert held_out.tolist() == [34, 426, 28, 34, 46, 18, 52, 38, 64]  # People & Body: 58 %
    labels = evaluator.sample_labels(740)
    np.testing.assert_array_equal(np.bincount(labels, minlength=9), held_out)
    assert evaluator.protocol(740)["conditional_labels"].startswith("in the reference's")

    images = evaluator.real_images[:100]
    given = evaluation.Evaluator("emoji", "fd_classifier", reference=(images, np.arange(100) % 3))
    assert given.real_source == "100 images passed as reference" and given.num_classes == 3
    assert given(images)["fd_classifier"] == pytest.approx(0.0, abs=1e-3)
    with pytest.raises(ConfigError, match="reference must be uint8"):
        evaluation.Evaluator("emoji", "fd_classifier", reference=images.astype(np.float32))
