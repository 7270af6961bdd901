"""Image sets to score (``gan-tf evaluate --real/--fake``): folders, .npz files, dataset
names; each bad input is one clear error."""

import imageio.v3 as iio
import numpy as np
import pytest
from real_data import EMOJI_DIR, requires_emoji, requires_fashion_mnist

from gan_tf import data
from gan_tf.errors import ConfigError, DataCorruptError, ResourceNotFoundError


@pytest.fixture(scope="module")
def emoji():
    loaded = data.load_dataset("emoji", data_dir=EMOJI_DIR, max_examples=12, download=False)
    return data.as_arrays(loaded)[0]


@requires_emoji
def test_a_folder_reads_every_image_in_name_order_losslessly(tmp_path, emoji):
    (tmp_path / "sub").mkdir()
    for index, image in enumerate(emoji[:5]):
        folder = tmp_path / "sub" if index == 4 else tmp_path
        iio.imwrite(folder / f"{index:02d}.png", image)
    (tmp_path / "notes.txt").write_text("not an image")
    images, labels, description = data.read_image_set(str(tmp_path))
    assert images.shape == (5, 64, 64, 3) and images.dtype == np.uint8 and labels is None
    np.testing.assert_array_equal(images, emoji[:5])  # PNG round trip is exact
    assert description == f"folder {tmp_path}"
    assert len(data.read_image_set(str(tmp_path), limit=3)[0]) == 3


@requires_emoji
def test_transparency_goes_over_the_background_and_grey_stays_grey(tmp_path, emoji):
    rgba = np.concatenate([emoji[:2], np.full((2, 64, 64, 1), 0, np.uint8)], axis=-1)
    for index, image in enumerate(rgba):
        iio.imwrite(tmp_path / f"{index}.png", image)
    images = data.read_image_set(str(tmp_path), background="black")[0]
    assert images.max() == 0  # fully transparent over black
    grey = tmp_path / "grey"
    grey.mkdir()
    for index in range(3):
        iio.imwrite(grey / f"{index}.png", np.full((28, 28), 40 * index, np.uint8))
    images = data.read_image_set(str(grey))[0]
    assert images.shape == (3, 28, 28, 1) and list(images[:, 0, 0, 0]) == [0, 40, 80]


def test_an_npz_gives_its_images_and_labels(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (6, 8, 8, 3), dtype=np.uint8)
    np.savez(tmp_path / "s.npz", images=images, labels=np.arange(6))
    read, labels, description = data.read_image_set(str(tmp_path / "s.npz"), limit=4)
    np.testing.assert_array_equal(read, images[:4])
    assert list(labels) == [0, 1, 2, 3] and description.startswith("arrays ")
    np.savez(tmp_path / "one.npz", images[..., 0])  # a single unnamed [N, H, W] array
    assert data.read_image_set(str(tmp_path / "one.npz"))[0].shape == (6, 8, 8, 1)


@requires_fashion_mnist
def test_a_dataset_name_reads_its_split():
    images, _, description = data.read_image_set("fashion_mnist", split="test", limit=7)
    assert images.shape == (7, 28, 28, 1) and description.startswith("fashion_mnist test")
    assert data.is_dataset_name("fashion_mnist") and data.is_dataset_name("folder:/x")
    assert not data.is_dataset_name("no_such_set")


def test_bad_sets_are_one_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="holds 0 PNG/JPEG images.*--png_dir"):
        data.read_image_set(str(tmp_path))
    iio.imwrite(tmp_path / "a.png", np.zeros((8, 8, 3), np.uint8))
    iio.imwrite(tmp_path / "b.png", np.zeros((9, 9, 3), np.uint8))
    with pytest.raises(ConfigError, match=r"different sizes \(8x8 and 9x9\)"):
        data.read_image_set(str(tmp_path))
    (tmp_path / "b.png").write_bytes(b"\x89PNG broken")
    with pytest.raises(DataCorruptError, match="b.png does not decode"):
        data.read_image_set(str(tmp_path))
    np.savez(tmp_path / "f.npz", images=np.zeros((4, 8, 8, 3), np.float32))
    with pytest.raises(ConfigError, match="float32 .*need uint8"):
        data.read_image_set(str(tmp_path / "f.npz"))
    np.savez(tmp_path / "two.npz", a=np.zeros(2), b=np.zeros(2))
    with pytest.raises(ConfigError, match="no 'images' array"):
        data.read_image_set(str(tmp_path / "two.npz"))
    with pytest.raises(ResourceNotFoundError, match="neither a folder"):
        data.read_image_set(str(tmp_path / "missing"))
    with pytest.raises(ResourceNotFoundError, match="missing.npz does not exist"):
        data.read_image_set(str(tmp_path / "missing.npz"))
