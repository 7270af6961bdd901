"""The Kaggle "Anime Face Dataset" recipe (splcher/animefacedataset): one ``images/``
folder of ~63k JPEG faces of 90-120 px named ``<id>_<year>.jpg``, no class sub-folders,
read by ``folder:PATH`` as docs/training.md says."""

import csv
import json
import math
import os

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

import gan_tf
from gan_tf import data
from gan_tf.data import images
from gan_tf.data.base import held_out
from gan_tf.errors import ConfigError

COUNT = 40


def anime_face(index: int, height: int, width: int) -> np.ndarray:
    """A flat-shaded cartoon face: background, hair, a skin oval, two large eyes, a mouth."""
    rng = np.random.default_rng(index)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    cy, cx = height * rng.uniform(0.52, 0.6), width * rng.uniform(0.45, 0.55)
    picture = np.empty((height, width, 3), np.float32)
    picture[:] = rng.integers(150, 256, 3)  # pale background
    picture[y < height * 0.75] = rng.integers(20, 230, 3)  # hair colour
    face = ((y - cy) / (height * 0.33)) ** 2 + ((x - cx) / (width * 0.3)) ** 2 < 1
    picture[face] = (250, 224, 205)
    eye_colour = rng.integers(0, 200, 3)
    for side in (-1, 1):
        eye = ((y - cy) / (height * 0.09)) ** 2 + (
            (x - cx - side * width * 0.13) / (width * 0.06)
        ) ** 2
        picture[eye < 1] = eye_colour
        picture[eye < 0.25] = 255  # highlight
    mouth = (np.abs(y - cy - height * 0.17) < 1.5) & (np.abs(x - cx) < width * 0.04)
    picture[mouth] = (170, 60, 60)
    return np.clip(picture, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def anime_dir(tmp_path_factory):
    """``animefacedataset/images/<id>_<year>.jpg`` as the Kaggle archive unzips."""
    folder = tmp_path_factory.mktemp("animefacedataset") / "images"
    folder.mkdir()
    rng = np.random.default_rng(0)
    names = []
    for index in range(COUNT):
        height, width = (int(side) for side in rng.integers(90, 121, 2))
        name = f"{index * 1591 + 7}_{2000 + index % 20}.jpg"
        Image.fromarray(anime_face(index, height, width)).save(folder / name, quality=92)
        names.append(name)
    return str(folder), sorted(names)


def test_the_images_folder_loads_as_64px_colour_without_labels(anime_dir):
    folder, names = anime_dir
    name = f"folder:{folder}"
    dataset = data.load_dataset(name, image_size=64)
    train_names = [n for n in names if not held_out(n)]
    test_names = [n for n in names if held_out(n)]
    assert 1 <= len(test_names) <= 10 and len(train_names) + len(test_names) == COUNT
    assert dataset.num_examples == len(train_names) and dataset.image_shape == (64, 64, 3)
    assert dataset.num_classes is None and not dataset.with_labels
    pixels, labels = data.as_arrays(dataset)
    assert pixels.shape == (len(train_names), 64, 64, 3) and pixels.dtype == np.uint8
    assert labels is None and pixels.std() > 30  # faces, not a blank
    # the first file, decoded, centre-cropped to its short side and resized to 64
    raw = tf.io.decode_jpeg(tf.io.read_file(os.path.join(folder, train_names[0])))
    assert min(raw.shape[:2]) >= 90 and raw.shape[0] != raw.shape[1]
    np.testing.assert_array_equal(pixels[0], images.center_crop_resize(raw, None, 64).numpy())
    test = data.load_dataset(name, split="test", image_size=64)
    assert test.num_examples == len(test_names)
    with pytest.raises(ConfigError, match="no class sub-folders"):
        data.load_dataset(name, with_labels=True)


@pytest.mark.slow  # ~15 s of training; the loader's tests above run by default (suite budget)
def test_dcgan_trains_on_the_anime_faces_folder(anime_dir, tmp_path):
    folder, _ = anime_dir
    config = gan_tf.make_config(
        model="dcgan",
        dataset=f"folder:{folder}",
        image_size=64,
        arch={"base_width": 16, "max_width": 64},
        latent_dim=16,
        batch_size=8,
        epochs=1,
        steps_per_epoch=2,
        grid_size=2,
        log_every=1,
    )
    summary = gan_tf.train(config, str(tmp_path / "run"), verbose=0)
    assert (summary["epoch"], summary["step"]) == (1, 2)
    with open(tmp_path / "run" / "metrics.csv", encoding="utf-8") as handle:
        (row,) = list(csv.DictReader(handle))
    assert all(math.isfinite(float(row[key])) for key in ("discriminator_loss", "generator_loss"))
    with open(tmp_path / "run" / "run.json", encoding="utf-8") as handle:
        record = json.load(handle)
    assert record["shape"] == [64, 64, 3] and record["num_classes"] is None
    grid = np.asarray(Image.open(tmp_path / "run" / "samples" / "epoch_0001.png"))
    assert grid.shape[0] >= 128 and grid.shape[1] >= 128
