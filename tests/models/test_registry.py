"""gan_tf.models: the registry (discovery, lookup, register) and build_networks, the one
place that gives every variant the toy MLPs for 2-D points and label inputs when
conditional."""

import importlib
import pkgutil

import keras
import numpy as np
import pytest
import tensorflow as tf

import gan_tf
from gan_tf import build, models, training
from gan_tf.errors import ConfigError
from gan_tf.models import ModelSpec, conditioning


@pytest.fixture
def registry(monkeypatch):
    """A copy of the registry for tests that register, so no other test sees their specs."""
    models.model_names()  # discover the package's variants first
    monkeypatch.setattr(models, "_REGISTRY", dict(models._REGISTRY))


def _modules_with_a_spec():
    names = []
    for info in pkgutil.iter_modules(models.__path__):
        spec = getattr(importlib.import_module(f"gan_tf.models.{info.name}"), "SPEC", None)
        if spec is not None:
            assert isinstance(spec, ModelSpec), info.name
            names.append(spec.name)
    return names


def test_model_names_lists_every_module_with_a_spec_sorted():
    found = _modules_with_a_spec()
    assert {"cgan", "dcgan", "gan", "wgan", "wgan_gp"} <= set(found)
    assert models.model_names() == tuple(sorted(found))
    assert len(set(found)) == len(found), "two modules claim one name"


def test_every_spec_names_its_paper_and_its_defaults_are_config_fields():
    fields = set(gan_tf.config.field_types())
    for name in models.model_names():
        spec = models.get_model(name)
        assert spec.name == name and "20" in spec.paper, name
        assert set(spec.defaults) <= fields, name
        config = gan_tf.make_config(model=name, recipe="paper")  # the defaults are valid
        for field, value in spec.defaults.items():
            assert getattr(config, field) == value, (name, field)
        assert config.arch == spec.architecture
        assert set(spec.fast) <= fields, name
        fast = gan_tf.make_config(model=name)  # recipe=fast: its settings over the paper's
        for field, value in spec.fast.items():
            expected = {**spec.architecture, **value} if field == "arch" else value
            assert getattr(fast, field) == expected, (name, field)
    assert models.get_model("dcgan").defaults["learning_rate"] == pytest.approx(2e-4)
    assert models.get_model("dcgan").defaults["beta_1"] == pytest.approx(0.5)
    assert models.get_model("cgan").conditional and not models.get_model("dcgan").conditional


def test_get_model_error_lists_the_names():
    with pytest.raises(ConfigError) as caught:
        models.get_model("stylegan9")
    message = str(caught.value)
    assert message.startswith("unknown model 'stylegan9'; choose one of: ")
    assert message.endswith(", ".join(models.model_names()))
    assert caught.value.params == ("model",)


def _tiny_generator(latent_dim, shape, arch):
    model = keras.Sequential([keras.Input((latent_dim,))], name="generator")
    model.add(keras.layers.Dense(int(np.prod(shape))))
    model.add(keras.layers.Activation("tanh"))
    model.add(keras.layers.Reshape(shape))
    return model


def _tiny_discriminator(shape, arch):
    return keras.Sequential(
        [
            keras.Input(shape),
            keras.layers.Flatten(),
            keras.layers.Dense(arch["width"], activation="relu"),
            keras.layers.Dense(1),
        ],
        name="discriminator",
    )


def _tiny_spec(name="tiny_test", **kwargs):
    return ModelSpec(
        name=name,
        paper="A test variant, 2025",
        defaults={"learning_rate": 1e-3, "beta_1": 0.0},
        build_generator=_tiny_generator,
        build_discriminator=_tiny_discriminator,
        architecture={"width": 8},
        **kwargs,
    )


