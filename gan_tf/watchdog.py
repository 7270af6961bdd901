"""The divergence and collapse watchdog: pure checks on what training logs.

:class:`Watchdog` looks at every step's metrics, every epoch's sample diversity
and every ``--eval_every`` evaluation, and returns an :class:`Event` when training
has gone wrong:

==========================  ==============================================================
``nonfinite``               a loss or score became NaN or infinite
``exploding_loss``          a loss or score beyond ``±divergence_loss`` (e.g. lr 1e8: 1e18)
``saturated_discriminator`` D(x) > 0.99 and D(G(z)) < 0.01 (batch means) for
                            ``saturation_steps`` steps in a row (sigmoid losses only)
``collapse``                the fixed-noise samples' spread below ``min_diversity`` times
                            the real images' (every sample nearly the same), from step
                            500 on (an untrained generator's samples are alike too)
``metric_worse``            the primary evaluation metric more than 10 % worse than its
                            best for ``worse_evals`` evaluations in a row
==========================  ==============================================================

What happens then (``--on_divergence``: warn, stop or rollback) is the training
loop's business (:mod:`gan_tf.training`); this module only decides. A condition
that stays true is reported once, and again only after it has cleared (a NaN/inf
is reported at every step: nothing can train on from it).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

__all__ = ["ACTIONS", "Event", "Watchdog", "diversity"]

ACTIONS = ("warn", "stop", "rollback")
SATURATED_REAL, SATURATED_FAKE = 0.99, 0.01  # batch-mean D(x) above, D(G(z)) below
COLLAPSE_WARMUP_STEPS = 500  # the collapse check starts here
WORSE_MARGIN = 0.10  # an evaluation counts as worse when beyond the best by this fraction


@dataclasses.dataclass(frozen=True)
class Event:
    """A detection: its ``kind`` (see the module table), a one-line ``message``, the
    ``step`` and ``epoch`` it was seen at, and ``since``: the step at which the
    condition began (a rollback returns to a checkpoint from before it)."""

    kind: str
    message: str
    step: int
    epoch: int
    since: int


def diversity(samples: np.ndarray, reference: np.ndarray) -> float:
    """The samples' spread relative to the reference's: the mean over pixels (or
    coordinates) of the standard deviation across samples, divided by the same for
    ``reference``. About 1 for a healthy generator, near 0 when every sample is
    (nearly) the same."""
    spread = lambda x: float(np.mean(np.std(np.asarray(x, np.float64), axis=0)))  # noqa: E731
    return spread(samples) / max(spread(reference), 1e-12)


class Watchdog:
    """Decides when training has diverged or collapsed.

    Args:
      divergence_loss: bound on the absolute value of every step metric (0 = off).
      saturation_steps: steps of a saturated discriminator that count as an event
        (0 = off; ignored for losses whose outputs are not probabilities).
      sigmoid_outputs: whether ``d_real``/``d_fake`` are probabilities.
      min_diversity: :func:`diversity` below which the samples count as collapsed
        (0 = off).
      worse_evals: evaluations in a row worse than the best (0 = off).
      best: the best evaluation so far, ``(value, step)``, when resuming.
    """

    def __init__(
        self,
        *,
        divergence_loss: float = 0.0,
        saturation_steps: int = 0,
        sigmoid_outputs: bool = True,
        min_diversity: float = 0.0,
        worse_evals: int = 0,
        best: tuple[float, int] | None = None,
    ):
        self.divergence_loss = divergence_loss
        self.saturation_steps = saturation_steps if sigmoid_outputs else 0
        self.min_diversity = min_diversity
        self.worse_evals = worse_evals
        self.best = best
        self._saturated_since = None
        self._worse = 0
        self._active = set()  # kinds reported and not yet cleared

    def _report(self, kind: str, firing: bool, make) -> Event | None:
        if not firing:
            self._active.discard(kind)
            return None
        if kind in self._active:
            return None
        self._active.add(kind)
        return make()

    def check_step(self, values: dict, step: int, epoch: int) -> Event | None:
        """One train step's metrics (``discriminator_loss``, ``d_real``, ...)."""
        bad = [key for key, value in values.items() if not math.isfinite(value)]
        if bad:
            message = f"{', '.join(bad)} became {values[bad[0]]}"
            return Event("nonfinite", message, step, epoch, step)
        event = None
        if self.divergence_loss:
            large = [k for k, v in values.items() if abs(v) > self.divergence_loss]
            event = self._report(
                "exploding_loss",
                bool(large),
                lambda: Event(
                    "exploding_loss",
                    f"{large[0]} reached {values[large[0]]:.3g} (beyond divergence_loss="
                    f"{self.divergence_loss:g})",
                    step,
                    epoch,
                    step,
                ),
            )
        if self.saturation_steps and "d_real" in values and "d_fake" in values:
            saturated = values["d_real"] > SATURATED_REAL and values["d_fake"] < SATURATED_FAKE
            if not saturated:
                self._saturated_since = None
            elif self._saturated_since is None:
                self._saturated_since = step
            held = saturated and step - self._saturated_since + 1 >= self.saturation_steps
            since = self._saturated_since
            saturation = self._report(
                "saturated_discriminator",
                held,
                lambda: Event(
                    "saturated_discriminator",
                    f"the discriminator won outright for {step - since + 1} steps (D(x) "
                    f"{values['d_real']:.3f}, D(G(z)) {values['d_fake']:.3g}; "
                    f"saturation_steps={self.saturation_steps})",
                    step,
                    epoch,
                    since,
                ),
            )
            event = event or saturation
        return event

    def check_diversity(self, value: float, step: int, epoch: int) -> Event | None:
        """The epoch's fixed-noise samples' :func:`diversity`."""
        if not self.min_diversity or step < COLLAPSE_WARMUP_STEPS:
            return None
        return self._report(
            "collapse",
            value < self.min_diversity,
            lambda: Event(
                "collapse",
                f"the samples collapsed: diversity {value:.3f} of the real images' "
                f"(below min_diversity={self.min_diversity:g})",
                step,
                epoch,
                step,
            ),
        )

    def check_eval(
        self, name: str, value: float, higher_is_better: bool, step: int, epoch: int
    ) -> tuple[Event | None, bool]:
        """One evaluation of the primary metric ``name``.

        Returns:
          ``(event or None, whether value is the best so far)``.
        """
        sign = -1.0 if higher_is_better else 1.0  # compare as "lower is better"
        finite = math.isfinite(value)  # a NaN score is never the best, always worse
        if finite and (self.best is None or sign * value < sign * self.best[0]):
            self.best, self._worse = (value, step), 0
            self._active.discard("metric_worse")
            return None, True
        if self.best is None:  # no finite score yet
            return None, False
        best_value, best_step = self.best
        worse = not finite or sign * value > sign * best_value + WORSE_MARGIN * abs(best_value)
        self._worse = self._worse + 1 if worse else 0
        if not self.worse_evals:
            return None, False
        event = self._report(
            "metric_worse",
            self._worse >= self.worse_evals,
            lambda: Event(
                "metric_worse",
                f"{name} got worse for {self._worse} evaluations in a row ({value:.4g}; "
                f"best {best_value:.4g} at step {best_step}; worse_evals={self.worse_evals})",
                step,
                epoch,
                best_step + 1,
            ),
        )
        return event, False
