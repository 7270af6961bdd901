"""gan_tf.resources: the memory estimate (made from shapes, never allocating) and the
refusal of a run the machine cannot hold."""

import os
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
from keras.src.backend.common import global_state

import gan_tf
from gan_tf import resources
from gan_tf.build import build_networks
from gan_tf.errors import ConfigError

GIB = 1024**3


def layer_values(network):
    return sum(int(np.prod(layer.output.shape[1:])) for layer in network.layers)


@pytest.mark.parametrize(
    "model, overrides",
    [("gan", {}), ("dcgan", {"image_size": 32}), ("wgan_gp", {"image_size": 32, "ema": 0.999})],
)
def test_the_estimate_counts_the_networks_that_training_builds(model, overrides):
    config = gan_tf.make_config(model=model, dataset="mnist", precision="float32", **overrides)
    estimate = resources.estimate_memory(config)
    shape = (config.image_size or 28, config.image_size or 28, 1)
    generator, discriminator = build_networks(config, shape)  # real, allocated networks
    params_g, params_d = generator.count_params(), discriminator.count_params()
    copies = 4  # weight, gradient and Adam's two slots
    ema = params_g if config.ema else 0
    assert estimate.weights == 4 * (copies * (params_g + params_d) + ema)
    passes = 3 if config.gp_weight else 2  # real and fake batches (+ the penalty's)
    per_example = layer_values(generator) + passes * layer_values(discriminator)
    assert estimate.activations == 2 * 4 * per_example * config.batch_size
    # MNIST's 60,000 28x28 arrays as read, plus the resized copy tf.data caches
    resized = 60_000 * 32 * 32 if config.image_size else 0
    assert (estimate.data, estimate.examples) == (60_000 * 28 * 28 + resized, 60_000)
    parts = estimate.data + estimate.weights + estimate.activations + resources.RUNTIME_BYTES
    assert estimate.host_bytes == parts


def test_your_own_networks_are_counted_instead_of_the_variants():
    from fake_data import tiny_networks

    config = gan_tf.make_config(model="dcgan", dataset="mnist", precision="float32")
    generator, discriminator = tiny_networks(config.latent_dim)
    estimate = resources.estimate_memory(config, networks=(generator, discriminator))
    params = generator.count_params() + discriminator.count_params()
    ema = generator.count_params() if config.ema else 0  # dcgan's recipe keeps an EMA
    assert estimate.weights == 4 * (4 * params + ema)
    assert estimate.weights < resources.estimate_memory(config).weights


def test_mixed_precision_halves_the_activations_and_keeps_float32_weights():
    kwargs = dict(model="dcgan", dataset="emoji", image_size=32)
    full = resources.estimate_memory(gan_tf.make_config(precision="float32", **kwargs))
    mixed = resources.estimate_memory(gan_tf.make_config(precision="mixed_bfloat16", **kwargs))
    assert mixed.weights == full.weights  # variables stay float32
    # 2 bytes a value; the float32 output casts that mixed networks end with add a little
    assert full.activations / 2 < mixed.activations < full.activations * 0.55


def test_the_data_term_follows_what_is_kept_in_ram(tmp_path):
    from fake_data import write_image_folder

    folder = str(tmp_path / "pets")
    write_image_folder(folder, per_class=10)  # 20 files
    config = gan_tf.make_config(model="dcgan", dataset=f"folder:{folder}", image_size=64)
    estimate = resources.estimate_memory(config)
    count = len(gan_tf.load_dataset(f"folder:{folder}", image_size=64).examples)
    assert estimate.examples == count and estimate.data == count * 64 * 64 * 3
    celeb = resources.estimate_memory(
        gan_tf.make_config(model="dcgan", dataset="celeb_a", image_size=128, max_examples=1000)
    )
    assert celeb.data == 1000 * 128 * 128 * 3  # decoded straight to the size, then cached


