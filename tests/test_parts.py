"""The step's parts (gan_tf.parts): what a config switches on, in which order, and the
parts' own checks. What each part does inside the step is tested in test_gan.py."""

import numpy as np
import pytest
import tensorflow as tf

import gan_tf
from gan_tf import parts, regularizers
from gan_tf.build import build_gan
from gan_tf.distribute import Draws


def test_a_config_switches_parts_on_in_registry_order():
    config = gan_tf.make_config(
        model="dcgan", recipe="paper", gp_weight=10.0, ema=0.99, label_flip=0.05,
        augment="flip", ada_target=0.6, instance_noise=0.1, historical_averaging=0.01,
        clip_value=0.5, loss="wasserstein", replay=0.25, replay_size=32, lecam_weight=0.01,
    )  # fmt: skip
    made = parts.from_config(config, total_steps=200)
    assert [type(part).__name__ for part in made] == [
        "Penalty", "HistoricalAveraging", "LeCam", "Augment", "InstanceNoise", "LabelFlip",
        "Replay", "WeightClipping", "EMA",
    ]  # fmt: skip
    assert (made[6].share, made[6].size) == (0.25, 32)
    penalty, _, _, augment, noise, *_ = made
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


# --- experience replay ------------------------------------------------------------------


def replay_gan(share=0.5, size=6):
    config = gan_tf.make_config(model="gan", latent_dim=4, replay=share, replay_size=size)
    return build_gan(config, (2,))


def test_replay_replaces_its_share_with_buffered_fakes_and_writes_the_fresh_ones():
    gan = replay_gan(0.5, 6)
    (replay,) = gan.parts
    assert replay.buffer.shape == (6, 2)
    replay.buffer.assign(np.stack([np.arange(100.0, 106.0)] * 2, axis=1))  # row i: (100+i) x 2
    replay.written.assign(6)
    fake = tf.constant([[j, -j] for j in range(1, 9)], tf.float32)  # row j-1: (j, -j)
    mixed = replay.fakes_for_discriminator(fake, Draws(tf.constant([3, 0], tf.int64))).numpy()
    # round(0.5 * 8) = 4 rows from slots floor(u * 6) of the step's first uniform draw
    slots = np.floor(Draws(tf.constant([3, 0], tf.int64)).uniform([4]).numpy() * 6)
    np.testing.assert_array_equal(mixed[:4], np.stack([100.0 + slots] * 2, axis=1))
    np.testing.assert_array_equal(mixed[4:], fake.numpy()[4:])  # the rest stay fresh
    # the last 6 fresh fakes (rows 3..8) fill the ring from slot 6 % 6 = 0
    np.testing.assert_array_equal(replay.buffer.numpy(), [[j, -j] for j in range(3, 9)])
    assert int(replay.written.numpy()) == 12
    quarter = replay_gan(0.25, 6).parts[0]
    quarter.buffer.assign(tf.fill([6, 2], 50.0))
    quarter.written.assign(3)  # slots 0..2 filled: 0.25 * 8 = 2 rows replaced
    mixed = quarter.fakes_for_discriminator(fake, Draws(tf.constant([1, 1], tf.int64))).numpy()
    assert (mixed == 50.0).all(axis=1).sum() == 2 and (mixed[:2] == 50.0).all()


def test_replay_from_an_empty_buffer_changes_nothing_and_refuses_bad_values():
    (replay,) = replay_gan(0.5, 6).parts
    fake = tf.reshape(tf.range(8.0), [4, 2])
    out = replay.fakes_for_discriminator(fake, Draws(tf.constant([0, 0], tf.int64)))
    np.testing.assert_array_equal(out.numpy(), fake.numpy())
    np.testing.assert_array_equal(replay.buffer.numpy()[:4], fake.numpy())
    with pytest.raises(gan_tf.ConfigError, match=r"replay must be a share in \(0, 1\), got 1.0"):
        parts.Replay(1.0)
    with pytest.raises(gan_tf.ConfigError, match="replay_size must be an integer >= 1, got 0"):
        parts.Replay(0.5, 0)


def test_replay_is_checkpointed_and_feeds_only_the_discriminator_update(tmp_path):
    gan = replay_gan(0.5, 6)
    (replay,) = gan.parts
    objects = gan.checkpoint_objects()
    assert objects["replay_buffer"] is replay.buffer
    assert objects["replay_written"] is replay.written
    real = tf.random.stateless_normal([4, 2], seed=[1, 2])
    gan.run_step(real)
    assert int(replay.written.numpy()) == 4  # one discriminator update wrote its 4 fakes
    path = gan.checkpoint().save(str(tmp_path / "ckpt"))
    restored = replay_gan(0.5, 6)
    restored.checkpoint().restore(path).assert_existing_objects_matched()
    np.testing.assert_array_equal(restored.parts[0].buffer.numpy(), replay.buffer.numpy())
    expected, resumed = gan.run_step(real), restored.run_step(real)
    for key in gan.metric_names:  # the resumed step replays what the original one does
        assert float(resumed[key]) == pytest.approx(float(expected[key]), rel=1e-5, abs=1e-6)
