"""Losses against hand-computed values (two-sided tolerances)."""

import numpy as np
import pytest
import tensorflow as tf

from gan_tf import losses
from gan_tf.errors import ConfigError

LOGITS = tf.constant([[0.0], [2.0], [-1.0]])


def test_non_saturating_generator_loss_hand_computed():
    # mean(softplus(-x)) = (ln 2 + ln(1 + e^-2) + ln(1 + e)) / 3
    expected = (0.693147 + 0.126928 + 1.313262) / 3
    value = float(losses.non_saturating_generator_loss(fake_logits=LOGITS))
    assert value == pytest.approx(expected, abs=1e-5)
    assert value == pytest.approx(0.711112, abs=1e-5)


def test_minimax_generator_loss_hand_computed():
    # mean(log(1 - sigmoid(x))) = -mean(softplus(x)) = -(ln 2 + 2.126928 + 0.313262) / 3
    value = float(losses.minimax_generator_loss(fake_logits=LOGITS))
    assert value == pytest.approx(-1.044446, abs=1e-5)


def test_minimax_is_log_one_minus_d():
    d = tf.sigmoid(LOGITS)
    reference = float(tf.reduce_mean(tf.math.log(1.0 - d)))
    assert float(losses.minimax_generator_loss(fake_logits=LOGITS)) == pytest.approx(
        reference, abs=1e-6
    )


def test_bce_discriminator_loss_hand_computed():
    # real x=2 target 1: ln(1 + e^-2) = 0.126928; fake x=-1 target 0: ln(1 + e^-1) = 0.313262
    value = float(
        losses.bce_discriminator_loss(
            real_logits=tf.constant([[2.0]]), fake_logits=tf.constant([[-1.0]])
        )
    )
    assert value == pytest.approx(0.440190, abs=1e-5)


def test_bce_discriminator_loss_with_label_smoothing_hand_computed():
    # real x=2 target 0.9: max(x,0) - x*z + ln(1 + e^-|x|) = 2 - 1.8 + 0.126928 = 0.326928
    value = float(
        losses.bce_discriminator_loss(
            real_logits=tf.constant([[2.0]]), fake_logits=tf.constant([[-1.0]]), label_smoothing=0.1
        )
    )
    assert value == pytest.approx(0.326928 + 0.313262, abs=1e-5)


SMOOTHING_REAL = [[1.5], [-0.5], [0.3]]
SMOOTHING_FAKE = [[-2.0], [0.7], [0.1]]


def _smoothing_gradients(**smoothing):
    """Gradients of the BCE discriminator loss w.r.t. fixed real and fake logits."""
    real, fake = tf.Variable(SMOOTHING_REAL), tf.Variable(SMOOTHING_FAKE)
    with tf.GradientTape() as tape:
        loss = losses.bce_discriminator_loss(real_logits=real, fake_logits=fake, **smoothing)
    return [g.numpy() for g in tape.gradient(loss, [real, fake])]


def test_label_smoothing_changes_only_real_targets():
    real_plain, fake_plain = _smoothing_gradients(label_smoothing=0.0)
    real_smooth, fake_smooth = _smoothing_gradients(label_smoothing=0.2)
    # d/dx of mean BCE = (sigmoid(x) - target) / N: fake targets stay 0, real ones become 0.8.
    np.testing.assert_allclose(fake_smooth, fake_plain, atol=1e-7)
    np.testing.assert_allclose(real_smooth - real_plain, np.full((3, 1), 0.2 / 3), atol=1e-6)
    sig = 1 / (1 + np.exp(-np.array(SMOOTHING_FAKE)))
    np.testing.assert_allclose(fake_plain, sig / 3, atol=1e-6)


def test_two_sided_label_smoothing_hand_computed():
    # real x=2 target 0.9: 0.326928 (above); fake x=-1 target 0.2:
    # max(x,0) - x*z + ln(1 + e^-|x|) = 0 + 0.2 + 0.313262 = 0.513262
    value = float(
        losses.bce_discriminator_loss(
            real_logits=tf.constant([[2.0]]),
            fake_logits=tf.constant([[-1.0]]),
            label_smoothing=0.1,
            fake_label_smoothing=0.2,
        )
    )
    assert value == pytest.approx(0.326928 + 0.513262, abs=1e-5)


