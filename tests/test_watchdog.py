"""The watchdog's decisions (gan_tf/watchdog.py) on hand-made step metrics, sample
spreads and evaluation series, and the primary metric's choice (gan_tf/eval/names.py)."""

import math

import numpy as np
import pytest

from gan_tf.eval.names import primary_metric
from gan_tf.watchdog import (
    COLLAPSE_WARMUP_STEPS,
    SATURATED_FAKE,
    SATURATED_REAL,
    WORSE_MARGIN,
    Watchdog,
    diversity,
)

HEALTHY = {"discriminator_loss": 1.2, "generator_loss": 0.9, "d_real": 0.6, "d_fake": 0.4}
SATURATED = {**HEALTHY, "d_real": 0.995, "d_fake": 0.005}


def steps(watchdog, rows, first=1, epoch=1):
    """``check_step`` on each row at steps first, first+1, ...; the events by step."""
    return {
        step: event
        for step, row in enumerate(rows, first)
        if (event := watchdog.check_step(row, step, epoch)) is not None
    }


def test_the_module_constants_are_the_documented_ones():
    assert (SATURATED_REAL, SATURATED_FAKE) == (0.99, 0.01)
    assert COLLAPSE_WARMUP_STEPS == 500
    assert WORSE_MARGIN == pytest.approx(0.10, abs=1e-12)


# --- nonfinite -------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_nonfinite_value_fires_and_names_the_key(bad):
    watchdog = Watchdog()  # every other check off: nonfinite is always on
    event = watchdog.check_step({**HEALTHY, "generator_loss": bad}, 17, 3)
    assert event.kind == "nonfinite"
    assert (event.step, event.epoch, event.since) == (17, 3, 17)
    assert event.message.startswith("generator_loss became ")
    assert event.message == f"generator_loss became {bad}"
    assert "discriminator_loss" not in event.message


def test_nonfinite_names_every_bad_key_and_healthy_steps_are_quiet():
    watchdog = Watchdog(divergence_loss=1e6, saturation_steps=5)
    assert watchdog.check_step(HEALTHY, 1, 1) is None
    event = watchdog.check_step({**HEALTHY, "d_real": math.nan, "d_fake": math.inf}, 2, 1)
    assert event.kind == "nonfinite"
    assert event.message == "d_real, d_fake became nan"


# --- exploding loss --------------------------------------------------------------------


def test_exploding_loss_fires_just_above_the_bound_not_at_or_below_it():
    watchdog = Watchdog(divergence_loss=1e6)
    assert watchdog.check_step({**HEALTHY, "generator_loss": 999_999.0}, 1, 1) is None
    assert watchdog.check_step({**HEALTHY, "generator_loss": 1e6}, 2, 1) is None  # not beyond
    event = watchdog.check_step({**HEALTHY, "generator_loss": 1_000_001.0}, 3, 1)
    assert event.kind == "exploding_loss"
    assert (event.step, event.epoch, event.since) == (3, 1, 3)
    assert event.message == "generator_loss reached 1e+06 (beyond divergence_loss=1e+06)"


def test_exploding_loss_checks_the_absolute_value_of_every_key():
    watchdog = Watchdog(divergence_loss=100.0)
    event = watchdog.check_step({**HEALTHY, "d_fake": -150.0}, 4, 2)
    assert event.kind == "exploding_loss"
    assert event.message == "d_fake reached -150 (beyond divergence_loss=100)"


def test_exploding_loss_bound_zero_is_off():
    watchdog = Watchdog(divergence_loss=0.0)
    assert steps(watchdog, [{**HEALTHY, "discriminator_loss": 1e18}] * 3) == {}


def test_exploding_loss_is_reported_once_while_it_lasts_and_again_after_it_clears():
    watchdog = Watchdog(divergence_loss=10.0)
    big = {**HEALTHY, "discriminator_loss": 50.0}
    events = steps(watchdog, [HEALTHY, big, big, big, HEALTHY, HEALTHY, big, big])
    assert sorted(events) == [2, 7]
    assert [events[s].kind for s in (2, 7)] == ["exploding_loss"] * 2
    assert events[7].since == 7


# --- saturated discriminator -----------------------------------------------------------


