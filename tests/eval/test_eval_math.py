"""Metric math against NumPy/SciPy references and closed forms (identity features)."""

import numpy as np
import pytest
import scipy.linalg

from gan_tf.eval import coverage, fid, inception_score, kid, precision_recall
from gan_tf.eval.precision_recall import knn_radii


def _gaussian(n, d, seed, mean=0.0, scale=1.0):
    return np.random.default_rng(seed).normal(mean, scale, size=(n, d))


# ---------------------------------------------------------------- Fréchet distance


def test_frechet_distance_matches_scipy_reference():
    x, y = _gaussian(500, 6, 0), _gaussian(400, 6, 1, mean=0.3, scale=1.5)
    mu1, mu2 = x.mean(0), y.mean(0)
    s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    reference = np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * scipy.linalg.sqrtm(s1 @ s2).real)
    assert fid.frechet_distance_from_features(x, y) == pytest.approx(reference, rel=1e-9)


def test_frechet_distance_of_a_set_with_itself_is_zero():
    x = _gaussian(300, 8, 2)
    assert abs(fid.frechet_distance_from_features(x, x)) < 1e-6


def test_frechet_distance_closed_form_for_shifted_and_scaled_gaussians():
    # N(0, I) vs N(m, s^2 I) in D dims: |m|^2 D + D (1 - s)^2 (diagonal covariances commute)
    dims = 4
    for shift, scale in [(0.5, 1.0), (1.0, 1.0), (2.0, 1.0), (1.0, 2.0)]:
        value = fid.frechet_distance(
            np.zeros(dims), np.eye(dims), np.full(dims, shift), scale**2 * np.eye(dims)
        )
        assert value == pytest.approx(dims * shift**2 + dims * (1 - scale) ** 2, rel=1e-9)


def test_frechet_distance_grows_with_the_mean_shift_as_sampled():
    base = _gaussian(4000, 3, 3)
    values = [fid.frechet_distance_from_features(base, base + shift) for shift in (0, 1, 2, 3)]
    # adding a constant shifts the mean only: distance = 3 * shift^2 exactly
    np.testing.assert_allclose(values, [0, 3, 12, 27], atol=1e-6)


def test_frechet_distance_survives_singular_covariances():
    x = _gaussian(5, 10, 4)  # fewer samples than dims: rank-deficient covariance
    value = fid.frechet_distance_from_features(x, x + 1.0)
    assert value == pytest.approx(10.0, abs=1e-2)


def test_frechet_distance_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="feature sizes differ"):
        fid.frechet_distance_from_features(_gaussian(10, 3, 0), _gaussian(10, 4, 0))
    with pytest.raises(ValueError, match=r"\[N, D\]"):
        fid.frechet_distance_from_features(np.zeros(5), np.zeros(5))


# ---------------------------------------------------------------- KID


def _mmd2_reference(x, y):
    d = x.shape[1]

    def k(a, b):
        return np.array([[(a_i @ b_j / d + 1) ** 3 for b_j in b] for a_i in a])

    n, m = len(x), len(y)
    kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
    sum_xx = sum(kxx[i, j] for i in range(n) for j in range(n) if i != j)
    sum_yy = sum(kyy[i, j] for i in range(m) for j in range(m) if i != j)
    return sum_xx / (n * (n - 1)) + sum_yy / (m * (m - 1)) - 2 * kxy.sum() / (n * m)


def test_mmd2_unbiased_matches_loop_reference():
    x, y = _gaussian(20, 3, 5), _gaussian(15, 3, 6, mean=0.5)
    assert kid.mmd2_unbiased(x, y) == pytest.approx(_mmd2_reference(x, y), rel=1e-10)


def test_kid_of_two_samples_of_one_distribution_is_near_zero():
    result = kid.kernel_distance(_gaussian(2000, 16, 7), _gaussian(2000, 16, 8), num_subsets=20)
    assert abs(result["kid"]) < 3 * result["kid_std"] + 1e-3
    shifted = kid.kernel_distance(_gaussian(2000, 16, 7), _gaussian(2000, 16, 8, mean=1.0))
    assert shifted["kid"] > 0.5  # clearly separated from the same-distribution value


def test_kid_is_mean_and_std_over_subsets():
    x, y = _gaussian(300, 4, 9), _gaussian(300, 4, 10, mean=0.2)
    result = kid.kernel_distance(x, y, num_subsets=5, subset_size=100, seed=3)
    rng = np.random.default_rng(3)
    values = [
        _mmd2_reference(
            x[rng.choice(300, 100, replace=False)], y[rng.choice(300, 100, replace=False)]
        )
        for _ in range(5)
    ]
    assert result["kid"] == pytest.approx(np.mean(values), rel=1e-9)
    assert result["kid_std"] == pytest.approx(np.std(values), rel=1e-9)


# ---------------------------------------------------------------- Inception Score


def test_inception_score_of_uniform_logits_is_one():
    result = inception_score(np.zeros((100, 10)), num_splits=5)
    assert result["is"] == pytest.approx(1.0, abs=1e-9)
    assert result["is_std"] == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("classes", [2, 5, 10])
def test_inception_score_of_confident_equal_shares_is_the_class_count(classes):
    logits = np.full((classes * 20, 10), -50.0)
    logits[np.arange(len(logits)), np.arange(len(logits)) % classes] = 50.0
    result = inception_score(logits, num_splits=4)
    assert result["is"] == pytest.approx(classes, rel=1e-6)