def test_fake_label_smoothing_changes_only_fake_targets():
    real_plain, fake_plain = _smoothing_gradients(fake_label_smoothing=0.0)
    real_smooth, fake_smooth = _smoothing_gradients(fake_label_smoothing=0.1)
    # d/dx of mean BCE = (sigmoid(x) - target) / N: real targets stay 1, fake ones become 0.1.
    np.testing.assert_allclose(real_smooth, real_plain, atol=1e-7)
    np.testing.assert_allclose(fake_plain - fake_smooth, np.full((3, 1), 0.1 / 3), atol=1e-6)


def test_losses_are_keyword_only():
    with pytest.raises(TypeError):
        losses.bce_discriminator_loss(LOGITS, LOGITS)
    with pytest.raises(TypeError):
        losses.non_saturating_generator_loss(LOGITS)


def test_losses_are_float32_even_for_bfloat16_logits():
    value = losses.non_saturating_generator_loss(fake_logits=tf.cast(LOGITS, tf.bfloat16))
    assert value.dtype == tf.float32


def test_label_smoothing_range_checked():
    with pytest.raises(ConfigError, match="label_smoothing must be in"):
        losses.bce_discriminator_loss(real_logits=LOGITS, fake_logits=LOGITS, label_smoothing=1.0)
    with pytest.raises(ConfigError, match=r"fake_label_smoothing must be in \[0, 1\), got -0.1"):
        losses.bce_discriminator_loss(
            real_logits=LOGITS, fake_logits=LOGITS, fake_label_smoothing=-0.1
        )


def test_registry():
    pair = losses.get_loss("non_saturating")
    assert pair.generator_loss is losses.non_saturating_generator_loss
    assert pair.discriminator_loss is losses.bce_discriminator_loss
    assert losses.get_loss("minimax").generator_loss is losses.minimax_generator_loss
    assert losses.get_loss("relativistic").generator_loss is losses.relativistic_generator_loss
    with pytest.raises(ConfigError, match="non_saturating, minimax, wasserstein") as caught:
        losses.get_loss("wasserstein_typo")
    assert caught.value.params == ("loss",)


REAL = tf.constant([[1.0], [3.0]])
FAKE = tf.constant([[-1.0], [0.5]])


def test_wasserstein_losses_hand_computed():
    # critic: mean(fake) - mean(real) = -0.25 - 2 = -2.25; generator: -mean(fake) = 0.25
    d = losses.wasserstein_discriminator_loss(real_logits=REAL, fake_logits=FAKE)
    assert float(d) == pytest.approx(-2.25, abs=1e-6)
    assert float(losses.wasserstein_generator_loss(fake_logits=FAKE)) == pytest.approx(0.25)


def test_least_squares_losses_hand_computed():
    # D: 0.5 * (mean((1-1)^2, (3-1)^2) + mean(1, 0.25)) = 0.5 * (2 + 0.625) = 1.3125
    d = losses.least_squares_discriminator_loss(real_logits=REAL, fake_logits=FAKE)
    assert float(d) == pytest.approx(1.3125, abs=1e-6)
    # G: 0.5 * mean((-2)^2, (-0.5)^2) = 0.5 * 2.125 = 1.0625
    g = losses.least_squares_generator_loss(fake_logits=FAKE)
    assert float(g) == pytest.approx(1.0625, abs=1e-6)


def test_hinge_losses_hand_computed():
    # D: mean(relu(1-1), relu(1-3)) + mean(relu(1-1), relu(1+0.5)) = 0 + 0.75
    d = losses.hinge_discriminator_loss(real_logits=REAL, fake_logits=FAKE)
    assert float(d) == pytest.approx(0.75, abs=1e-6)
    assert float(losses.hinge_generator_loss(fake_logits=FAKE)) == pytest.approx(0.25)