def test_saturation_fires_at_the_nth_consecutive_step_not_before():
    watchdog = Watchdog(saturation_steps=4)
    events = steps(watchdog, [HEALTHY, SATURATED, SATURATED, SATURATED], first=10)
    assert events == {}  # steps 11-13: three saturated steps, N - 1
    event = watchdog.check_step(SATURATED, 14, 2)
    assert event.kind == "saturated_discriminator"
    assert (event.step, event.epoch, event.since) == (14, 2, 11)
    assert event.message == (
        "the discriminator won outright for 4 steps (D(x) 0.995, D(G(z)) 0.005; saturation_steps=4)"
    )
    # held: not reported again
    assert steps(watchdog, [SATURATED] * 5, first=15) == {}


def test_a_non_saturated_step_resets_the_count():
    watchdog = Watchdog(saturation_steps=3)
    rows = [SATURATED, SATURATED, HEALTHY, SATURATED, SATURATED, SATURATED]
    events = steps(watchdog, rows)
    assert sorted(events) == [6]  # not at 3 (the run broke), at 6 = 4 + 3 - 1
    assert events[6].since == 4


def test_saturation_is_reported_again_after_it_clears():
    watchdog = Watchdog(saturation_steps=2)
    rows = [SATURATED, SATURATED, SATURATED, HEALTHY, SATURATED, SATURATED]
    events = steps(watchdog, rows)
    assert sorted(events) == [2, 6]
    assert (events[2].since, events[6].since) == (1, 5)


def test_saturation_is_off_for_non_sigmoid_outputs_and_for_zero_steps():
    critic = Watchdog(saturation_steps=2, sigmoid_outputs=False)  # raw scores (WGAN, hinge)
    assert steps(critic, [SATURATED] * 5) == {}
    off = Watchdog(saturation_steps=0)
    assert steps(off, [SATURATED] * 5) == {}


def test_saturation_needs_both_scores_present():
    watchdog = Watchdog(saturation_steps=1)
    assert watchdog.check_step({"d_real": 0.999}, 1, 1) is None
    assert watchdog.check_step({"d_real": 0.999, "d_fake": 0.001}, 2, 1).since == 2


@pytest.mark.parametrize(
    ("d_real", "d_fake", "saturated"),
    [
        (0.99, 0.005, False),  # D(x) exactly 0.99: not above
        (0.995, 0.01, False),  # D(G(z)) exactly 0.01: not below
        (0.9901, 0.0099, True),
        (0.995, 0.5, False),  # only D(x) extreme
        (0.5, 0.005, False),  # only D(G(z)) extreme
    ],
)
def test_saturation_thresholds_are_strict(d_real, d_fake, saturated):
    watchdog = Watchdog(saturation_steps=1)
    event = watchdog.check_step({**HEALTHY, "d_real": d_real, "d_fake": d_fake}, 7, 1)
    assert (event is not None) == saturated
    if saturated:
        assert (event.kind, event.since) == ("saturated_discriminator", 7)


# --- diversity and collapse -------------------------------------------------------------


def test_diversity_hand_computed():
    # samples: column stds (population) 1 and 2 -> spread 1.5;
    # reference: columns [0, 1] -> std 0.5 each -> spread 0.5; ratio 3
    samples = np.array([[0.0, 0.0], [2.0, 4.0]])
    reference = np.array([[0.0, 0.0], [1.0, 1.0]])
    assert diversity(samples, reference) == pytest.approx(3.0, abs=1e-12)
    assert diversity(reference, samples) == pytest.approx(1 / 3, abs=1e-12)


def test_diversity_uses_the_population_std_so_counts_may_differ():
    # two samples 0, 2 and four references 0, 0, 2, 2: population stds 1 and 1 -> 1
    # (the sample std, ddof=1, would give sqrt(2) / sqrt(4/3) = 1.22)
    samples = np.array([[0.0], [2.0]])
    reference = np.array([[0.0], [0.0], [2.0], [2.0]])
    assert diversity(samples, reference) == pytest.approx(1.0, abs=1e-12)


