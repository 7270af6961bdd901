"""Markers for tests on the real Fashion-MNIST that CI installs from Debian."""

import os

import pytest

from gan_tf import data

# CI installs dataset-fashion-mnist (and must not skip); elsewhere the tests skip without it.
requires_fashion_mnist = pytest.mark.skipif(
    not os.path.isdir(data.DEBIAN_FASHION_MNIST_DIR) and not os.environ.get("CI"),
    reason="dataset-fashion-mnist not installed",
)
