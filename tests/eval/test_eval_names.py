"""gan_tf.eval.names: metric names and their parsing."""

import pytest

from gan_tf.errors import ConfigError
from gan_tf.eval.names import DEFAULT_METRICS, METRICS, OUTPUT_NAMES, parse_metrics


def test_parse_metrics():
    assert parse_metrics("fd_classifier, coverage,fd_classifier") == ("fd_classifier", "coverage")
    assert parse_metrics(["kid", "fid"]) == ("kid", "fid")
    assert set(DEFAULT_METRICS) <= set(METRICS)
    with pytest.raises(ConfigError, match="unknown metric.*fidd in metrics; choose from: fd_"):
        parse_metrics("fidd")
    with pytest.raises(ConfigError, match=r"\(none given\)") as error:
        parse_metrics(" , ")
    assert error.value.params == ("metrics",)
    with pytest.raises(ConfigError, match="bogus in eval_metrics") as error:
        parse_metrics("fid,bogus", param="eval_metrics")
    assert error.value.params == ("eval_metrics",)


def test_output_names_are_unique_and_cover_the_scalar_metrics():
    assert len(set(OUTPUT_NAMES)) == len(OUTPUT_NAMES)
    for name in ("fd_classifier", "kid_classifier", "fid", "kid", "is", "cas"):
        assert name in OUTPUT_NAMES
