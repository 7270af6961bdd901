"""The reference-feature disk cache: computed once, read back exactly, keyed by the
pixels and the weights, never for random weights, unreadable entries recomputed."""

import dataclasses
import os

import numpy as np
import pytest

from gan_tf.eval import cache, reference_features


@dataclasses.dataclass
class CountingExtractor:
    """Features = per-image channel means (deterministic), counting its calls."""

    name: str = "toy_net"
    weights_id: str | None = "abc"
    calls: int = 0

    def __call__(self, images):
        self.calls += 1
        features = images.reshape(len(images), -1, images.shape[-1]).mean(axis=1)
        return features.astype(np.float64), features[:, :2].astype(np.float32)


def _images(seed, count=12):
    return np.random.default_rng(seed).integers(0, 256, (count, 8, 8, 3), dtype=np.uint8)


def test_second_call_reads_the_entry_instead_of_computing(tmp_path):
    extractor, images = CountingExtractor(), _images(0)
    (first, path) = reference_features(extractor, images, label="emoji_test", cache_dir=tmp_path)
    (second, again) = reference_features(extractor, images, label="emoji_test", cache_dir=tmp_path)
    assert extractor.calls == 1 and path == again and os.path.exists(path)
    assert os.path.basename(path).startswith("emoji_test_toy_net_")
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    assert second[0].dtype == np.float64 and second[1].dtype == np.float32
    np.testing.assert_allclose(second[0][0], images[0].reshape(-1, 3).mean(axis=0))


def test_key_changes_with_pixels_count_network_and_weights(tmp_path):
    images = _images(0)
    paths = {
        reference_features(CountingExtractor(), images, cache_dir=tmp_path)[1],
        reference_features(CountingExtractor(), _images(1), cache_dir=tmp_path)[1],
        reference_features(CountingExtractor(), images[:11], cache_dir=tmp_path)[1],
        reference_features(CountingExtractor(name="other"), images, cache_dir=tmp_path)[1],
        reference_features(CountingExtractor(weights_id="def"), images, cache_dir=tmp_path)[1],
    }
    assert len(paths) == 5 and len(os.listdir(tmp_path)) == 5


def test_random_weights_or_no_cache_dir_are_never_cached(tmp_path):
    extractor = CountingExtractor(weights_id=None)
    for _ in range(2):
        _, path = reference_features(extractor, _images(0), cache_dir=tmp_path)
        assert path is None
    counting = CountingExtractor()
    assert reference_features(counting, _images(0), cache_dir=None)[1] is None
    assert extractor.calls == 2 and os.listdir(tmp_path) == []


@pytest.mark.parametrize("damage", ["garbage", "truncated", "wrong_rows"])
def test_an_unreadable_entry_is_recomputed_and_rewritten(tmp_path, damage):
    extractor, images = CountingExtractor(), _images(0)
    (expected, path) = reference_features(extractor, images, cache_dir=tmp_path)
    if damage == "garbage":
        open(path, "wb").write(b"not an npz")
    elif damage == "truncated":
        content = open(path, "rb").read()
        open(path, "wb").write(content[: len(content) // 2])
    else:
        np.savez(path, features=np.zeros((3, 3)), logits=np.zeros((3, 2)))
    (again, same) = reference_features(extractor, images, cache_dir=tmp_path)
    assert extractor.calls == 2 and same == path
    np.testing.assert_array_equal(again[0], expected[0])
    (_, _) = reference_features(extractor, images, cache_dir=tmp_path)
    assert extractor.calls == 2  # the rewritten entry is good
    assert [name for name in os.listdir(tmp_path) if name.endswith(".tmp")] == []


def test_file_digest_is_the_sha256_of_the_bytes(tmp_path):
    path = tmp_path / "w.h5"
    path.write_bytes(b"abc")
    assert cache.file_digest(str(path)) == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )
    path.write_bytes(b"abcd")
    os.utime(path, ns=(1, 2))  # a new size and time: read again
    assert cache.file_digest(str(path)).startswith("88d4266fd4e6338d")


def test_default_directory_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path))
    assert cache.default_cache_dir() == str(tmp_path)
    monkeypatch.delenv(cache.CACHE_ENV)
    assert cache.default_cache_dir().endswith(os.path.join(".cache", "gan_tf", "features"))
