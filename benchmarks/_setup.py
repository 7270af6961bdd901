"""Shared set-up of the benchmark scripts: quiet TensorFlow logs, and gan_tf importable
from the checkout (``python benchmarks/x.py`` without ``pip install``)."""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow is imported
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)


def median_step_seconds(gan, args, steps: int, warmup: int = 2) -> float:
    """Median wall time of ``gan.train_step(*args)`` over ``steps`` calls after ``warmup``
    (tracing) calls; each call waits for its results."""
    import statistics
    import time

    durations = []
    for index in range(steps + warmup):
        started = time.perf_counter()
        [float(value) for value in gan.train_step(*args).values()]
        if index >= warmup:
            durations.append(time.perf_counter() - started)
    return statistics.median(durations)
