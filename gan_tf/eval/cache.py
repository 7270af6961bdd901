"""Disk cache of reference features, so the real side of a metric is computed once.

Scoring a run compares generated features with the features of a fixed real
reference set. Those are the same for every checkpoint, every ``--eval_every``
epoch and every ``evaluate.py`` call, and on a CPU they are the slow half
(InceptionV3 on 10,000 images takes minutes). :func:`reference_features` keys
them by the exact reference pixels (which fixes the dataset, split, size,
background and count), the feature network's name and the identity of its
weights (a SHA-256 of the weights file), and keeps them as ``.npz`` files under
:func:`default_cache_dir` (``$GAN_TF_CACHE_DIR``, default
``~/.cache/gan_tf/features``). Delete the directory to clear it; an unreadable
entry is recomputed and rewritten.
"""

from __future__ import annotations

import hashlib
import os
import re
import warnings
import zipfile

import numpy as np

__all__ = ["CACHE_ENV", "default_cache_dir", "file_digest", "reference_features"]

CACHE_ENV = "GAN_TF_CACHE_DIR"
_FORMAT = "1"  # bump when the stored arrays change meaning
_DIGESTS: dict[tuple, str] = {}


def default_cache_dir() -> str:
    """``$GAN_TF_CACHE_DIR``, else ``~/.cache/gan_tf/features``."""
    return os.environ.get(CACHE_ENV) or os.path.join(
        os.path.expanduser("~"), ".cache", "gan_tf", "features"
    )


def file_digest(path: str) -> str:
    """SHA-256 of a file's bytes (remembered per path, size and modification time)."""
    stat = os.stat(path)
    key = (os.path.abspath(path), stat.st_size, stat.st_mtime_ns)
    if key not in _DIGESTS:
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        _DIGESTS[key] = digest.hexdigest()
    return _DIGESTS[key]


def reference_features(extractor, images, *, label: str = "", cache_dir: str | None = None):
    """``extractor(images)`` (features ``[N, D]``, logits ``[N, K]``), read from the
    cache when this exact computation was done before, else computed and stored.

    Args:
      extractor: a :class:`gan_tf.eval.features.FeatureExtractor`; one whose
        ``weights_id`` is ``None`` (random weights) is never cached.
      images: the uint8 ``[N, H, W, C]`` reference images.
      label: readable part of the file name (e.g. ``"emoji_test"``).
      cache_dir: where the entries live; ``None`` computes without caching.

    Returns:
      ``((features, logits), path)``: ``path`` is the cache entry used or written
      (``None`` when not cached).
    """
    images = np.ascontiguousarray(images)
    if cache_dir is None or extractor.weights_id is None:
        return extractor(images), None
    digest = hashlib.sha256()
    parts = (_FORMAT, extractor.name, extractor.weights_id, str(images.shape), images.dtype.str)
    for part in parts:
        digest.update(part.encode() + b"\0")
    digest.update(images.tobytes())
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{label}_{extractor.name}").strip("-")[:80]
    path = os.path.join(os.path.expanduser(cache_dir), f"{slug}_{digest.hexdigest()[:24]}.npz")
    stored = _read(path, len(images))
    if stored is not None:
        return stored, path
    computed = extractor(images)
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "wb") as handle:
            np.savez(handle, features=computed[0], logits=computed[1])
        os.replace(tmp, path)
    except OSError as error:  # a cache that cannot be written only costs time
        warnings.warn(f"reference features not cached at {path}: {error}", stacklevel=2)
        return computed, None
    return computed, path


def _read(path: str, count: int):
    """The stored ``(features, logits)`` at ``path``, or ``None`` (absent, unreadable,
    or not ``count`` rows: then it is recomputed and overwritten)."""
    if not os.path.exists(path):
        return None
    try:
        with np.load(path) as stored:
            features, logits = stored["features"], stored["logits"]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None
    if len(features) != count or len(logits) != count:
        return None
    return features, logits