def test_only_cross_entropy_losses_take_sigmoid_outputs():
    flags = {name: pair.sigmoid_outputs for name, pair in losses.LOSSES.items()}
    assert flags == {
        "non_saturating": True,
        "minimax": True,
        "wasserstein": False,
        "least_squares": False,
        "hinge": False,
        "relativistic": False,
        "rpgan": False,
        "feature_matching": True,  # D is the BCE discriminator
        "semi_supervised": True,  # sigmoid(logsumexp of the class logits) = P(real)
    }
    readers = [name for name, pair in losses.LOSSES.items() if pair.generator_uses_real]
    assert readers == ["relativistic", "rpgan", "feature_matching", "semi_supervised"]


def test_every_generator_loss_takes_real_logits_by_keyword():
    for name, pair in losses.LOSSES.items():
        real = REAL if pair.generator_uses_real else None
        features = {"real_features": REAL, "fake_features": FAKE} if pair.taps else {}
        value = pair.generator_loss(real_logits=real, fake_logits=FAKE, **features)
        assert value.shape == () and value.dtype == tf.float32, name
        with pytest.raises(TypeError):
            pair.generator_loss(FAKE)


# Relativistic average losses (RaSGAN) on real_logits r = [1, 3], fake_logits f = [0, -2]:
# mean r = 2, mean f = -1, so r - mean f = [2, 4] and f - mean r = [-2, -4].
# softplus(2) = ln(1 + e^2) = 2.126928, softplus(4) = 4.018150,
# softplus(-2) = 0.126928, softplus(-4) = 0.018150.
REL_REAL = tf.constant([[1.0], [3.0]])
REL_FAKE = tf.constant([[0.0], [-2.0]])


def test_relativistic_discriminator_loss_hand_computed():
    # mean softplus(-(r - mean f)) + mean softplus(f - mean r)
    # = mean(softplus(-2), softplus(-4)) + mean(softplus(-2), softplus(-4))
    # = 2 * (0.126928 + 0.018150) / 2 = 0.145078
    value = losses.relativistic_discriminator_loss(real_logits=REL_REAL, fake_logits=REL_FAKE)
    assert value.dtype == tf.float32
    assert float(value) == pytest.approx(0.145078, abs=1e-5)


def test_relativistic_generator_loss_hand_computed():
    # mean softplus(r - mean f) + mean softplus(-(f - mean r))
    # = mean(softplus(2), softplus(4)) + mean(softplus(2), softplus(4))
    # = 2 * (2.126928 + 4.018150) / 2 = 6.145078
    value = losses.relativistic_generator_loss(real_logits=REL_REAL, fake_logits=REL_FAKE)
    assert float(value) == pytest.approx(6.145078, abs=1e-5)


def test_relativistic_losses_are_2_ln_2_for_equal_scores():
    same = tf.fill([5, 1], 0.7)  # every difference is 0: softplus(0) = ln 2, twice
    for loss in (losses.relativistic_discriminator_loss, losses.relativistic_generator_loss):
        value = float(loss(real_logits=same, fake_logits=same))
        assert value == pytest.approx(2 * np.log(2.0), abs=1e-6)
        assert value == pytest.approx(1.386294, abs=1e-6)


def test_relativistic_generator_loss_is_the_discriminator_loss_swapped():
    real = tf.constant([[0.3], [-1.2], [2.5]])
    fake = tf.constant([[1.1], [-0.4], [0.0]])
    generator = losses.relativistic_generator_loss(real_logits=real, fake_logits=fake)
    swapped = losses.relativistic_discriminator_loss(real_logits=fake, fake_logits=real)
    assert float(generator) == pytest.approx(float(swapped), abs=1e-6)
    unswapped = losses.relativistic_discriminator_loss(real_logits=real, fake_logits=fake)
    assert abs(float(generator) - float(unswapped)) > 0.1  # not symmetric by accident


