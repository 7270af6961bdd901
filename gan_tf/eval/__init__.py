"""Evaluation: pure metric math on arrays (NumPy), separate from any network."""

from gan_tf.eval.modes import toy_mode_metrics

__all__ = ["toy_mode_metrics"]
