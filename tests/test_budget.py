"""gan_tf.budget: ``minutes`` times the train step and picks the epochs; the run it starts
is the same run as one given those epochs, and the same command resumes it untimed."""

import csv
import dataclasses
import json

import numpy as np
import pytest
from fake_data import tiny_networks, write_mnist_idx

import gan_tf
from gan_tf import budget, rundir
from gan_tf.errors import ConfigError


@pytest.fixture(scope="module")
def mnist_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("mnist")
    write_mnist_idx(str(directory), train=64)  # 4 steps/epoch at batch 16
    return str(directory)


@pytest.fixture(autouse=True)
def short_timing(monkeypatch):
    """Times MIN_TIMED_CALLS calls rather than 4 s of them: the tests check what the
    timing feeds, not its precision."""
    monkeypatch.setattr(budget, "TIMED_SECONDS", 0.0)


def config_for(mnist_dir, **overrides):
    values = dict(
        model="gan", dataset="mnist", data_dir=mnist_dir, download=False, batch_size=16,
        latent_dim=8, grid_size=2, log_every=2, seed=3,
    )  # fmt: skip
    return gan_tf.make_config(**{**values, **overrides})


def read_rows(path):
    with open(path, encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def weights(run_dir):
    generator, _ = rundir.restore_generator(str(run_dir))
    return [v.numpy() for v in generator.weights]


class Queue:
    """Stands in for a budget function: answers from ``answers``, records its calls."""

    def __init__(self):
        self.asked, self.answers = [], []

    def __call__(self, *arguments):
        self.asked.append(arguments)
        return self.answers.pop(0)


@pytest.fixture
def chosen(monkeypatch):
    """Makes :func:`budget.epochs_for` (the plan before the run) and :func:`budget.replan`
    (after its first epoch) answer from queues; the real timings still run."""
    planned, replanned = Queue(), Queue()
    monkeypatch.setattr(budget, "epochs_for", planned)
    monkeypatch.setattr(budget, "replan", replanned)
    return planned, replanned


@pytest.mark.parametrize(
    "minutes, seconds_per_step, steps_per_epoch, epochs",
    [
        (30, 0.128, 213, 66),  # 1800 / 27.264 = 66.02
        (30, 0.200, 213, 42),  # 1800 / 42.6 = 42.25
        (1, 0.5, 60, 2),  # exactly 2.0: whole epochs that fit, no rounding up
        (0.01, 0.5, 60, 1),  # less than one epoch fits: one epoch
    ],
)
def test_epochs_for_is_the_whole_epochs_that_fit(
    minutes, seconds_per_step, steps_per_epoch, epochs
):
    assert budget.epochs_for(minutes, seconds_per_step, steps_per_epoch) == epochs


@pytest.mark.parametrize(
    "minutes, spent, seconds_per_step, steps_per_epoch, done, epochs",
    [
        # 84 epochs planned at 100 ms; the first took 28.9 s, then 127 ms a step:
        # 1 + floor((1800 - 28.9) / 27.051) = 1 + 65 = 66
        (30, 28.9, 0.127, 213, 1, 66),
        (30, 20.0, 0.100, 213, 1, 84),  # 1 + floor(1780 / 21.3) = 1 + 83
        (30, 1500.0, 0.127, 213, 50, 61),  # 50 + floor(300 / 27.051) = 50 + 11
        (1, 30.0, 0.5, 10, 3, 9),  # 3 + 30 / 5 = 9 exactly
        (1, 61.0, 0.5, 10, 4, 4),  # the budget is spent: the run ends here
    ],
)
def test_replan_fits_the_rest_of_the_budget_at_the_kept_pace(
    minutes, spent, seconds_per_step, steps_per_epoch, done, epochs
):
    assert budget.replan(minutes, spent, seconds_per_step, steps_per_epoch, done) == epochs


def test_max_epochs_caps_the_plan_and_the_replans():
    # a Zen 4 EPYC in bfloat16 fits 136 epochs of the 64 px emoji: 1800 / (0.062 * 213)
    assert budget.epochs_for(30, 0.062, 213) == 136
    assert budget.epochs_for(30, 0.062, 213, max_epochs=64) == 64
    assert budget.epochs_for(30, 0.200, 213, max_epochs=64) == 42  # under the cap: as fits
    # 20 epochs done in 600 s at 62 ms: 20 + floor(1200 / 13.206) = 110, capped at 64
    assert budget.replan(30, 600.0, 0.062, 213, 20) == 110
    assert budget.replan(30, 600.0, 0.062, 213, 20, 64) == 64
    assert budget.replan(30, 600.0, 0.062, 213, 70, 64) == 70  # past the cap: ends here


def test_the_colour_recipe_caps_minutes_at_64_epochs(mnist_dir):
    assert gan_tf.make_config(dataset="emoji", minutes=30).max_epochs == 64
    assert gan_tf.make_config(model="cgan", dataset="emoji").max_epochs == 64
    assert gan_tf.make_config(data_shape=(128, 128, 3)).max_epochs == 64
    assert gan_tf.make_config(dataset="emoji", recipe="paper").max_epochs == 0
    assert gan_tf.make_config(dataset="fashion_mnist").max_epochs == 0  # gray: no cap
    assert gan_tf.make_config(dataset="emoji", max_epochs=0).max_epochs == 0  # yours wins
    for bad in (-1, 2.5):
        with pytest.raises(ConfigError, match="max_epochs must be an integer >= 0"):
            config_for(mnist_dir, max_epochs=bad)


def test_a_run_that_would_fit_more_stops_at_max_epochs(mnist_dir, tmp_path, capsys):
    # a tiny MLP step takes a few ms: half a minute fits hundreds of 4-step epochs
    summary = gan_tf.train(
        config_for(mnist_dir, minutes=0.5, max_epochs=2), str(tmp_path), verbose=1
    )
    out = capsys.readouterr().out
    timing = summary["timing"]
    assert timing["epochs"] == 2 and timing["fitting"] > 2
    assert (summary["epoch"], summary["step"]) == (2, 8)
    assert f"so epochs=2, the most max_epochs allows where {timing['fitting']} would fit" in out


class Steps:
    """Stands in for :func:`budget.time_step`: seconds per step by ``base_width``."""

    def __init__(self, by_width):
        self.by_width, self.widths = by_width, []

    def __call__(self, config, *run):
        self.widths.append(config.arch["base_width"])
        return self.by_width[config.arch["base_width"]], 5


@pytest.mark.parametrize(
    "by_width, widths_timed, width, epochs, fitting",
    [
        # a Zen 4 EPYC in bfloat16: 136 epochs of base_width 16 fit, past 64; 32 fits
        # 1800 / (0.16 * 213) = 52.8 >= 25 epochs: trained at 32
        ({16: 0.062, 32: 0.16}, [16, 32], 32, 52, 52),
        # 32 too slow for 25 epochs (1800 / (0.5 * 213) = 16.9): 16, capped at 64
        ({16: 0.062, 32: 0.5}, [16, 32], 16, 64, 136),
        # 16 fits 42 <= 64: nothing to widen, 32 not even timed
        ({16: 0.2, 32: 0.5}, [16], 16, 42, 42),
    ],
)
def test_widen_trains_twice_the_width_when_the_cap_leaves_time(
    monkeypatch, by_width, widths_timed, width, epochs, fitting
):
    import tensorflow as tf

    steps = Steps(by_width)
    monkeypatch.setattr(budget, "time_step", steps)
    config = gan_tf.make_config(dataset="emoji", minutes=30)
    assert (config.widen, config.max_epochs, config.arch["base_width"]) == (True, 64, 16)
    resolved, timing = budget.resolve(config, None, 213, tf.distribute.get_strategy(), None)
    assert steps.widths == widths_timed
    assert (resolved.arch["base_width"], resolved.epochs) == (width, epochs)
    assert (timing.epochs, timing.fitting, timing.seconds_per_step) == (
        epochs, fitting, by_width[width],
    )  # fmt: skip
    assert timing.widened_from == (16 if width == 32 else 0)
    if width == 32:
        assert "at base_width=32 (twice 16" in timing.describe()
    # widen off, or a resumed run's networks: never widened
    for off, resumed in ((dataclasses.replace(config, widen=False), False), (config, True)):
        steps.widths = []
        kept, _ = budget.resolve(
            off, None, 213, tf.distribute.get_strategy(), None, resumed=resumed
        )
        assert steps.widths == [16] and kept.arch["base_width"] == 16


def test_your_base_width_is_not_widened():
    assert gan_tf.make_config(dataset="emoji", arch={"base_width": 16}).widen is False
    assert gan_tf.make_config(dataset="emoji", arch={"base_width": 16}, widen=True).widen
    assert gan_tf.make_config(dataset="emoji", arch={"max_width": 512}).widen  # not the width
    assert gan_tf.make_config(dataset="fashion_mnist").widen is False


def test_a_widened_run_trains_and_resumes_at_the_width_it_chose(mnist_dir, tmp_path, capsys):
    config = config_for(
        mnist_dir, model="dcgan", minutes=0.5, max_epochs=2, widen=True, arch={"base_width": 2}
    )
    summary = gan_tf.train(config, str(tmp_path), verbose=1)
    out = capsys.readouterr().out
    assert summary["timing"]["widened_from"] == 2 and summary["timing"]["epochs"] == 2
    assert "at base_width=4 (twice 2" in out
    saved = json.loads((tmp_path / "config.json").read_text(encoding="utf-8"))
    assert saved["arch"]["base_width"] == 4 and saved["epochs"] == 2
    generator, _ = rundir.restore_generator(str(tmp_path))
    from gan_tf.models import dcgan

    def size(width):
        return dcgan.build_generator(8, (28, 28, 1), {"base_width": width}).count_params()

    assert generator.count_params() == size(4) != size(2)
    # the same command: finished at the width it chose, nothing timed
    again = gan_tf.train(config, str(tmp_path), verbose=1)
    assert again["already_finished"] and again["changes"] == {} and again["timing"] is None
    # a longer budget keeps the networks it trained (not widened again)
    longer = gan_tf.train(dataclasses.replace(config, minutes=0.6, max_epochs=3), str(tmp_path))
    assert longer["timing"]["widened_from"] == 0 and longer["epoch"] == 3
    assert "arch" not in longer["changes"]


def test_saved_epochs_only_for_the_same_minutes(mnist_dir):
    config = config_for(mnist_dir, minutes=30)
    saved = dataclasses.replace(config, epochs=64)
    assert budget.saved_epochs(config, saved).epochs == 64
    assert budget.saved_epochs(config_for(mnist_dir, minutes=20), saved).epochs == 5
    assert budget.saved_epochs(config_for(mnist_dir), saved).epochs == 5  # no budget
    assert budget.saved_epochs(config, None).epochs == 5  # a new run


def test_config_takes_minutes_or_epochs_not_both(mnist_dir):
    with pytest.raises(ConfigError, match="epochs or minutes, not both"):
        config_for(mnist_dir, minutes=30, epochs=10)
    for bad in (-1, float("inf"), float("nan")):
        with pytest.raises(ConfigError, match="minutes must be >= 0"):
            config_for(mnist_dir, minutes=bad)
    assert config_for(mnist_dir, minutes=0, epochs=3).epochs == 3


def test_time_step_times_the_real_step(mnist_dir):
    from gan_tf import data, distribute, models

    config = config_for(mnist_dir, minutes=1)
    dataset = data.load_dataset("mnist", data_dir=mnist_dir, download=False)
    strategy = distribute.make_strategy("default")
    seconds, calls = budget.time_step(config, dataset, 4, strategy, models.get_model(config.model))
    assert calls == budget.MIN_TIMED_CALLS  # no time budget left to time more
    assert 1e-5 < seconds < 1.0  # a tiny MLP step on 2 cores: ~1-20 ms


def test_minutes_run_is_the_epochs_run_and_resumes_untimed(mnist_dir, tmp_path, chosen, capsys):
    planned, replanned = chosen
    planned.answers.append(3)
    timed = tmp_path / "timed"
    summary = gan_tf.train(config_for(mnist_dir, minutes=0.5), str(timed), verbose=1)
    out = capsys.readouterr().out
    assert len(planned.asked) == 1
    minutes, seconds_per_step, steps_per_epoch = planned.asked[0]
    assert (minutes, steps_per_epoch) == (0.5, 4) and 0 < seconds_per_step < 1.0
    assert summary["timing"]["epochs"] == 3 and summary["timing"]["steps_per_epoch"] == 4
    assert summary["timing"]["seconds_per_step"] == seconds_per_step
    assert (summary["epoch"], summary["step"]) == (3, 12)
    assert "--minutes=0.5: a step takes" in out and "so epochs=3 (12 steps" in out
    # an epoch of 4 steps is too short to re-plan from (MIN_PACED_STEPS): epochs stay 3
    assert replanned.asked == [] and summary["replanned"] is None
    saved = json.loads((timed / "config.json").read_text(encoding="utf-8"))
    assert (saved["minutes"], saved["epochs"]) == (0.5, 3)

    # the same run as one told epochs=3: the throwaway timing GAN disturbs nothing
    plain = tmp_path / "plain"
    gan_tf.train(config_for(mnist_dir, epochs=3), str(plain))
    rows, reference = read_rows(timed / "metrics.csv"), read_rows(plain / "metrics.csv")
    assert [row["step"] for row in rows] == ["4", "8", "12"]
    for row, other in zip(rows, reference, strict=True):
        for key in ("discriminator_loss", "generator_loss", "d_real", "d_fake"):
            assert float(row[key]) == pytest.approx(float(other[key]), rel=1e-5, abs=1e-7)
    for a, b in zip(weights(timed), weights(plain), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)

    # the same command again: finished, nothing timed, nothing changed
    again = gan_tf.train(config_for(mnist_dir, minutes=0.5), str(timed), verbose=1)
    out = capsys.readouterr().out
    assert len(planned.asked) == 1 and again["timing"] is None
    assert again["already_finished"] and again["changes"] == {}
    assert "Timing the train step" not in out

    # a larger budget times again and extends the run to the epochs it fits
    planned.answers.append(4)
    longer = gan_tf.train(config_for(mnist_dir, minutes=0.7), str(timed))
    assert len(planned.asked) == 2 and longer["timing"]["epochs"] == 4
    assert longer["changes"] == {"minutes": (0.5, 0.7), "epochs": (3, 4)}
    assert (longer["start_epoch"], longer["epoch"], longer["step"]) == (3, 4, 16)


def test_every_epoch_replans_the_run_and_its_decay(mnist_dir, tmp_path, chosen, monkeypatch):
    """Planned 2 epochs before the run; after epoch 1 the pace says 3, after epoch 2 and 3
    still 3: the run trains 3, saves epochs=3, and its learning rate reaches 0 at step
    12, not 8. Each re-plan gets the training seconds so far and this process's pace."""
    from gan_tf import training

    planned, replanned = chosen
    planned.answers.append(2)
    replanned.answers.extend([3, 3, 3])
    monkeypatch.setattr(budget, "MIN_PACED_STEPS", 1)  # an epoch here is 4 steps
    monkeypatch.setattr(budget, "WARMUP_CALLS", 1)
    rates = []

    class Rates(training.Callback):
        def on_epoch_end(self, run, epoch, logs):
            rates.append(float(run.gan.generator_optimizer.learning_rate))

    run_dir = tmp_path / "replanned"
    config = config_for(mnist_dir, minutes=0.5, lr_decay="linear", learning_rate=1e-3)
    summary = gan_tf.train(config, str(run_dir), verbose=0, callbacks=[Rates()])
    seconds = [float(row["seconds"]) for row in read_rows(run_dir / "metrics.csv")]
    assert [asked[4] for asked in replanned.asked] == [1, 2, 3]  # epochs done
    for k, (minutes, spent, pace, steps_per_epoch, _, cap) in enumerate(replanned.asked):
        assert (minutes, steps_per_epoch, cap) == (0.5, 4, 0) and 0 < pace < 1.0
        assert spent == pytest.approx(sum(seconds[: k + 1]), abs=1e-3)
    assert summary["replanned"]["epochs"] == 3
    assert (summary["epoch"], summary["step"]) == (3, 12)
    # read after each epoch, so after its re-plan: 1 - 4/12 (it was 1 - 4/8 before it)
    assert rates == pytest.approx([1e-3 * (1 - 4 / 12), 1e-3 * (1 - 8 / 12), 0.0], abs=1e-9)
    saved = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
    assert saved["epochs"] == 3
    # rerun: finished at 3, untimed
    again = gan_tf.train(config, str(run_dir), verbose=0)
    assert again["already_finished"] and len(planned.asked) == 1 and again["epoch"] == 3


def test_minutes_with_your_own_networks_times_copies(mnist_dir, tmp_path, chosen):
    planned, _ = chosen
    planned.answers.append(1)
    generator, discriminator = tiny_networks()
    before = [v.numpy().copy() for v in generator.weights]
    summary = gan_tf.train(
        config_for(mnist_dir, minutes=0.1),
        str(tmp_path / "own"),
        verbose=0,
        generator=generator,
        discriminator=discriminator,
    )
    assert summary["timing"]["epochs"] == 1 and summary["step"] == 4
    trained = [v.numpy() for v in generator.weights]
    assert any(not np.array_equal(a, b) for a, b in zip(before, trained, strict=True))
