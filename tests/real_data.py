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