def test_registered_spec_works_with_make_config_build_networks_and_a_step(registry):
    spec = _tiny_spec()
    assert models.register(spec) is spec
    assert models.register(spec) is spec  # registering the same spec again is harmless
    assert "tiny_test" in models.model_names() and models.get_model("tiny_test") is spec
    config = gan_tf.make_config(model="tiny_test", arch={"width": "16"}, latent_dim=3)
    assert (config.learning_rate, config.beta_1) == (1e-3, 0.0)  # the spec's defaults
    assert config.arch == {"width": 16}  # parsed to the default's type
    assert build.architecture(config) == {"width": 16, "spectral_norm": False, "dropout": 0.0}
    generator, discriminator = build.build_networks(config, (4, 4, 1))
    assert generator.outputs[0].shape == (None, 4, 4, 1)
    assert [layer.units for layer in discriminator.layers if hasattr(layer, "units")] == [16, 1]
    gan = gan_tf.build_gan(config, (4, 4, 1))
    out = gan.run_step(tf.random.stateless_uniform([4, 4, 4, 1], seed=[1, 2]))
    assert all(np.isfinite(float(value)) for value in out.values())
    with pytest.raises(ConfigError, match="tiny_test has no knob depth; its knobs are: width=8"):
        gan_tf.make_config(model="tiny_test", arch={"depth": 2})
    with pytest.raises(ConfigError, match="'tiny_test' is already registered") as caught:
        models.register(_tiny_spec())  # another spec under the same name
    assert caught.value.params == ("model",)
    with pytest.raises(ConfigError, match="'dcgan' is already registered"):
        models.register(_tiny_spec(name="dcgan"))


def test_registered_specs_stay_out_of_other_tests():
    assert "tiny_test" not in models.model_names()


def _toy_dense_units(model):
    return [layer.units for layer in model.layers if isinstance(layer, keras.layers.Dense)]


@pytest.mark.parametrize(
    "name", [name for name in models.model_names() if not models.get_model(name).training.labelled]
)
def test_every_variant_gets_the_toy_mlps_for_points(name):
    spec = models.get_model(name)
    arch = {**spec.architecture, "spectral_norm": False, "dropout": 0.0}
    num_classes = 3 if spec.conditional else None
    generator, discriminator = models.build_networks(
        spec, (2,), latent_dim=2, arch=arch, num_classes=num_classes
    )
    noise, labels = tf.random.stateless_normal([5, 2], seed=[1, 1]), tf.constant([0, 1, 2, 0, 1])
    inputs = (lambda x: [x, labels]) if spec.conditional else (lambda x: x)
    points = generator(inputs(noise), training=False)
    assert points.shape == (5, 2) and points.dtype == tf.float32
    assert discriminator(inputs(points), training=False).shape == (5, 1)
    if spec.conditional:  # the toy MLPs inside the label wrappers
        generator, discriminator = generator.layers[-1], discriminator.layers[-1]
        assert generator.inputs[0].shape == (None, 2 + 3)
        assert discriminator.inputs[0].shape == (None, 2 + 3)
    assert _toy_dense_units(generator) == [128, 128, 128, 2]
    assert _toy_dense_units(discriminator) == [128, 128, 128, 1]
    norms = sum(
        isinstance(layer, keras.layers.LayerNormalization) for layer in discriminator.layers
    )
    assert norms == (3 if arch.get("norm") == "layer" else 0)


def test_conditional_specs_get_label_inputs(registry):
    received = {}

    def generator_body(latent_dim, shape, arch):
        received["generator"] = (latent_dim, shape)
        return _tiny_generator(latent_dim, shape, arch)

    def discriminator_body(shape, arch):
        received["discriminator"] = shape
        return _tiny_discriminator(shape, arch)

    spec = ModelSpec(
        name="tiny_conditional",
        paper="A test variant, 2025",
        defaults={},
        build_generator=generator_body,
        build_discriminator=discriminator_body,
        architecture={"width": 8},
        conditional=True,
    )
    generator, discriminator = models.build_networks(
        spec, (4, 4, 2), latent_dim=3, arch={"width": 8}, num_classes=5
    )
    # the bodies are built for noise + one-hot and for images + 5 label planes
    assert received == {"generator": (3 + 5, (4, 4, 2)), "discriminator": (4, 4, 2 + 5)}
    assert [tuple(x.shape) for x in generator.inputs] == [(None, 3), (None,)]
    assert [tuple(x.shape) for x in discriminator.inputs] == [(None, 4, 4, 2), (None,)]
    assert any(isinstance(layer, conditioning.LabelPlanes) for layer in discriminator.layers)
    noise = tf.tile(tf.random.stateless_normal([1, 3], seed=[2, 2]), [2, 1])
    pair = generator([noise, tf.constant([1, 4])]).numpy()
    assert not np.allclose(pair[0], pair[1]), "the label must change the sample"
    with pytest.raises(ConfigError, match="tiny_conditional is conditional") as caught:
        models.build_networks(spec, (4, 4, 2), latent_dim=3, arch={"width": 8})
    assert caught.value.params == ("model", "dataset")