def test_relativistic_gradients_push_fakes_up_and_reals_down_for_the_generator():
    real = tf.Variable([[1.0], [3.0]])
    fake = tf.Variable([[0.0], [-2.0]])
    with tf.GradientTape(persistent=True) as tape:
        generator = losses.relativistic_generator_loss(real_logits=real, fake_logits=fake)
        discriminator = losses.relativistic_discriminator_loss(real_logits=real, fake_logits=fake)
    # raising a fake score lowers the generator's loss and raises the discriminator's
    assert np.all(tape.gradient(generator, fake).numpy() < 0)
    assert np.all(tape.gradient(discriminator, fake).numpy() > 0)
    # the generator also gains from real data looking less real than the average fake
    assert np.all(tape.gradient(generator, real).numpy() > 0)
    assert np.all(tape.gradient(discriminator, real).numpy() < 0)
    # d/df_j of mean_i softplus(-(f_i - mean r)) is -sigmoid(-(f_j - mean r)) / 2;
    # d/df_j of mean_i softplus(r_i - mean f) is -mean_i sigmoid(r_i - mean f) / 2.
    sigmoid = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    expected = -sigmoid(-np.array([-2.0, -4.0])) / 2 - np.mean(sigmoid(np.array([2.0, 4.0]))) / 2
    np.testing.assert_allclose(tape.gradient(generator, fake).numpy()[:, 0], expected, atol=1e-6)


# Relativistic pairing losses (RpGAN, R3GAN) on the same r = [1, 3], f = [0, -2]: each real
# is paired with the fake at its position, so f - r = [-1, -5] and r - f = [1, 5].
# softplus(-1) = 0.313262, softplus(-5) = 0.006715, softplus(1) = 1.313262, softplus(5) = 5.006715.


def test_relativistic_pairing_discriminator_loss_hand_computed():
    # mean(softplus(-1), softplus(-5)) = (0.313262 + 0.006715) / 2
    value = losses.relativistic_pairing_discriminator_loss(
        real_logits=REL_REAL, fake_logits=REL_FAKE
    )
    assert value.dtype == tf.float32
    assert float(value) == pytest.approx(0.1599885, abs=1e-6)


def test_relativistic_pairing_generator_loss_hand_computed():
    # mean(softplus(1), softplus(5)) = (1.313262 + 5.006715) / 2
    value = losses.relativistic_pairing_generator_loss(real_logits=REL_REAL, fake_logits=REL_FAKE)
    assert float(value) == pytest.approx(3.1599885, abs=1e-6)


def test_relativistic_pairing_pairs_by_position_not_batch_mean():
    # reordering the fakes changes the pairs: [0, -2] -> [-2, 0] gives f - r = [-3, -3]
    swapped = tf.constant([[-2.0], [0.0]])
    value = losses.relativistic_pairing_discriminator_loss(
        real_logits=REL_REAL, fake_logits=swapped
    )
    assert float(value) == pytest.approx(np.log1p(np.exp(-3.0)), abs=1e-6)  # 0.048587
    average = losses.relativistic_discriminator_loss(real_logits=REL_REAL, fake_logits=swapped)
    assert float(average) == pytest.approx(0.145078, abs=1e-5)  # the average loss ignores order
    same = tf.fill([4, 1], -0.3)
    for loss in (
        losses.relativistic_pairing_discriminator_loss,
        losses.relativistic_pairing_generator_loss,
    ):
        assert float(loss(real_logits=same, fake_logits=same)) == pytest.approx(np.log(2.0), 1e-6)


def test_relativistic_pairing_gradients():
    # d/df_i of mean softplus(f - r) = sigmoid(f_i - r_i) / B; the generator's is the negative
    # of sigmoid(r_i - f_i) / B: sigmoid(-1) / 2 = 0.134470, sigmoid(-5) / 2 = 0.003346
    fake = tf.Variable(REL_FAKE)
    with tf.GradientTape(persistent=True) as tape:
        discriminator = losses.relativistic_pairing_discriminator_loss(
            real_logits=REL_REAL, fake_logits=fake
        )
        generator = losses.relativistic_pairing_generator_loss(
            real_logits=REL_REAL, fake_logits=fake
        )
    np.testing.assert_allclose(
        tape.gradient(discriminator, fake)[:, 0], [0.134470, 0.003346], atol=1e-6
    )
    np.testing.assert_allclose(
        tape.gradient(generator, fake)[:, 0], [-0.365529, -0.496654], atol=1e-6
    )


# --- losses that read discriminator layers ------------------------------------------------


