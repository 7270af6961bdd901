"""TrainConfig: fields with help, validation at construction, layered defaults, strict loading."""

import dataclasses

import pytest

from gan_tf import models
from gan_tf.config import (
    FIXED_FIELDS,
    TrainConfig,
    config_from_dict,
    field_help,
    field_types,
    make_config,
)
from gan_tf.errors import ConfigError


def test_every_field_has_help_with_its_default_and_the_variants_own():
    for field in dataclasses.fields(TrainConfig):
        text = field_help(field.name)
        assert len(text) > 20 and "(default " in text, field.name
    assert field_help("learning_rate").endswith(
        "(default 0.0002; dcgan 0.0012, ssgan 0.003, wgan 5e-05, wgan_gp 0.0001)"  # dcgan fast
    )
    assert "2-D toys 256" in field_help("batch_size")
    for name in models.model_names():  # the model list comes from the registry
        assert name in field_help("model")
    assert "relativistic" in field_help("loss")


def test_field_types_read_optional_and_dict_annotations():
    kinds = field_types()
    assert kinds["epochs"] is int and kinds["learning_rate"] is float
    assert kinds["d_learning_rate"] is float and kinds["image_size"] is int  # X | None -> X
    assert kinds["spectral_norm"] is bool and kinds["arch"] is dict and kinds["model"] is str
    assert set(kinds) == {field.name for field in dataclasses.fields(TrainConfig)}
    assert "output_dir" not in kinds  # the run directory is train()'s argument


@pytest.mark.parametrize(
    "overrides, params, fragment",
    [
        ({"batch_size": 0}, ("batch_size",), "batch_size must be a positive integer, got 0"),
        ({"learning_rate": 0.0}, ("learning_rate",), "learning_rate must be > 0"),
        ({"beta_2": 1.0}, ("beta_2",), "beta_2 must be in [0, 1)"),
        ({"r1_weight": -1.0}, ("r1_weight",), "r1_weight must be >= 0"),
        (
            {"optimizer": "adagrad"},
            ("optimizer",),
            "unknown optimizer 'adagrad'; choose one of: adam, rmsprop, sgd",
        ),
        ({"momentum": 0.9}, ("momentum",), "momentum applies to optimizer=sgd or rmsprop"),
        ({"optimizer": "sgd", "momentum": 1.0}, ("momentum",), "momentum must be in [0, 1)"),
        ({"lr_decay_to": 1.0}, ("lr_decay_to",), "lr_decay_to must be in [0, 1)"),
        ({"strategy": "gpu"}, ("strategy",), "unknown strategy 'gpu'"),
        ({"n_critic": 2, "update": "simultaneous"}, ("update", "n_critic"), "n_critic=1"),
        ({"loss": "hinge", "label_smoothing": 0.1}, ("label_smoothing", "loss"), "cross-entropy"),
        (
            {"loss": "wasserstein", "fake_label_smoothing": 0.1},
            ("fake_label_smoothing", "loss"),
            "fake_label_smoothing applies to cross-entropy losses only",
        ),
        ({"fake_label_smoothing": 1.0}, ("fake_label_smoothing",), "must be in [0, 1), got 1.0"),
        ({"replay": 1.0}, ("replay",), "replay must be in [0, 1), got 1.0"),
        ({"replay_size": 0}, ("replay_size",), "replay_size must be a positive integer, got 0"),
        (
            {"replay": 0.5, "update": "simultaneous"},
            ("replay", "update"),
            "replay needs update=alternating",
        ),
        (
            {"eval_every": 1, "eval_metrics": "fid,nope"},
            ("eval_metrics",),
            "unknown metric(s) nope",
        ),
        ({"model": "biggan"}, ("model",), "unknown model 'biggan'; choose one of: cgan, dcgan"),
    ],
)
def test_an_invalid_config_cannot_be_made(overrides, params, fragment):
    with pytest.raises(ConfigError) as caught:
        TrainConfig(**overrides)
    assert fragment in str(caught.value) and caught.value.params == params
    valid = TrainConfig()
    with pytest.raises(ConfigError):  # replace() validates too
        dataclasses.replace(valid, **overrides)


def test_make_config_layers_generic_variant_toy_and_user_values():
    assert make_config(recipe="paper").learning_rate == 2e-4
    wgan = make_config(model="wgan")
    assert (wgan.loss, wgan.optimizer, wgan.n_critic, wgan.clip_value) == (
        "wasserstein",
        "rmsprop",
        5,
        0.01,
    )
    assert wgan.learning_rate == pytest.approx(5e-5, rel=1e-12)
    toy = make_config(model="wgan_gp", dataset="ring8")
    assert (toy.latent_dim, toy.batch_size, toy.gp_weight) == (2, 256, 10.0)
    mine = make_config(model="wgan_gp", dataset="ring8", batch_size=32, gp_weight=None)
    assert mine.batch_size == 32 and mine.gp_weight == 10.0  # None means "not set"
    with pytest.raises(ConfigError, match="unknown config field.*output_dir"):
        make_config(output_dir="runs/x")


def test_ints_become_floats_for_float_fields():
    config = TrainConfig(gp_weight=10, learning_rate=1)
    assert isinstance(config.gp_weight, float) and isinstance(config.learning_rate, float)


