"""Shared set-up of the benchmark scripts: quiet TensorFlow logs, and gan_tf importable
from the checkout (``python benchmarks/x.py`` without ``pip install``)."""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow is imported
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)