def test_diversity_of_image_shaped_arrays_is_per_pixel():
    # 4 images of 1x2 pixels, 1 channel; pixel 0 takes -1, 1, -1, 1 (std 1), pixel 1 is
    # constant (std 0): spread 0.5. Reference: pixel stds 0.5 and 1.5 -> spread 1.
    samples = np.array([[-1.0, 0.3], [1.0, 0.3], [-1.0, 0.3], [1.0, 0.3]]).reshape(4, 1, 2, 1)
    reference = np.array([[0.0, -1.5], [1.0, 1.5], [0.0, -1.5], [1.0, 1.5]]).reshape(4, 1, 2, 1)
    assert diversity(samples, reference) == pytest.approx(0.5, abs=1e-12)


def test_diversity_of_identical_samples_is_zero():
    samples = np.tile(np.array([[0.2, -0.7, 0.9]], np.float32), (8, 1))
    reference = np.random.default_rng(0).uniform(-1, 1, (8, 3))
    assert diversity(samples, reference) == pytest.approx(0.0, abs=1e-9)
    assert diversity(reference, reference) == pytest.approx(1.0, abs=1e-12)


def test_collapse_waits_for_the_warm_up():
    watchdog = Watchdog(min_diversity=0.05)
    assert watchdog.check_diversity(0.0, COLLAPSE_WARMUP_STEPS - 1, 1) is None
    event = watchdog.check_diversity(0.0, COLLAPSE_WARMUP_STEPS, 2)
    assert event.kind == "collapse"
    assert (event.step, event.epoch, event.since) == (500, 2, 500)
    assert event.message == (
        "the samples collapsed: diversity 0.000 of the real images' (below min_diversity=0.05)"
    )


def test_collapse_threshold_once_per_episode_and_off_at_zero():
    watchdog = Watchdog(min_diversity=0.05)
    assert watchdog.check_diversity(0.05, 600, 1) is None  # not below
    assert watchdog.check_diversity(0.049, 700, 2).kind == "collapse"
    assert watchdog.check_diversity(0.01, 800, 3) is None  # still collapsed: reported once
    assert watchdog.check_diversity(0.8, 900, 4) is None  # cleared
    assert watchdog.check_diversity(0.02, 1000, 5).step == 1000  # reported again
    off = Watchdog(min_diversity=0.0)
    assert off.check_diversity(0.0, 10_000, 9) is None


# --- evaluations ------------------------------------------------------------------------


def evals(watchdog, values, higher_is_better, name="fd_classifier", every=100):
    """``check_eval`` at steps every, 2*every, ...; [(event, is_best), ...]."""
    return [
        watchdog.check_eval(name, value, higher_is_better, every * index, index)
        for index, value in enumerate(values, 1)
    ]


def test_lower_is_better_best_tracking_and_margin():
    watchdog = Watchdog(worse_evals=2)
    results = evals(watchdog, [10.0, 8.0, 8.7, 8.79, 9.0], higher_is_better=False)
    # 8.7 and 8.79 are within 10 % of 8 (<= 8.8): not worse; 9.0 is worse once
    assert [best for _, best in results] == [True, True, False, False, False]
    assert [event for event, _ in results] == [None] * 5
    assert watchdog.best == (8.0, 200)


def test_lower_is_better_n_worse_in_a_row_fires_with_since_after_the_best():
    watchdog = Watchdog(worse_evals=3)
    results = evals(watchdog, [10.0, 8.0, 9.0, 9.5, 8.5, 9.0, 9.0, 12.0], False)
    fired = [(index, event) for index, (event, _) in enumerate(results, 1) if event]
    # 9.0, 9.5 worse; 8.5 within the margin resets; 9.0, 9.0, 12.0: third in a row at eval 8
    assert [index for index, _ in fired] == [8]
    event = fired[0][1]
    assert (event.kind, event.step, event.epoch, event.since) == ("metric_worse", 800, 8, 201)
    assert event.message == (
        "fd_classifier got worse for 3 evaluations in a row (12; best 8 at step 200; worse_evals=3)"
    )


def test_metric_worse_reported_once_then_an_improvement_resets():
    watchdog = Watchdog(worse_evals=2)
    values = [5.0, 6.0, 6.0, 7.0, 4.0, 5.0, 5.0]
    results = evals(watchdog, values, False)
    fired = [index for index, (event, _) in enumerate(results, 1) if event]
    # worse at 2, 3 (fires at 3), 4 (still: quiet); 4.0 is a new best; 5.0 > 4.4 twice: fires at 7
    assert fired == [3, 7]
    assert [best for _, best in results] == [True, False, False, False, True, False, False]
    assert results[6][0].since == 501
    assert watchdog.best == (4.0, 500)