def test_inception_score_matches_numpy_reference():
    logits = _gaussian(60, 7, 11, scale=2.0)
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    scores = []
    for part in np.split(probs, 3):
        marginal = part.mean(0)
        scores.append(np.exp(np.mean(np.sum(part * np.log(part / marginal), 1))))
    result = inception_score(logits, num_splits=3)
    assert result["is"] == pytest.approx(np.mean(scores), rel=1e-9)
    assert result["is_std"] == pytest.approx(np.std(scores), rel=1e-9)


# ---------------------------------------------------------------- precision / recall


def test_precision_recall_of_identical_sets_is_one():
    x = _gaussian(200, 5, 12)
    assert precision_recall(x, x.copy()) == {"precision": 1.0, "recall": 1.0}


def test_precision_recall_of_disjoint_far_sets_is_zero():
    x = _gaussian(200, 5, 13)
    assert precision_recall(x, x + 100.0) == {"precision": 0.0, "recall": 0.0}


def test_precision_recall_separates_quality_from_coverage():
    real = _gaussian(1000, 2, 14)
    collapsed = _gaussian(1000, 2, 15, scale=0.1)  # good samples, one small region
    result = precision_recall(real, collapsed)
    assert result["precision"] > 0.95
    assert result["recall"] < 0.3


def test_knn_radii_match_brute_force():
    x = _gaussian(50, 3, 16)
    distances = np.linalg.norm(x[:, None] - x[None], axis=-1)
    expected = np.sort(distances, axis=1)[:, 3]
    np.testing.assert_allclose(knn_radii(x, 3), expected, rtol=1e-7, atol=1e-7)


# ---------------------------------------------------------------- class coverage


def test_class_coverage_uniform_and_single_class():
    uniform = np.eye(10)[np.arange(1000) % 10]
    result = coverage.class_coverage(uniform)
    assert result["classes_covered"] == 10
    assert result["class_kl"] == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_allclose(result["class_histogram"], [0.1] * 10)
    single = coverage.class_coverage(np.eye(10)[np.zeros(50, int)])
    assert single["classes_covered"] == 1
    assert single["class_kl"] == pytest.approx(np.log(10), rel=1e-12)


def test_class_coverage_threshold_counts_rare_classes_out():
    # 3 classes at 1/3 each of 300 predictions among K=4; the 4th gets 2 (< 0.1 * 300/4 = 7.5)
    predictions = np.array([0] * 100 + [1] * 100 + [2] * 98 + [3] * 2)
    result = coverage.class_coverage(np.eye(4)[predictions])
    assert result["classes_covered"] == 3
    shares = np.array([100, 100, 98, 2]) / 300
    assert result["class_kl"] == pytest.approx(np.sum(shares * np.log(shares * 4)), rel=1e-12)


def test_nearest_neighbours_match_brute_force():
    from gan_tf.eval import nearest_neighbours

    rng = np.random.default_rng(0)
    references = rng.normal(size=(50, 3))
    queries = np.concatenate([references[[7, 31]] + 1e-3, rng.normal(size=(3, 3))])
    indices, distances = nearest_neighbours(queries, references, k=2)
    full = np.sqrt(((queries[:, None] - references[None]) ** 2).sum(-1))
    np.testing.assert_array_equal(indices, np.argsort(full, 1)[:, :2])
    np.testing.assert_allclose(distances, np.sort(full, 1)[:, :2], rtol=1e-6, atol=1e-9)
    assert list(indices[:2, 0]) == [7, 31] and distances[0, 0] == pytest.approx(3**0.5 * 1e-3)
    with pytest.raises(ValueError, match="k must be in"):
        nearest_neighbours(queries, references, k=51)


def test_stacked_modes_and_kl_by_hand():
    from gan_tf.eval import mode_histogram_kl, stacked_mode_metrics

    # every one of the 1,000 modes once: all covered, KL 0
    every = np.array([[m // 100, m // 10 % 10, m % 10] for m in range(1000)])
    assert stacked_mode_metrics(every) == {"modes_covered": 1000, "mode_kl": 0.0}
    # one mode only: KL log 1000
    one = np.tile([3, 1, 4], (50, 1))
    metrics = stacked_mode_metrics(one)
    assert metrics["modes_covered"] == 1
    assert metrics["mode_kl"] == pytest.approx(np.log(1000), rel=1e-12)
    # channel order matters: (1, 2, 3) and (3, 2, 1) are two modes; 3 samples of one,
    # 1 of the other: KL = 3/4 log(1000 * 3/4) + 1/4 log(1000 / 4)
    uneven = np.array([[1, 2, 3]] * 3 + [[3, 2, 1]])
    metrics = stacked_mode_metrics(uneven)
    assert metrics["modes_covered"] == 2
    expected = 0.75 * np.log(750.0) + 0.25 * np.log(250.0)
    assert metrics["mode_kl"] == pytest.approx(expected, rel=1e-12)
    assert mode_histogram_kl([0, 0]) != mode_histogram_kl([0, 0])  # NaN: nothing counted
    with pytest.raises(ValueError, match="digits must lie"):
        stacked_mode_metrics(np.array([[1, 2, 10]]))
    with pytest.raises(ValueError, match=r"\[N, 3\]"):
        stacked_mode_metrics(np.zeros((4, 2), int))
