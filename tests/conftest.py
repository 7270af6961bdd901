"""Shared test setup: quiet TensorFlow, two logical CPU devices (so tf.distribute runs
with two replicas on a CPU-only machine), and no test ever reads the user's own data
caches."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

# Must happen before TensorFlow initialises its devices, i.e. before any test runs.
tf.config.set_logical_device_configuration(
    tf.config.list_physical_devices("CPU")[0],
    [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()],
)
CPU_DEVICES = ["/cpu:0", "/cpu:1"]


@pytest.fixture(autouse=True)
def isolated_caches(tmp_path_factory, monkeypatch):
    """Points Keras' cache and the reference-feature cache at empty directories so only
    the files a test writes are found."""
    home = tmp_path_factory.mktemp("keras_home")
    monkeypatch.setenv("KERAS_HOME", str(home))
    monkeypatch.setenv("GAN_TF_CACHE_DIR", str(tmp_path_factory.mktemp("feature_cache")))
    return home