COLOUR = {
    32: {"learning_rate": 5e-4, "arch": {"width": 32}},
    64: {"learning_rate": 4e-4, "batch_size": 32},
    128: {"learning_rate": 3e-4},
}


def test_colour_recipe_is_the_nearest_measured_side_in_octaves():
    spec = _tiny_spec(fast_colour=COLOUR)
    assert spec.colour_recipe((64, 64, 3)) is COLOUR[64]
    assert spec.colour_recipe((48, 48, 3)) is COLOUR[64]  # 0.42 octave from 64, 0.58 from 32
    assert spec.colour_recipe((45, 45, 3)) is COLOUR[32]  # 0.49 from 32, 0.51 from 64
    assert spec.colour_recipe((16, 16, 3)) is COLOUR[32]
    assert spec.colour_recipe((256, 256, 3)) is COLOUR[128]
    for other in [(64, 64, 1), (28, 28, 1), (2,), None]:  # grayscale, 2-D points, unknown
        assert spec.colour_recipe(other) == {}
    assert _tiny_spec().colour_recipe((64, 64, 3)) == {}  # none measured


def test_make_config_applies_the_colour_recipe_of_the_data_size(registry):
    models.register(_tiny_spec(fast={"arch": {"width": 12}, "ema": 0.99}, fast_colour=COLOUR))
    emoji = gan_tf.make_config(model="tiny_test", dataset="emoji")  # 64x64x3
    assert (emoji.learning_rate, emoji.batch_size, emoji.ema) == (4e-4, 32, 0.99)
    assert emoji.arch == {"width": 12}  # fast's arch kept where the size entry has none
    small = gan_tf.make_config(model="tiny_test", dataset="emoji", image_size=32)
    assert (small.learning_rate, small.arch) == (5e-4, {"width": 32})  # arch entries merge
    folder = gan_tf.make_config(model="tiny_test", dataset="folder:/nowhere", image_size=128)
    assert folder.learning_rate == 3e-4
    mine = gan_tf.make_config(model="tiny_test", dataset="emoji", learning_rate=1e-4)
    assert (mine.learning_rate, mine.batch_size) == (1e-4, 32)  # what you set wins
    grey = gan_tf.make_config(model="tiny_test", dataset="fashion_mnist")
    assert (grey.learning_rate, grey.ema, grey.arch) == (1e-3, 0.99, {"width": 12})
    paper = gan_tf.make_config(model="tiny_test", dataset="emoji", recipe="paper")
    assert (paper.learning_rate, paper.ema, paper.arch) == (1e-3, 0.0, {"width": 8})


def test_data_shape_picks_the_recipe_for_data_handed_in_from_python(registry):
    spec = models.register(_tiny_spec(fast={"ema": 0.99}, fast_colour=COLOUR))
    handed = gan_tf.make_config(model="tiny_test", data_shape=(64, 64, 3))
    assert (handed.learning_rate, handed.batch_size, handed.ema) == (4e-4, 32, 0.99)
    small = gan_tf.make_config(model="tiny_test", data_shape=[30, 30, 3])  # nearest: 32 px
    assert (small.learning_rate, small.arch) == (5e-4, {"width": 32})
    grey = gan_tf.make_config(model="tiny_test", data_shape=(64, 64, 1))
    assert (grey.learning_rate, grey.batch_size) == (1e-3, 64)
    # train() names what a config made without the shape misses, and nothing otherwise
    blind = gan_tf.make_config(model="tiny_test")
    note = training._recipe_note(blind, spec, (64, 64, 3))
    assert note == (
        "Note: tiny_test has a recipe measured for (64, 64, 3) images that this config does "
        "not use (learning_rate, batch_size); make_config(data_shape=(64, 64, 3), ...) applies it"
    )
    assert "arch width" in training._recipe_note(blind, spec, (32, 32, 3))
    assert training._recipe_note(handed, spec, (64, 64, 3)) is None
    assert training._recipe_note(blind, spec, (28, 28, 1)) is None
    paper = gan_tf.make_config(model="tiny_test", recipe="paper")
    assert training._recipe_note(paper, spec, (64, 64, 3)) is None  # paper settings asked for
