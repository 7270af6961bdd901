"""The step's parts (gan_tf.parts): what a config switches on, in which order, and the
parts' own checks. What each part does inside the step is tested in test_gan.py."""

import pytest

import gan_tf
from gan_tf import parts, regularizers


def test_a_config_switches_parts_on_in_registry_order():
    config = gan_tf.make_config(
        model="dcgan", recipe="paper", gp_weight=10.0, ema=0.99, label_flip=0.05,
        augment="flip", ada_target=0.6, instance_noise=0.1, historical_averaging=0.01,
        clip_value=0.5, loss="wasserstein",
    )  # fmt: skip
    made = parts.from_config(config, total_steps=200)
    assert [type(part).__name__ for part in made] == [
        "Penalty", "HistoricalAveraging", "Augment", "InstanceNoise", "LabelFlip",
        "WeightClipping", "EMA",
    ]  # fmt: skip
    penalty, _, augment, noise, *_ = made
    assert (penalty.name, penalty.weight) == ("gradient_penalty", 10.0)
    assert augment.ada_rate == pytest.approx(64 / 100_000) and noise.anneal_steps == 200
    assert parts.from_config(gan_tf.make_config(model="dcgan", recipe="paper")) == ()


def test_a_penalty_registered_at_runtime_is_built_from_the_config(monkeypatch):
    term = lambda critic, real, fake, draws: 0.0  # noqa: E731
    monkeypatch.setitem(regularizers.PENALTIES, "zero", regularizers.Penalty("r1_weight", term))
    config = gan_tf.make_config(model="dcgan", recipe="paper", r1_weight=2.0)
    names = [part.name for part in parts.from_config(config)]
    assert names == ["r1_penalty", "zero"]


def test_ada_needs_a_rate():
    with pytest.raises(gan_tf.ConfigError, match="ada_rate > 0"):
        parts.Augment(("flip",), ada_target=0.6)
    assert parts.Augment(("flip",)).metric_names() == ("augment_p",)
    assert parts.Augment(("flip",), 0.6, 1e-3).metric_names() == ("real_sign", "augment_p")


def test_metric_names_follow_the_terms_a_part_defines():
    assert parts.Penalty("gradient_penalty", 1.0).metric_names() == ("gradient_penalty",)
    assert parts.HistoricalAveraging(0.1).metric_names() == ("historical_averaging",)
    assert parts.LabelFlip(0.1).metric_names() == parts.EMA(0.9).metric_names() == ()
