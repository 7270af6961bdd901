"""Improved precision and recall with k-NN manifolds.

Kynkäänniemi et al., 2019, "Improved Precision and Recall Metric for Assessing
Generative Models": each set's manifold is the union of balls around its points
with radius the distance to the point's k-th nearest neighbour in the same set.
Precision is the share of generated points inside the real manifold (quality);
recall is the share of real points inside the generated manifold (coverage).
"""

from __future__ import annotations

import numpy as np

__all__ = ["knn_radii", "manifold_membership", "nearest_neighbours", "precision_recall"]

_CHUNK = 1024


def _squared_distances(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    distances = (x * x).sum(1)[:, None] + (y * y).sum(1)[None, :] - 2.0 * x @ y.T
    return np.maximum(distances, 0.0)


def knn_radii(features, k: int = 3) -> np.ndarray:
    """Distance of each row to its ``k``-th nearest other row, ``[N]``."""
    features = np.asarray(features, dtype=np.float64)
    if not 1 <= k < len(features):
        raise ValueError(f"k must be in [1, N-1] = [1, {len(features) - 1}], got {k}")
    radii = np.empty(len(features))
    for start in range(0, len(features), _CHUNK):
        block = _squared_distances(features[start : start + _CHUNK], features)
        # index 0 of each sorted row is the point itself (distance 0)
        radii[start : start + _CHUNK] = np.sqrt(np.partition(block, k, axis=1)[:, k])
    return radii


def nearest_neighbours(queries, references, k: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest rows of ``references`` to each row of ``queries`` (Euclidean).

    Use it on pixels (flattened images) or on feature vectors, e.g. to check
    that generated images are not copies of training images.

    Returns:
      ``(indices [N, k] int64, distances [N, k])``, nearest first.
    """
    queries = np.asarray(queries, dtype=np.float64).reshape(len(queries), -1)
    references = np.asarray(references, dtype=np.float64).reshape(len(references), -1)
    if not 1 <= k <= len(references):
        raise ValueError(f"k must be in [1, {len(references)}], got {k}")
    indices = np.empty((len(queries), k), np.int64)
    distances = np.empty((len(queries), k))
    for start in range(0, len(queries), _CHUNK):
        block = _squared_distances(queries[start : start + _CHUNK], references)
        nearest = np.argpartition(block, k - 1, axis=1)[:, :k]
        order = np.take_along_axis(block, nearest, 1).argsort(1)
        nearest = np.take_along_axis(nearest, order, 1)
        indices[start : start + _CHUNK] = nearest
        distances[start : start + _CHUNK] = np.sqrt(np.take_along_axis(block, nearest, 1))
    return indices, distances


def manifold_membership(manifold, radii, queries) -> np.ndarray:
    """Boolean ``[M]``: whether each query lies in some ball ``|q - m_i| <= radii_i``."""
    manifold = np.asarray(manifold, dtype=np.float64)
    queries = np.asarray(queries, dtype=np.float64)
    inside = np.empty(len(queries), dtype=bool)
    for start in range(0, len(queries), _CHUNK):
        block = _squared_distances(queries[start : start + _CHUNK], manifold)
        inside[start : start + _CHUNK] = (block <= radii[None, :] ** 2 * (1 + 1e-9)).any(axis=1)
    return inside


def precision_recall(real_features, fake_features, *, k: int = 3) -> dict[str, float]:
    """Improved precision and recall of generated features against real ones.

    Args:
      real_features: ``[N, D]``.
      fake_features: ``[M, D]``.
      k: neighbourhood size (3 in the paper).

    Returns:
      ``{"precision": share in [0, 1], "recall": share in [0, 1]}``.

    Raises:
      ValueError: for mismatched shapes or ``k`` out of range.
    """
    real = np.asarray(real_features, dtype=np.float64)
    fake = np.asarray(fake_features, dtype=np.float64)
    if real.ndim != 2 or fake.ndim != 2 or real.shape[1] != fake.shape[1]:
        raise ValueError(f"need [N, D] and [M, D] features, got {real.shape} and {fake.shape}")
    precision = manifold_membership(real, knn_radii(real, k), fake).mean()
    recall = manifold_membership(fake, knn_radii(fake, k), real).mean()
    return {"precision": float(precision), "recall": float(recall)}
