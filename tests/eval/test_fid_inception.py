"""The Keras FID Inception equals pytorch-fid's network, proven on a fixture.

``tests/eval/fixtures/make_fid_fixture.py`` (PyTorch + pytorch-fid, run once; see the
fixtures' README) saved random weights with ``torch.save`` in both of PyTorch's file
formats and pytorch-fid's own outputs on real emoji images. Here, without PyTorch, the
weights go through gan_tf's reader into the Keras network, whose pool_3 features,
logits and FID must match the reference's.
"""

import os

import numpy as np
import pytest

from gan_tf.errors import WeightsNotFoundError
from gan_tf.eval import fid_inception, frechet_distance_from_features
from gan_tf.eval.features import fid_extractor
from gan_tf.eval.torch_file import WeightsFileError, read_state_dict

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
WEIGHTS = os.path.join(FIXTURES, "fid_random_weights.pth")


@pytest.fixture(scope="module")
def reference():
    with np.load(os.path.join(FIXTURES, "fid_reference.npz")) as arrays:
        return dict(arrays)


SETS = ("64", "a_32", "b_32", "gray_28")


@pytest.fixture(scope="module")
def outputs(reference):
    """The Keras network's (features, logits) for each image set, computed once."""
    extractor = fid_extractor(WEIGHTS)  # through gan_tf's .pth reader
    results = {}
    for name in SETS:
        images = reference[f"images_{name}"]
        images = images[..., None] if images.ndim == 3 else images  # grey: [N, 28, 28]
        results[name] = (len(images), *extractor(images))
    return results


def relative_error(ours, theirs):
    """||ours - theirs|| / ||theirs|| (Frobenius). pytorch-fid's own float32 rounding
    is about 1e-5 of this: the same network in float64 differs from it by 0.9-1.1e-5."""
    return float(np.linalg.norm(ours - theirs) / np.linalg.norm(theirs))


@pytest.mark.parametrize("name", SETS)
def test_pool_features_and_logits_match_pytorch_fid(outputs, reference, name):
    count, features, logits = outputs[name]
    assert features.shape == (count, 2048) and logits.shape == (count, 1008)
    assert relative_error(features, reference[f"features_{name}"]) < 2.5e-5
    assert relative_error(logits, reference[f"logits_{name}"]) < 2.5e-5


def test_fid_between_two_sets_matches_pytorch_fid(outputs, reference):
    ours = frechet_distance_from_features(outputs["a_32"][1], outputs["b_32"][1])
    assert ours == pytest.approx(float(reference["fid_a_b_32"]), rel=1e-4)
    # the math alone, on pytorch-fid's own features
    theirs = frechet_distance_from_features(reference["features_a_32"], reference["features_b_32"])
    assert theirs == pytest.approx(float(reference["fid_a_b_32"]), rel=1e-5)


def test_the_pytorch_fid_resize_matches_torch_interpolate(reference):
    """32x32 -> 299x299: tf.image.resize (half-pixel centres) = F.interpolate
    (align_corners=False), to float32 round-off."""
    ours = fid_inception.preprocess(reference["images_a_32"][: len(reference["input_a_32"])])
    np.testing.assert_allclose(ours.numpy(), reference["input_a_32"], atol=2e-6)


def test_the_ttur_resize_is_tf1_bilinear_without_half_pixel_centres():
    """Output pixel i samples input i * in/out (TF1 ResizeBilinear, align_corners=False)."""
    image = np.arange(4 * 4, dtype=np.uint8).reshape(1, 4, 4, 1) * 16
    resized = fid_inception.preprocess(image, "ttur").numpy()[0, ..., 0] * 128 + 128
    scale = 4 / 299
    for out_y, out_x in [(0, 0), (10, 37), (150, 298), (298, 298)]:
        y, x = out_y * scale, out_x * scale
        y0, x0 = int(y), int(x)
        y1, x1 = min(y0 + 1, 3), min(x0 + 1, 3)
        grid = image[0, ..., 0].astype(np.float64)
        top = grid[y0, x0] + (grid[y0, x1] - grid[y0, x0]) * (x - x0)
        bottom = grid[y1, x0] + (grid[y1, x1] - grid[y1, x0]) * (x - x0)
        assert resized[out_y, out_x] == pytest.approx(top + (bottom - top) * (y - y0), abs=1e-3)
    assert fid_inception.preprocess(image, "ttur").numpy().min() == pytest.approx(-1.0)


def test_a_299_image_is_not_resampled():
    image = np.random.default_rng(0).integers(0, 256, (1, 299, 299, 3), dtype=np.uint8)
    for resize in fid_inception.RESIZES:
        ours = fid_inception.preprocess(image, resize).numpy()
        expected = image / 127.5 - 1 if resize == "pytorch_fid" else (image - 128.0) / 128
        np.testing.assert_allclose(ours, expected, atol=1e-6)


def test_weights_of_another_network_are_refused(tmp_path):
    model, convs = fid_inception.build_fid_inception()
    state = read_state_dict(os.path.join(FIXTURES, "fid_reader_cases.pth"))
    with pytest.raises(WeightsFileError, match="lack .* tensors of the FID Inception"):
        fid_inception.load_state(model, convs, state)


def test_missing_weights_say_how_to_get_them(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(WeightsNotFoundError, match="downloads are off.*--fid_weights=PATH"):
        fid_inception.fid_weights_path(download=False)
    with pytest.raises(WeightsNotFoundError, match="fid_weights=.*nope.pth does not exist"):
        fid_inception.fid_weights_path(str(tmp_path / "nope.pth"))


def test_a_cached_file_with_the_wrong_hash_is_moved_aside(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    cached = tmp_path / "models" / fid_inception.WEIGHTS_FILE
    cached.parent.mkdir()
    cached.write_bytes(b"not the weights")
    with pytest.raises(WeightsNotFoundError, match="does not start with 6726825d"):
        fid_inception.fid_weights_path()
    assert not cached.exists() and (tmp_path / "models" / (cached.name + ".bad")).exists()