def test_higher_is_better_best_tracking_and_worse():
    watchdog = Watchdog(worse_evals=2)
    results = evals(watchdog, [5.0, 8.0, 7.3, 7.1, 7.0, 9.0], True, name="is_classifier")
    # margin 0.8 below 8: 7.3 within (>= 7.2); 7.1 and 7.0 worse -> fires at eval 5
    assert [best for _, best in results] == [True, True, False, False, False, True]
    fired = [(index, event) for index, (event, _) in enumerate(results, 1) if event]
    assert [index for index, _ in fired] == [5]
    assert fired[0][1].since == 201
    assert "is_classifier got worse for 2 evaluations" in fired[0][1].message
    assert watchdog.best == (9.0, 600)


def test_worse_evals_zero_still_tracks_the_best():
    watchdog = Watchdog(worse_evals=0)
    results = evals(watchdog, [3.0, 30.0, 30.0, 30.0, 2.0], False)
    assert [event for event, _ in results] == [None] * 5
    assert [best for _, best in results] == [True, False, False, False, True]


def test_resume_with_a_best_continues_from_it():
    watchdog = Watchdog(worse_evals=2, best=(4.0, 1200))
    first, is_best = watchdog.check_eval("fd_classifier", 4.2, False, 1300, 13)
    assert (first, is_best) == (None, False)  # 4.2 within 10 % of the restored 4.0
    assert watchdog.check_eval("fd_classifier", 4.5, False, 1400, 14) == (None, False)
    event, is_best = watchdog.check_eval("fd_classifier", 5.0, False, 1500, 15)
    assert not is_best
    assert (event.kind, event.since) == ("metric_worse", 1201)
    assert watchdog.check_eval("fd_classifier", 3.9, False, 1600, 16) == (None, True)
    assert watchdog.best == (3.9, 1600)


# --- the primary metric -----------------------------------------------------------------


def test_primary_metric_prefers_the_classifier_fd():
    values = {"fid": 30.0, "fd_classifier": 5.0, "is_classifier": 8.0, "classes_covered": 10}
    assert primary_metric(values) == ("fd_classifier", False)
    assert primary_metric({"is": 3.0, "fid": 30.0, "kid": 0.01}) == ("fid", False)
    assert primary_metric({"kid": 0.02, "kid_classifier": 0.01}) == ("kid_classifier", False)
    assert primary_metric(["precision_classifier", "is_classifier"]) == ("is_classifier", True)
    assert primary_metric({"cas": 0.8, "classes_covered": 9}) == ("cas", True)


def test_primary_metric_is_none_without_a_known_metric():
    assert primary_metric({"diversity": 0.9, "precision": 0.5, "class_kl": 0.1}) is None
    assert primary_metric({}) is None


def test_saturation_state_is_kept_on_a_step_where_the_loss_explodes():
    """Both checks run every step: saturation clearing on an exploding step still
    clears, so it is reported again when it returns."""
    watchdog = Watchdog(divergence_loss=10.0, saturation_steps=1)
    saturated = {"d_real": 0.999, "d_fake": 0.001, "generator_loss": 1.0}
    assert watchdog.check_step(saturated, 1, 1).kind == "saturated_discriminator"
    assert watchdog.check_step(saturated, 2, 1) is None
    exploding = {"d_real": 0.5, "d_fake": 0.5, "generator_loss": 100.0}
    assert watchdog.check_step(exploding, 3, 1).kind == "exploding_loss"
    event = watchdog.check_step(saturated, 4, 1)
    assert (event.kind, event.since) == ("saturated_discriminator", 4)


def test_a_nan_evaluation_is_never_the_best_and_counts_as_worse():
    watchdog = Watchdog(worse_evals=2)
    assert watchdog.check_eval("fd", math.nan, False, 1, 1) == (None, False)
    assert watchdog.best is None
    assert watchdog.check_eval("fd", 5.0, False, 2, 2) == (None, True)
    assert watchdog.check_eval("fd", math.nan, False, 3, 3) == (None, False)
    event, best = watchdog.check_eval("fd", 100.0, False, 4, 4)
    assert not best and (event.kind, event.since) == ("metric_worse", 3)
    assert watchdog.best == (5.0, 2)
