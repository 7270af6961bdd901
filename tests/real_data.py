"""Markers for tests on real data CI installs: Fashion-MNIST (Debian) and the emoji (npm)."""

import os

import pytest

from gan_tf import data

# CI installs dataset-fashion-mnist (and must not skip); elsewhere the tests skip without it.
requires_fashion_mnist = pytest.mark.skipif(
    not os.path.isdir(data.DEBIAN_FASHION_MNIST_DIR) and not os.environ.get("CI"),
    reason="dataset-fashion-mnist not installed",
)

# `make data` unpacks the emoji npm packages here; CI runs it (and must not skip).
EMOJI_DIR = os.path.join(os.path.expanduser("~"), ".keras", "datasets", "emoji")
requires_emoji = pytest.mark.skipif(
    not os.path.isdir(os.path.join(EMOJI_DIR, f"emoji-datasource-google-{data.EMOJI_VERSION}"))
    and not os.environ.get("CI"),
    reason="emoji packages not fetched (make data)",
)


def write_emoji_folder(root, per_class: int = 120, classes=None) -> str:
    """Writes real 64x64 emoji of three categories as PNGs, one sub-folder per category
    (a user's own labelled folder); returns ``root``."""
    import imageio.v3 as iio

    classes = classes or {0: "faces", 3: "animals", 7: "flags"}  # emoji category -> folder
    loaded = data.load_dataset(
        "emoji", data_dir=EMOJI_DIR, with_labels=True, max_examples=6000, download=False
    )
    images, labels = data.as_arrays(loaded)
    for label, name in classes.items():
        os.makedirs(os.path.join(root, name), exist_ok=True)
        for index, image in enumerate(images[labels == label][:per_class]):
            iio.imwrite(os.path.join(root, name, f"{index:03d}.png"), image)
    return str(root)
