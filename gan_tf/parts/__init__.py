"""The parts a train step is made of, and the registry that builds them from a config.

A trick of GAN training is one :class:`Part` (see :mod:`gan_tf.parts.base` for
the points where the step calls it) plus one line in :data:`PARTS`: the config
field that switches it on and how to make it. The step
(:class:`gan_tf.gan.GAN`) calls the parts and knows none of them by name.

In a Keras script pass parts to ``GAN.compile(parts=[...])`` directly::

    gan.compile(..., loss="wasserstein", parts=[parts.Penalty("gradient_penalty", 10.0)])
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from gan_tf.augment import parse_policy
from gan_tf.parts.base import Part, Update
from gan_tf.parts.hooks import EMA, WeightClipping, ema_decay
from gan_tf.parts.replay import Replay
from gan_tf.parts.terms import HistoricalAveraging, LeCam, Penalty
from gan_tf.parts.transforms import Augment, InstanceNoise, LabelFlip
from gan_tf.regularizers import PENALTIES

__all__ = [
    "EMA",
    "PARTS",
    "Augment",
    "HistoricalAveraging",
    "InstanceNoise",
    "LabelFlip",
    "LeCam",
    "Part",
    "Penalty",
    "Registered",
    "Replay",
    "Update",
    "WeightClipping",
    "ema_decay",
    "from_config",
]


class Registered(NamedTuple):
    """A part as a config builds it.

    Attributes:
      field: the :class:`~gan_tf.config.TrainConfig` field that switches it on
        (any value but 0/empty).
      make: ``(config, total_steps) -> Part``; ``total_steps`` are the run's
        generator steps (for annealing).
    """

    field: str
    make: Callable[..., Part]


# name -> part; the step applies them in this order (transforms, terms, hooks each in
# turn), after the penalties of gan_tf.regularizers.PENALTIES (read when a config is built)
PARTS: dict[str, Registered] = {
    "historical_averaging": Registered(
        "historical_averaging", lambda c, _: HistoricalAveraging(c.historical_averaging)
    ),
    "lecam": Registered("lecam_weight", lambda c, _: LeCam(c.lecam_weight)),
    "augment": Registered(
        "augment",
        lambda c, _: Augment(
            parse_policy(c.augment),
            ada_target=c.ada_target or None,
            ada_rate=c.batch_size / (c.ada_kimg * 1000.0),
        ),
    ),
    "instance_noise": Registered(
        "instance_noise", lambda c, total: InstanceNoise(c.instance_noise, total)
    ),
    "label_flip": Registered("label_flip", lambda c, _: LabelFlip(c.label_flip)),
    "replay": Registered("replay", lambda c, _: Replay(c.replay, c.replay_size)),
    "weight_clipping": Registered("clip_value", lambda c, _: WeightClipping(c.clip_value)),
    "ema": Registered("ema", lambda c, _: EMA(c.ema)),
}


def from_config(config, total_steps: int = 1) -> tuple[Part, ...]:
    """The parts ``config`` switches on: its penalties (:data:`gan_tf.regularizers.PENALTIES`),
    then the rest in :data:`PARTS` order.

    Args:
      config: a :class:`~gan_tf.config.TrainConfig`.
      total_steps: the run's generator steps (instance noise anneals over them).
    """
    penalties = tuple(
        Penalty(name, getattr(config, penalty.weight_field), every=config.penalty_every)
        for name, penalty in PENALTIES.items()
        if getattr(config, penalty.weight_field)
    )
    return penalties + tuple(
        entry.make(config, total_steps) for entry in PARTS.values() if getattr(config, entry.field)
    )
