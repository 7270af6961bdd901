"""gan_tf reads PyTorch state dicts (zip and legacy formats) without PyTorch and without
running code named in the file."""

import os
import pickle
import zipfile

import numpy as np
import pytest

from gan_tf.eval.torch_file import WeightsFileError, read_state_dict

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
CASES = ("fid_reader_cases.pth", "fid_reader_cases_legacy.pth")


@pytest.mark.parametrize("name", CASES)
def test_every_case_reads_with_its_dtype_shape_and_values(name):
    state = read_state_dict(os.path.join(FIXTURES, name))
    with np.load(os.path.join(FIXTURES, "fid_reference.npz")) as reference:
        expected = {
            key[len("case/") :]: reference[key] for key in reference if key.startswith("case/")
        }
    assert list(state) == list(expected)
    for key, value in expected.items():
        assert state[key].dtype == value.dtype and state[key].shape == value.shape, key
        np.testing.assert_array_equal(state[key], value)
        assert state[key].flags.c_contiguous and state[key].flags.writeable


def test_both_formats_of_the_full_state_dict_agree():
    zipped = read_state_dict(os.path.join(FIXTURES, "fid_random_weights.pth"))
    legacy = read_state_dict(os.path.join(FIXTURES, "fid_random_weights_legacy.pth"))
    assert len(zipped) == 566 and list(zipped) == list(legacy)
    assert zipped["Conv2d_1a_3x3.conv.weight"].shape == (32, 3, 3, 3)
    assert zipped["fc.weight"].shape == (1008, 2048)
    assert zipped["Mixed_7c.branch_pool.bn.num_batches_tracked"].dtype == np.int64
    for key in zipped:
        np.testing.assert_array_equal(zipped[key], legacy[key])


class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_a_file_that_names_code_is_refused_without_running_it(tmp_path):
    path = tmp_path / "evil.pth"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", pickle.dumps({"x": Evil()}, protocol=2))
    with pytest.raises(WeightsFileError, match=r"asks to load (posix|os)\.system"):
        read_state_dict(str(path))


@pytest.mark.parametrize("name", CASES)
def test_a_truncated_file_is_one_clear_error(tmp_path, name):
    data = open(os.path.join(FIXTURES, name), "rb").read()
    path = tmp_path / name
    path.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(WeightsFileError, match=str(path)):
        read_state_dict(str(path))


def test_a_file_of_another_kind_is_one_clear_error(tmp_path):
    path = tmp_path / "weights.pth"
    path.write_bytes(b"\x89PNG not a checkpoint")
    with pytest.raises(WeightsFileError, match="weights.pth is not"):
        read_state_dict(str(path))