def test_recipes_fast_over_paper_and_your_values_over_both():
    """recipe=fast (the default) applies dcgan's measured settings over the paper's;
    recipe=paper is the paper alone; your arch knobs merge into the recipe's."""
    fast, paper = make_config(), make_config(recipe="paper")
    assert (fast.recipe, fast.learning_rate, fast.ema, fast.arch["base_width"]) == (
        "fast",
        1.2e-3,
        0.999,
        32,
    )
    assert (paper.learning_rate, paper.ema, paper.arch["base_width"]) == (2e-4, 0.0, 64)
    assert (fast.batch_size, paper.batch_size) == (32, 64)
    assert fast.beta_1 == paper.beta_1 == 0.5
    mine = make_config(arch={"max_width": "128"}, learning_rate=1e-3)
    assert mine.arch == {
        "base_width": 32,
        "d_base_width": 0,
        "max_width": 128,
        "norm": "batch",
        "attention": 0,
        "minibatch_stddev": 0,
        "minibatch_discrimination": 0,
        "generator_norm": "batch",
        "hidden_noise": 0.0,
        "upsample": "transpose",
        "kernel_size": 5,
        "subpixel": True,
    }
    assert mine.learning_rate == 1e-3 and mine.ema == 0.999
    assert make_config(arch={"base_width": 64}).arch["base_width"] == 64
    for model in ("wgan", "wgan_gp", "sngan", "cgan", "gan"):  # no fast settings: the paper's
        assert make_config(model=model) == make_config(model=model, recipe="paper").__class__(
            **{**make_config(model=model, recipe="paper").to_dict(), "recipe": "fast"}
        )
    with pytest.raises(ConfigError, match="unknown recipe 'quick'; choose one of: fast, paper"):
        make_config(recipe="quick")


def test_arch_resolves_against_the_variants_knobs():
    assert make_config(recipe="paper").arch == {
        "base_width": 64,
        "d_base_width": 0,
        "max_width": 1024,
        "norm": "batch",
        "attention": 0,
        "minibatch_stddev": 0,
        "minibatch_discrimination": 0,
        "generator_norm": "batch",
        "hidden_noise": 0.0,
        "upsample": "transpose",
        "kernel_size": 5,
        "subpixel": True,
    }
    assert make_config(model="wgan_gp").arch["norm"] == "layer"
    assert make_config(arch={"subpixel": "false"}).arch["subpixel"] is False  # from flags
    parsed = make_config(arch={"base_width": "32", "max_width": "256"}).arch  # from flags
    assert parsed == {
        "base_width": 32,
        "d_base_width": 0,
        "max_width": 256,
        "norm": "batch",
        "attention": 0,
        "minibatch_stddev": 0,
        "minibatch_discrimination": 0,
        "generator_norm": "batch",
        "hidden_noise": 0.0,
        "upsample": "transpose",
        "kernel_size": 5,
        "subpixel": True,
    }
    assert make_config(model="gan").arch == {"hidden_noise": 0.0}
    assert make_config(model="gan", arch={"hidden_noise": "0.1"}).arch == {"hidden_noise": 0.1}
    with pytest.raises(ConfigError, match="dcgan has no knob width; its knobs are: base_width=64"):
        make_config(arch={"width": 3})
    with pytest.raises(ConfigError, match="base_width takes a int, got 'wide'"):
        make_config(arch={"base_width": "wide"})
    with pytest.raises(
        ConfigError, match="gan has no knob base_width; its knobs are: hidden_noise=0.0"
    ):
        make_config(model="gan", arch={"base_width": 32})


def test_config_from_dict_round_trips_and_rejects_unknown_keys():
    config = make_config(model="cgan", arch={"base_width": 32}, r1_weight=5.0)
    assert config_from_dict(config.to_dict()) == config
    with pytest.raises(ConfigError, match="RUN/config.json has unknown key\\(s\\) colour, gamma"):
        config_from_dict({**config.to_dict(), "gamma": 1, "colour": 2}, "RUN/config.json")
    legacy = {**config.to_dict(), "output_dir": "runs/old"}  # what runs before 0.2 wrote
    del legacy["arch"], legacy["r1_weight"]  # fields older runs did not have
    del legacy["recipe"]
    old = config_from_dict(legacy)
    assert (
        old.arch
        == {
            "base_width": 64,
            "d_base_width": 0,
            "max_width": 0,
            "norm": "batch",
            "attention": 0,
            "minibatch_stddev": 0,
            "minibatch_discrimination": 0,
            "generator_norm": "batch",
            "hidden_noise": 0.0,
            "upsample": "transpose",
            "kernel_size": 5,
            "subpixel": True,
        }
        and old.r1_weight == 0
    )
    assert old.recipe == "paper"  # runs from before recipes had the paper's settings


def test_architecture_fields_are_fields():
    names = {field.name for field in dataclasses.fields(TrainConfig)}
    assert set(FIXED_FIELDS) <= names
    assert "learning_rate" not in FIXED_FIELDS and "epochs" not in FIXED_FIELDS


def test_a_loss_that_reads_labels_needs_a_model_that_trains_on_them():
    with pytest.raises(ConfigError, match="loss=semi_supervised reads class labels .* model=dcgan"):
        make_config(model="dcgan", loss="semi_supervised")


def test_the_sgd_recipe_is_minibatch_sgd_at_batch_128_under_your_values():
    config = make_config(recipe="sgd")
    assert (config.optimizer, config.momentum, config.learning_rate, config.batch_size) == (
        "sgd",
        0.5,
        0.01,
        128,
    )
    assert make_config(recipe="sgd", batch_size=64, momentum=0.9).batch_size == 64
    assert make_config(model="gan", recipe="sgd").optimizer == "sgd"