def test_estimating_a_huge_run_allocates_nothing_and_is_quick():
    code = (  # VmHWM: this process's peak (ru_maxrss would include the parent's, kept over exec)
        "import re, time, gan_tf\n"
        "from gan_tf import resources\n"
        "start = time.time()\n"
        "config = gan_tf.make_config(model='gan', dataset='folder:/nonexistent', image_size=1024)\n"
        "estimate = resources.estimate_memory(config)\n"
        "peak = re.search(r'VmHWM:\\s+(\\d+) kB', open('/proc/self/status').read())[1]\n"
        "print(estimate.weights, time.time() - start, int(peak) * 1024)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300
    )
    weights, seconds, peak = map(float, result.stdout.split())
    assert weights > 40 * GIB  # a 1024x1024x3 MLP: 3.2 G weights, x4 copies, x4 bytes
    assert peak < 2 * GIB and seconds < 30  # TensorFlow itself is ~0.8 GiB


def test_the_shape_only_variables_are_forgotten():
    before = list(global_state.get_global_attribute("uninitialized_variables", []) or [])
    resources.estimate_memory(gan_tf.make_config(model="dcgan", dataset="emoji"))
    after = global_state.get_global_attribute("uninitialized_variables", []) or []
    assert list(after) == before
    with keras.StatelessScope():  # a later scope initialises nothing of ours
        pass
    assert keras.random.normal((2,)).shape == (2,)  # Keras' global seed generator works


def test_a_run_larger_than_the_free_memory_is_refused_in_one_line():
    config = gan_tf.make_config(model="dcgan", dataset="emoji", image_size=128, batch_size=256)
    estimate = resources.estimate_memory(config)
    with pytest.raises(ConfigError) as caught:
        resources.check_memory(config, available=estimate.host_bytes - 1)
    message = str(caught.value)
    assert message.startswith(f"this run needs about {estimate.describe()} of memory and ")
    assert "a smaller image_size or batch_size" in message and "check_memory=False" in message
    assert "\n" not in message and caught.value.params[-1] == "check_memory"
    assert resources.check_memory(config, available=estimate.host_bytes)[0] == estimate
    unchecked = gan_tf.make_config(
        model="dcgan", dataset="emoji", image_size=128, batch_size=256, check_memory=False
    )
    resources.check_memory(unchecked, available=1)  # the user knows better


def test_on_an_accelerator_only_the_data_must_fit_in_host_ram():
    config = gan_tf.make_config(model="dcgan", dataset="emoji", image_size=128, batch_size=256)
    estimate = resources.estimate_memory(config, host=False)
    assert estimate.host_bytes == estimate.data + resources.RUNTIME_BYTES
    assert estimate.host_bytes < estimate.activations
    resources.check_memory(config, host=False, available=estimate.host_bytes)


def test_a_dataset_too_large_to_cache_names_max_examples():
    config = gan_tf.make_config(model="dcgan", dataset="celeb_a", image_size=256)
    with pytest.raises(ConfigError, match=r"max_examples \(now 162770 examples\)"):
        resources.check_memory(config, available=8 * GIB)


def test_free_memory_is_read_from_the_machine():
    free = resources.available_bytes()
    total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    assert 0 < free <= total


def test_image_size_is_bounded_before_anything_else():
    start = time.time()
    with pytest.raises(ConfigError) as caught:
        gan_tf.make_config(model="dcgan", dataset="folder:/x", image_size=8192)
    assert str(caught.value).startswith("image_size must be 8 to 1024 px, got 8192; ")
    assert "28-256 px (docs/resolution.md)" in str(caught.value)
    assert time.time() - start < 5
    gan_tf.make_config(model="dcgan", dataset="folder:/x", image_size=1024)
    with pytest.raises(ConfigError, match="image_size must be 8 to 1024 px, got 4"):
        gan_tf.make_config(model="gan", dataset="mnist", image_size=4)
