"""Run configuration: generic defaults, per-variant defaults, user overrides.

A run's hyper-parameters are resolved in three layers, each stating only what
differs from the one before:

1. the generic defaults of :class:`TrainConfig`,
2. the variant's ``ModelSpec.defaults`` (from its paper),
3. for the 2-D toys, :data:`gan_tf.data.TOY_DEFAULTS` (2-D noise, batch 256),
4. what the user set explicitly.

The resolved config is saved as ``config.json`` in the run directory.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

from gan_tf import losses
from gan_tf.data import TOY_DEFAULTS, is_toy
from gan_tf.evaluation import parse_metrics
from gan_tf.files import write_json
from gan_tf.models import get_model

__all__ = ["TrainConfig", "make_config", "load_config", "save_config", "ARCHITECTURE_FIELDS"]


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run (see README, "Flags")."""

    model: str = "dcgan"
    dataset: str = "fashion_mnist"
    data_dir: str | None = None
    download: bool = True
    output_dir: str | None = None
    epochs: int = 5
    batch_size: int = 64
    latent_dim: int = 100
    learning_rate: float = 2e-4
    beta_1: float = 0.5
    beta_2: float = 0.999
    loss: str = "non_saturating"
    optimizer: str = "adam"
    d_learning_rate: float | None = None
    lr_decay: str = "none"
    n_critic: int = 1
    update: str = "alternating"
    gp_weight: float = 0.0
    clip_value: float = 0.0
    label_smoothing: float = 0.0
    label_flip: float = 0.0
    instance_noise: float = 0.0
    d_dropout: float = 0.0
    spectral_norm: bool = False
    ema: float = 0.0
    image_size: int | None = None
    max_examples: int | None = None
    steps_per_epoch: int | None = None
    checkpoint_every: int = 1
    keep_checkpoints: int = 3
    log_every: int = 50
    grid_size: int = 8
    precision: str = "float32"
    jit_compile: bool = False
    steps_per_call: int = 1
    strategy: str = "default"
    tpu: str | None = None
    eval_every: int = 0
    eval_metrics: str = "fd_classifier,kid_classifier,pr_classifier,coverage"
    eval_samples: int = 5000
    classifier_weights: str | None = None
    inception_weights: str = "imagenet"
    seed: int = 0

    def validate(self) -> None:
        """Checks every field.

        Raises:
          ValueError: naming the first bad field, its value and what it must be.
        """
        get_model(self.model)
        if self.label_smoothing and not losses.get_loss(self.loss).sigmoid_outputs:
            raise ValueError(
                f"--label_smoothing applies to cross-entropy losses only, not --loss={self.loss}"
            )
        positive = (
            "n_critic",
            "epochs",
            "batch_size",
            "latent_dim",
            "checkpoint_every",
            "keep_checkpoints",
            "log_every",
            "grid_size",
            "steps_per_call",
        )
        for name in positive:
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"--{name} must be a positive integer, got {value}")
        for name in ("max_examples", "steps_per_epoch", "image_size"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ValueError(f"--{name} must be a positive integer when set, got {value}")
        if not self.learning_rate > 0:
            raise ValueError(f"--learning_rate must be > 0, got {self.learning_rate}")
        if self.d_learning_rate is not None and not self.d_learning_rate > 0:
            raise ValueError(f"--d_learning_rate must be > 0 when set, got {self.d_learning_rate}")
        _choose("optimizer", self.optimizer, OPTIMIZERS)
        _choose("lr_decay", self.lr_decay, LR_DECAYS)
        _choose("precision", self.precision, PRECISIONS)
        _choose("update", self.update, UPDATES)
        _choose("strategy", self.strategy, STRATEGIES)
        if self.tpu and self.strategy != "tpu":
            raise ValueError(
                f"--tpu={self.tpu} needs --strategy=tpu (got --strategy={self.strategy})"
            )
        if self.update == "simultaneous" and self.n_critic != 1:
            raise ValueError(
                f"--update=simultaneous needs --n_critic=1 (got {self.n_critic}); "
                "use --update=alternating for critic-heavy models"
            )
        if self.gp_weight < 0:
            raise ValueError(f"--gp_weight must be >= 0, got {self.gp_weight}")
        if self.clip_value < 0:
            raise ValueError(f"--clip_value must be >= 0 (0 = off), got {self.clip_value}")
        for name in ("label_flip", "d_dropout", "ema"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"--{name} must be in [0, 1), got {getattr(self, name)}")
        if self.instance_noise < 0:
            raise ValueError(f"--instance_noise must be >= 0, got {self.instance_noise}")
        for name in ("beta_1", "beta_2"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"--{name} must be in [0, 1), got {getattr(self, name)}")
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ValueError(f"--label_smoothing must be in [0, 1), got {self.label_smoothing}")
        if not self.dataset:
            raise ValueError("--dataset must not be empty")
        if not isinstance(self.eval_every, int) or self.eval_every < 0:
            raise ValueError(f"--eval_every must be >= 0 epochs (0 = off), got {self.eval_every}")
        if self.eval_every:
            parse_metrics(self.eval_metrics)
            if is_toy(self.dataset):
                raise ValueError(
                    f"--eval_every does not apply to the 2-D toy '{self.dataset}' (its mode "
                    "metrics are logged every epoch); leave it at 0"
                )
            if not isinstance(self.eval_samples, int) or self.eval_samples < 100:
                raise ValueError(
                    f"--eval_samples must be an integer >= 100, got {self.eval_samples}"
                )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


OPTIMIZERS = ("adam", "rmsprop")
LR_DECAYS = ("none", "linear")
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
UPDATES = ("alternating", "simultaneous")
STRATEGIES = ("default", "mirrored", "multi_worker", "tpu")  # see gan_tf.distribute


def _choose(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"unknown --{name} '{value}'; choose one of: {', '.join(choices)}")


# Fields that fix the networks' shapes: a run cannot be resumed with others.
ARCHITECTURE_FIELDS = (
    "model",
    "dataset",
    "latent_dim",
    "image_size",
    "spectral_norm",
    "d_dropout",
    "ema",
    "optimizer",
    "precision",
)


def make_config(**overrides: Any) -> TrainConfig:
    """Resolves a :class:`TrainConfig` from the variant's defaults and ``overrides``.

    ``None`` values in ``overrides`` mean "not set" and fall back to the
    defaults. ``output_dir`` defaults to ``runs/<model>_<dataset>``.

    Raises:
      ValueError: for an unknown field or any invalid value.
    """
    known = {field.name for field in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ValueError(f"unknown config field(s): {', '.join(unknown)}")
    given = {key: value for key, value in overrides.items() if value is not None}
    model = given.get("model", TrainConfig.model)
    values = dict(get_model(model).defaults)
    if is_toy(given.get("dataset", TrainConfig.dataset)):
        values.update(TOY_DEFAULTS)
    values.update(given)
    config = TrainConfig(**values)
    if config.output_dir is None:
        safe_dataset = config.dataset.replace(":", "_").replace(os.sep, "_").strip("_")
        config = dataclasses.replace(
            config, output_dir=os.path.join("runs", f"{config.model}_{safe_dataset}")
        )
    config.validate()
    return config


def save_config(config: TrainConfig, path: str) -> None:
    """Writes ``config`` as JSON to ``path`` atomically."""
    write_json(path, config.to_dict(), sort_keys=True)


def load_config(path: str) -> TrainConfig:
    """Reads a config written by :func:`save_config`."""
    with open(path, encoding="utf-8") as handle:
        values = json.load(handle)
    known = {field.name for field in dataclasses.fields(TrainConfig)}
    return TrainConfig(**{key: value for key, value in values.items() if key in known})