def test_feature_matching_generator_loss_hand_computed():
    # batch means: real [2, 3], fake [1, 1]; mean of the squared differences (1 + 4) / 2
    real = tf.constant([[1.0, 2.0], [3.0, 4.0]])
    fake = tf.constant([[0.0, 0.0], [2.0, 2.0]])
    value = losses.feature_matching_generator_loss(real_features=real, fake_features=fake)
    assert float(value) == pytest.approx(2.5, abs=1e-6)
    # feature maps are flattened after the batch axis; the logits are ignored
    maps = losses.feature_matching_generator_loss(
        real_features=tf.reshape(real, [2, 1, 1, 2]),
        fake_features=tf.reshape(fake, [2, 1, 1, 2]),
        fake_logits=tf.constant([[9.0], [9.0]]),
    )
    assert float(maps) == pytest.approx(2.5, abs=1e-6)
    same = losses.feature_matching_generator_loss(real_features=real, fake_features=real[::-1])
    assert float(same) == pytest.approx(0.0, abs=1e-7)


def test_semi_supervised_discriminator_loss_hand_computed():
    """K = 2. Labelled row 0 (class 1), class logits [0, ln 3]: CE = -ln(3/4) = 0.287682.
    Unlabelled row 1, logits [1, 1]: lse = 1 + ln 2, softplus(-(1 + ln 2)) = ln(1 + e^-1 / 2)
    = 0.168849. Fakes with lse 0 and ln 3: softplus = ln 2, ln 4, mean 1.039721.
    Loss = 0.287682 + 0.5 * 0.168849 + 0.5 * 1.039721 = 0.891967."""
    class_logits = tf.constant([[0.0, np.log(3.0)], [1.0, 1.0]])
    value = losses.semi_supervised_discriminator_loss(
        real_logits=tf.reduce_logsumexp(class_logits, -1, keepdims=True),
        fake_logits=tf.constant([[0.0], [np.log(3.0)]]),
        real_class_logits=class_logits,
        labels=tf.constant([1, -1]),
    )
    assert float(value) == pytest.approx(0.891967, abs=1e-5)


def test_semi_supervised_loss_terms_use_only_their_rows():
    """Changing an unlabelled row's class logits leaves the cross-entropy alone, and a
    labelled row's real/fake logit does not enter the unsupervised term."""
    base = dict(
        real_logits=tf.constant([[0.5], [2.0]]),
        fake_logits=tf.constant([[0.0]]),
        real_class_logits=tf.constant([[0.0, 1.0], [5.0, -5.0]]),
        labels=tf.constant([0, -1]),
    )
    value = float(losses.semi_supervised_discriminator_loss(**base))
    other_unlabelled_classes = {**base, "real_class_logits": tf.constant([[0.0, 1.0], [0.0, 0.0]])}
    other_labelled_logit = {**base, "real_logits": tf.constant([[-7.0], [2.0]])}
    assert float(losses.semi_supervised_discriminator_loss(**other_unlabelled_classes)) == value
    assert float(losses.semi_supervised_discriminator_loss(**other_labelled_logit)) == value
    # CE of [0, 1] for class 0: ln(1 + e) = 1.313262; 0.5 softplus(-2) = 0.063464;
    # 0.5 softplus(0) = 0.346574
    assert value == pytest.approx(1.313262 + 0.063464 + 0.346574, abs=1e-5)


def test_loss_pairs_declare_the_discriminator_layers_they_read():
    matching, semi = losses.get_loss("feature_matching"), losses.get_loss("semi_supervised")
    assert matching.taps == ("features",) and matching.generator_uses_real
    assert matching.generator_inputs == ("real_features", "fake_features")
    assert matching.discriminator_inputs == ()
    assert semi.taps == ("class_logits", "features")
    assert semi.discriminator_inputs == ("real_class_logits", "labels")
    assert losses.get_loss("non_saturating").taps == ()
    assert not losses.get_loss("non_saturating").generator_uses_real


def test_batch_mean_over_axis_zero_keeps_the_feature_axis():
    values = tf.constant([[1.0, 10.0], [3.0, 30.0]])
    np.testing.assert_allclose(losses.batch_mean(values, axis=0).numpy(), [2.0, 20.0])
    assert float(losses.batch_mean(values)) == pytest.approx(11.0)
