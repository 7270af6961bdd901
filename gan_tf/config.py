"""Run configuration: one dataclass whose fields are the training options.

A run's hyper-parameters are resolved in layers, each stating only what differs
from the one before:

1. the generic defaults of :class:`TrainConfig`,
2. the variant's ``ModelSpec.defaults`` (from its paper), with ``recipe=fast`` (the
   default) updated by its measured fast recipe: ``ModelSpec.fast``, and for colour
   images ``ModelSpec.fast_colour`` at the nearest measured side (32/64/128 px),
3. the dataset source's defaults (:func:`gan_tf.data.config_defaults`: the 2-D toys'
   2-D noise and batch 256),
4. what the user set explicitly.

Every field carries its help text (:func:`field_help`); the command-line flags
of ``experiments/train.py`` are generated from the fields, so the two cannot
drift. A ``TrainConfig`` validates itself when it is made (``__post_init__``),
so an invalid one cannot exist. The run directory is not part of the config: it
is the argument of :func:`gan_tf.train`.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import types
import typing
from typing import Any

from gan_tf import distribute, losses, models
from gan_tf.augment import AUGMENTATIONS, parse_policy
from gan_tf.data import (
    DATASET_NAMES,
    TOY_DEFAULTS,
    background_rgb,
    config_defaults,
    image_shape_of,
    is_toy,
)
from gan_tf.errors import ConfigError, DataNotFoundError
from gan_tf.eval.fid_inception import RESIZES
from gan_tf.eval.names import METRICS, parse_metrics
from gan_tf.watchdog import ACTIONS

__all__ = [
    "FIXED_FIELDS",
    "TrainConfig",
    "config_from_dict",
    "field_help",
    "field_types",
    "make_config",
]

OPTIMIZERS = ("adam", "rmsprop", "sgd")
IMAGE_SIZES = (8, 1024)  # the image_size range accepted (a side in pixels)
LATENT_DISTRIBUTIONS = ("normal", "uniform")
LR_DECAYS = ("none", "linear")
PRECISIONS = distribute.PRECISIONS
RECIPES = ("fast", "paper", "sgd")
UPDATES = ("alternating", "reuse", "simultaneous")


def _field(default, help: str, **kwargs):
    if isinstance(default, dict):
        return dataclasses.field(default_factory=lambda: dict(default), metadata={"help": help})
    return dataclasses.field(default=default, metadata={"help": help, **kwargs})


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run; each field is the flag of the same name."""

    model: str = _field(models.DEFAULT_MODEL, "GAN variant: {models}.")
    recipe: str = _field(
        "fast",
        "{recipes}: fast applies the variant's measured time-to-quality settings "
        "(docs/models.md) over its paper defaults; paper uses the paper's alone; sgd is "
        "the classic mini-batch SGD (momentum 0.5, lr 0.01, batch 128), for comparison.",
    )
    dataset: str = _field("fashion_mnist", "Dataset: {datasets}.")
    data_dir: str | None = _field(None, "Directory with the dataset's raw files (also tfds').")
    download: bool = _field(True, "Let tfds.load download the dataset if no local files exist.")
    epochs: int = _field(5, "Total epochs; a larger value extends a finished run.")
    minutes: float = _field(
        0.0,
        "Training-time budget instead of epochs: > 0 times this machine's train step before "
        "the first one and sets epochs so the steps take about this long (the colour "
        "recipe's learning rate then decays to 0 at the budget's end; evaluation and "
        "checkpoints extra); 0 = use epochs.",
    )
    max_epochs: int = _field(
        0,
        "With --minutes: the most epochs the budget may plan (0 = no limit). The colour "
        "recipe sets 64: past that the discriminator memorises a set of the emoji's size "
        "and the samples get worse (docs/colour.md), so a fast machine ends early.",
    )
    widen: bool = _field(
        False,
        "With --minutes, when more than --max_epochs would fit: time the networks at twice "
        "--arch base_width and train those if at least 25 epochs of them fit (the colour "
        "recipe's default; off when you set base_width).",
    )
    batch_size: int = _field(64, "Batch size (the global batch under --strategy).")
    latent_dim: int = _field(100, "Noise dimension.")
    latent_distribution: str = _field(
        "normal", "{latent_distributions}: noise N(0, 1), or uniform in [-1, 1]."
    )
    learning_rate: float = _field(2e-4, "Learning rate of the generator (and of D by default).")
    beta_1: float = _field(0.5, "Adam beta_1.")
    beta_2: float = _field(0.999, "Adam beta_2.")
    loss: str = _field("non_saturating", "Loss pair: {losses}.")
    optimizer: str = _field("adam", "{optimizers}.")
    momentum: float = _field(
        0.0, "Momentum of --optimizer=sgd or rmsprop (Goodfellow 2014: SGD with momentum)."
    )
    d_learning_rate: float | None = _field(
        None, "Discriminator learning rate (TTUR); unset = --learning_rate."
    )
    lr_decay: str = _field(
        "none", "{lr_decays} (linear: to --lr_decay_to x the rate at the last step)."
    )
    lr_decay_to: float = _field(
        0.0, "With --lr_decay=linear: the last step's rate as a fraction of the first (0-1)."
    )
    n_critic: int = _field(1, "Discriminator updates per generator update.")
    update: str = _field(
        "alternating",
        "{updates}: D, then G against the updated D (reuse: on the fakes D's update saw, "
        "one G pass fewer); or both from one forward pass.",
    )
    gp_weight: float = _field(0.0, "WGAN-GP gradient penalty weight (0 = off).")
    r1_weight: float = _field(
        0.0, "R1 penalty weight gamma: gamma/2 E||grad D(x_real)||^2 (Mescheder 2018; 0 = off)."
    )
    r2_weight: float = _field(
        0.0, "R2 penalty weight gamma: gamma/2 E||grad D(G(z))||^2 (R3GAN uses R1 + R2; 0 = off)."
    )
    penalty_every: int = _field(
        1,
        "Lazy regularization (StyleGAN2): the gradient penalties (gp, R1, R2) are computed "
        "every N steps and weighted N times, the same mean weight at ~1/N of their cost "
        "(1 = every step).",
    )
    clip_value: float = _field(0.0, "Clip D weights to [-c, c] after every D update (0 = off).")
    historical_averaging: float = _field(
        0.0,
        "Historical averaging weight: w * ||theta - mean of past theta||^2 added to both "
        "networks' losses (Salimans 2016; 0 = off).",
    )
    lecam_weight: float = _field(
        0.0,
        "LeCam regularizer weight (Tseng 2021, for small data): scores beyond the other "
        "side's moving average are pulled back (0.01 holds a sigmoid D(x) near 0.86; 0 = off).",
    )
    feature_layer: str = _field(
        "",
        "Discriminator layer whose mean features the generator matches with "
        "--loss=feature_matching or semi_supervised (empty: a layer named features, else "
        "the input of the logit layer).",
    )
    labels_per_class: int = _field(
        0,
        "Semi-supervised models: labelled training examples per class, drawn by "
        "--seed; every training example is also used unlabelled.",
    )
    pack: int = _field(
        1,
        "PacGAN (Lin 2018): the discriminator judges packs of N samples, all real or all "
        "fake, concatenated along channels (1 = off; batch_size must be a multiple).",
    )
    unroll: int = _field(
        0,
        "Unrolled GAN (Metz 2017): the generator's loss is taken against D unrolled N "
        "updates ahead of its optimizer, differentiating through them (0 = off).",
    )
    label_smoothing: float = _field(0.0, "One-sided label smoothing: real targets become 1-x.")
    fake_label_smoothing: float = _field(
        0.0, "Two-sided label smoothing: fake targets become x instead of 0 (0 = one-sided)."
    )
    label_flip: float = _field(0.0, "Probability of swapping real/fake roles per example in D.")
    instance_noise: float = _field(0.0, "Std of noise on D inputs, annealed linearly to 0.")
    d_dropout: float = _field(0.0, "Dropout rate after every discriminator activation.")
    replay: float = _field(
        0.0,
        "Experience replay: share of each D update's fake batch replaced by earlier "
        "generated samples from a buffer (Shrivastava 2017; 0 = off).",
    )
    replay_size: int = _field(1024, "Experience replay: generated samples the buffer holds.")
    spectral_norm: bool = _field(False, "Spectrally normalise the discriminator's layers.")
    ema: float = _field(0.0, "Decay of an EMA of generator weights used for samples (0 = off).")
    augment: str = _field(
        "",
        "DiffAugment on every image D sees, comma list of: {augmentations} (empty = off).",
    )
    ada_target: float = _field(
        0.0,
        "ADA: adapt the augmentation probability so E[sign D(real)] stays near this "
        "(e.g. 0.6; 0 = always augment).",
    )
    ada_kimg: int = _field(100, "ADA: thousands of real images for p to move from 0 to 1.")
    arch: dict[str, Any] = _field(
        {}, "The variant's architecture knobs as key=value,... (see docs/models.md)."
    )
    image_size: int | None = _field(
        None,
        "Resize images to this side, {image_sizes} px (default: the dataset's; "
        "docs/resolution.md).",
    )
    background: str = _field(
        "white", "Colour behind transparent pixels (emoji): white, black, gray or #rrggbb."
    )
    max_examples: int | None = _field(None, "Use only the first N training examples.")
    steps_per_epoch: int | None = _field(None, "Cap the steps of each epoch (smoke runs).")
    checkpoint_every: int = _field(1, "Save a checkpoint every N epochs (and at the end).")
    keep_checkpoints: int = _field(3, "How many epoch checkpoints to keep.")
    checkpoint_every_steps: int = _field(
        0,
        "Also save a step checkpoint every N train steps (0 = off; SIGTERM and Ctrl-C "
        "always save one). A resume continues mid-epoch, in the same data order.",
    )
    on_divergence: str = _field(
        "stop",
        "{actions}: what the watchdog does on NaN/inf or exploding losses, a saturated "
        "discriminator, collapsed samples or a worsening metric (rollback: back to the last "
        "good checkpoint with halved learning rates, at most 3 times).",
    )
    divergence_loss: float = _field(
        1e6, "Watchdog: a loss or D score beyond +-this counts as divergence (0 = off)."
    )
    saturation_steps: int = _field(
        2000,
        "Watchdog: steps in a row with D(x) > 0.99 and D(G(z)) < 0.01 that count as a "
        "saturated discriminator (0 = off; sigmoid losses only).",
    )
    min_diversity: float = _field(
        0.05,
        "Watchdog: the epoch samples' spread relative to the real images' below which they "
        "count as collapsed (0 = off).",
    )
    worse_evals: int = _field(
        3,
        "Watchdog, with --eval_every: evaluations in a row with the primary metric >10% "
        "worse than its best that count as divergence (0 = off).",
    )
    log_every: int = _field(50, "Write window-mean losses every N steps.")
    grid_size: int = _field(8, "Sample grids are N x N images.")
    precision: str = _field(
        "auto",
        "{precisions}. auto: mixed_bfloat16 on TPUs, GPUs of compute capability >= 8.0 and "
        "CPUs with AVX512_BF16/AMX; mixed_float16 (loss-scaled) on GPUs 7.x; else float32. "
        "A run keeps the precision it started with.",
    )
    jit_compile: bool = _field(
        False, "Compile each replica's train step with XLA (its random draws differ from non-XLA)."
    )
    steps_per_call: int = _field(1, "Train steps fused into one tf.function call.")
    profile_steps: str = _field(
        "",
        "a,b: a TensorBoard profiler trace of the train steps after step a up to step b, "
        "into RUN/logs (its Profile tab; empty = off).",
    )
    strategy: str = _field("default", "tf.distribute: {strategies}.")
    tpu: str | None = _field(None, "TPU address or name for --strategy=tpu ('local' on a TPU VM).")
    eval_every: int = _field(0, "Evaluate every N epochs and at the end (0 = off).")
    eval_metrics: str = _field(
        "auto",
        "Metrics of --eval_every: auto (the domain classifier's where one ships or "
        "--classifier_weights is set, else fid,kid,pr) or a comma list of: {metrics}.",
    )
    eval_samples: int = _field(5000, "Generated and real images per --eval_every evaluation.")
    classifier_weights: str | None = _field(None, "Domain classifier weights (default: shipped).")
    fid_weights: str | None = _field(
        None,
        "pytorch-fid's pt_inception-2015-12-05-6726825d.pth for fid/kid/pr/is (default: "
        "Keras' cache, downloaded once).",
    )
    fid_resize: str = _field(
        "pytorch_fid", "How images reach the FID Inception's 299x299: {fid_resizes}."
    )
    inception_weights: str = _field(
        "imagenet", "Keras InceptionV3 weights of the _keras metrics: imagenet or a .h5 path."
    )
    seed: int = _field(0, "Seed for weights, noise and data order.")
    check_memory: bool = _field(
        True,
        "Refuse a run whose estimated memory (decoded images, weights, one batch's "
        "activations) exceeds what the machine has free.",
    )

    def __post_init__(self):
        for name, kind in field_types().items():  # ints are fine where floats are expected
            value = getattr(self, name)
            if kind is float and isinstance(value, int) and not isinstance(value, bool):
                object.__setattr__(self, name, float(value))
        spec = models.get_model(self.model)
        object.__setattr__(self, "arch", spec.resolve_architecture(self.arch))
        _validate(self)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _validate_sizes(config: TrainConfig) -> None:
    """The optional counts and the image side: positive integers, the side within
    :data:`IMAGE_SIZES`."""
    for name in ("max_examples", "steps_per_epoch", "image_size"):
        value = getattr(config, name)
        if value is not None and (not isinstance(value, int) or value < 1):
            raise ConfigError(f"{name} must be a positive integer when set, got {value}", name)
    low, high = IMAGE_SIZES
    if config.image_size is not None and not low <= config.image_size <= high:
        raise ConfigError(
            f"image_size must be {low} to {high} px, got {config.image_size}; the models "
            "are measured at 28-256 px (docs/resolution.md): pass a size in that range",
            "image_size",
        )


def _choose(name: str, value: str, choices) -> None:
    if value not in choices:
        raise ConfigError(f"unknown {name} '{value}'; choose one of: {', '.join(choices)}", name)


def _in_unit_interval(config: TrainConfig, *names: str) -> None:
    for name in names:
        if not 0.0 <= getattr(config, name) < 1.0:
            raise ConfigError(f"{name} must be in [0, 1), got {getattr(config, name)}", name)


def _validate(config: TrainConfig) -> None:
    """Checks every field; raises :class:`ConfigError` naming the first bad one."""
    pair = losses.get_loss(config.loss)
    spec = models.get_model(config.model)
    _validate_loss_options(config, pair)
    _validate_counts(config)
    _validate_training(config, spec, pair)
    _validate_sizes(config)
    _validate_optimization(config)
    _validate_watchdog(config)
    _validate_strategy_and_update(config)
    _validate_tricks(config)
    _validate_pack_and_unroll(config, spec, pair)
    _validate_evaluation(config)


def _validate_loss_options(config: TrainConfig, pair) -> None:
    accepted = inspect.signature(pair.discriminator_loss).parameters
    for name in ("label_smoothing", "fake_label_smoothing"):
        if getattr(config, name) and name not in accepted:
            raise ConfigError(
                f"{name} applies to cross-entropy losses only, not loss={config.loss}",
                name,
                "loss",
            )


def _validate_counts(config: TrainConfig) -> None:
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
        "ada_kimg",
        "pack",
        "replay_size",
        "penalty_every",
    )
    for name in positive:
        value = getattr(config, name)
        if not isinstance(value, int) or value < 1:
            raise ConfigError(f"{name} must be a positive integer, got {value}", name)


def _validate_optimization(config: TrainConfig) -> None:
    if not (isinstance(config.minutes, (int, float)) and 0 <= config.minutes < math.inf):
        raise ConfigError(f"minutes must be >= 0 (0 = use epochs), got {config.minutes}", "minutes")
    if not isinstance(config.max_epochs, int) or config.max_epochs < 0:
        raise ConfigError(
            f"max_epochs must be an integer >= 0 (0 = no limit), got {config.max_epochs}",
            "max_epochs",
        )
    if not config.learning_rate > 0:
        raise ConfigError(f"learning_rate must be > 0, got {config.learning_rate}", "learning_rate")
    if config.d_learning_rate is not None and not config.d_learning_rate > 0:
        raise ConfigError(
            f"d_learning_rate must be > 0 when set, got {config.d_learning_rate}",
            "d_learning_rate",
        )
    _choose("optimizer", config.optimizer, OPTIMIZERS)
    _in_unit_interval(config, "momentum")
    if config.momentum and config.optimizer == "adam":
        raise ConfigError(
            "momentum applies to optimizer=sgd or rmsprop; Adam's is beta_1", "momentum"
        )
    _choose("lr_decay", config.lr_decay, LR_DECAYS)
    _in_unit_interval(config, "lr_decay_to")
    _choose("precision", config.precision, PRECISIONS)
    _choose("recipe", config.recipe, RECIPES)
    _choose("fid_resize", config.fid_resize, tuple(RESIZES))
    _choose("update", config.update, UPDATES)
    _choose("latent_distribution", config.latent_distribution, LATENT_DISTRIBUTIONS)
    _choose("on_divergence", config.on_divergence, ACTIONS)
    if config.on_divergence == "rollback" and config.lr_decay != "none":
        raise ConfigError(
            "on_divergence=rollback lowers the learning rates, which lr_decay=linear "
            "schedules; use on_divergence=stop or lr_decay=none",
            "on_divergence",
            "lr_decay",
        )


def profile_range(text: str) -> tuple[int, int] | None:
    """``profile_steps``' ``"a,b"`` as ``(a, b)`` (``None`` when empty).

    Raises:
      ConfigError: not two step numbers ``0 <= a < b``.
    """
    if not text:
        return None
    parts = [part.strip() for part in str(text).split(",")]
    if (
        len(parts) != 2
        or not all(part.isdecimal() for part in parts)
        or int(parts[0]) >= int(parts[1])
    ):
        raise ConfigError(
            f"profile_steps takes two train steps a,b with a < b (e.g. 10,20), got {text!r}",
            "profile_steps",
        )
    return int(parts[0]), int(parts[1])


def _validate_watchdog(config: TrainConfig) -> None:
    profile_range(config.profile_steps)
    for name in (
        "checkpoint_every_steps",
        "saturation_steps",
        "worse_evals",
        "labels_per_class",
        "unroll",
    ):
        value = getattr(config, name)
        if not isinstance(value, int) or value < 0:
            raise ConfigError(f"{name} must be an integer >= 0 (0 = off), got {value}", name)
    for name in ("divergence_loss", "min_diversity"):
        if getattr(config, name) < 0:
            raise ConfigError(f"{name} must be >= 0 (0 = off), got {getattr(config, name)}", name)


def _validate_strategy_and_update(config: TrainConfig) -> None:
    _choose("strategy", config.strategy, distribute.STRATEGIES)
    if config.tpu and config.strategy != "tpu":
        raise ConfigError(
            f"tpu={config.tpu} needs strategy=tpu (got strategy={config.strategy})",
            "tpu",
            "strategy",
        )
    if config.update == "simultaneous" and config.n_critic != 1:
        raise ConfigError(
            f"update=simultaneous needs n_critic=1 (got {config.n_critic}); "
            "use update=alternating for critic-heavy models",
            "update",
            "n_critic",
        )


def _validate_pack_and_unroll(config: TrainConfig, spec, pair) -> None:
    """PacGAN needs unconditional models and batches of whole packs; Unrolled GAN
    restates the discriminator's plain loss and optimizer rule, so it refuses what
    it would leave out (penalties, loss terms on D, simultaneous updates)."""
    if config.pack > 1 and spec.needs_labels:
        raise ConfigError(
            f"pack applies to unconditional models; model={config.model}'s discriminator "
            "judges each sample with its label: use pack=1",
            "pack",
            "model",
        )
    if config.batch_size % config.pack:
        raise ConfigError(
            f"batch_size={config.batch_size} must be a multiple of pack={config.pack}",
            "batch_size",
            "pack",
        )
    if not config.unroll:
        return
    leftovers = [
        name
        for name in (
            "gp_weight",
            "r1_weight",
            "r2_weight",
            "historical_averaging",
            "clip_value",
            "lecam_weight",
        )
        if getattr(config, name)
    ]
    if pair.taps:
        leftovers.append(f"loss={config.loss}")
    if config.update == "simultaneous":
        leftovers.append("update=simultaneous")
    if leftovers:
        raise ConfigError(
            f"unroll cannot be combined with {', '.join(leftovers)}: the unrolled "
            "discriminator steps take the plain loss pair; turn those off or use unroll=0",
            "unroll",
        )


def _validate_tricks(config: TrainConfig) -> None:
    for name, meaning in (
        ("gp_weight", ">= 0"),
        ("r1_weight", ">= 0"),
        ("r2_weight", ">= 0"),
        ("clip_value", ">= 0"),
        ("historical_averaging", ">= 0"),
        ("lecam_weight", ">= 0"),
    ):
        if getattr(config, name) < 0:
            raise ConfigError(
                f"{name} must be {meaning} (0 = off), got {getattr(config, name)}", name
            )
    _in_unit_interval(config, "label_flip", "d_dropout", "ema", "beta_1", "beta_2")
    _in_unit_interval(config, "label_smoothing")
    _in_unit_interval(config, "fake_label_smoothing")
    _in_unit_interval(config, "replay")
    if config.replay and config.update == "simultaneous":
        raise ConfigError(
            "replay needs update=alternating: with simultaneous updates the generator "
            "would be scored on replayed samples",
            "replay",
            "update",
        )
    if config.instance_noise < 0:
        raise ConfigError(
            f"instance_noise must be >= 0, got {config.instance_noise}", "instance_noise"
        )
    if not config.dataset:
        raise ConfigError("dataset must not be empty", "dataset")
    background_rgb(config.background)
    parse_policy(config.augment)
    _in_unit_interval(config, "ada_target")
    if config.ada_target and not config.augment:
        raise ConfigError("ada_target needs augment (e.g. augment=flip,translation)", "ada_target")


def _validate_evaluation(config: TrainConfig) -> None:
    if not isinstance(config.eval_every, int) or config.eval_every < 0:
        raise ConfigError(
            f"eval_every must be >= 0 epochs (0 = off), got {config.eval_every}", "eval_every"
        )
    if config.eval_every and config.eval_metrics != "auto":
        parse_metrics(config.eval_metrics, param="eval_metrics")
    if config.eval_every:
        if is_toy(config.dataset):
            raise ConfigError(
                f"eval_every does not apply to the 2-D toy '{config.dataset}' (its mode "
                "metrics are logged every epoch); leave it at 0",
                "eval_every",
            )
        if not isinstance(config.eval_samples, int) or config.eval_samples < 100:
            raise ConfigError(
                f"eval_samples must be an integer >= 100, got {config.eval_samples}",
                "eval_samples",
            )


def _validate_training(config: TrainConfig, spec, pair) -> None:
    """The variant's own checks (its training plug), and fields of other variants' plugs."""
    spec.training.validate(config, spec)
    for name in models.model_names():
        other = models.get_model(name)
        for field in set(other.training.fields) - set(spec.training.fields):
            if getattr(config, field) != getattr(TrainConfig, field):
                raise ConfigError(
                    f"{field} applies to model={other.name}, not model={config.model}; leave it "
                    f"at {getattr(TrainConfig, field)!r}",
                    field,
                )
    if "labels" in pair.discriminator_inputs and not spec.needs_labels:
        takers = [n for n in models.model_names() if models.get_model(n).training.labelled]
        raise ConfigError(
            f"loss={config.loss} reads class labels and needs a model whose discriminator "
            f"classifies ({', '.join(takers)}), not model={config.model}",
            "loss",
            "model",
        )
    if config.feature_layer and "features" not in pair.taps:
        raise ConfigError(
            f"feature_layer applies to losses that match features (feature_matching, "
            f"semi_supervised), not loss={config.loss}",
            "feature_layer",
        )


# Fields a run keeps for life: they shape the networks, the checkpointed optimizer
# state (lr_decay decides whether the learning rate is a variable), the epoch grids
# (grid_size, and seed, which also fixes the grid noise and the data order) or the
# data. A resume with other values is refused; every other field may change.
FIXED_FIELDS = (
    "model",
    "dataset",
    "latent_dim",
    "latent_distribution",
    "image_size",
    "spectral_norm",
    "d_dropout",
    "arch",
    "ema",
    "historical_averaging",
    "replay",
    "replay_size",
    "labels_per_class",
    "pack",
    "augment",
    "ada_target",
    "optimizer",
    "lr_decay",
    "precision",
    "grid_size",
    "seed",
)


def field_types() -> dict[str, type]:
    """Each field's value type (``int``, ``float``, ``bool``, ``str`` or ``dict``),
    with ``X | None`` read as ``X``."""
    hints = typing.get_type_hints(TrainConfig)
    kinds = {}
    for field in dataclasses.fields(TrainConfig):
        hint = hints[field.name]
        if typing.get_origin(hint) in (typing.Union, types.UnionType):
            hint = next(arg for arg in typing.get_args(hint) if arg is not type(None))
        kinds[field.name] = typing.get_origin(hint) or hint
    return kinds


def _variant_defaults(name: str, default) -> str:
    fast = {
        model: models.get_model(model).recipe_defaults("fast") for model in models.model_names()
    }
    per_model = [
        f"{model} {values[name]}"
        for model, values in fast.items()
        if values.get(name, default) != default and name != "arch"
    ]
    if name in TOY_DEFAULTS:
        per_model.append(f"2-D toys {TOY_DEFAULTS[name]}")
    return f"; {', '.join(per_model)}" if per_model else ""


def field_help(name: str) -> str:
    """The help text of field ``name`` with its default and the variants' own defaults,
    e.g. ``"Learning rate ... (default 0.0002; <model> <value>, ...)"``."""
    field = {f.name: f for f in dataclasses.fields(TrainConfig)}[name]
    text = field.metadata["help"].format(
        models=" | ".join(models.model_names()),
        losses=" | ".join(losses.LOSSES),
        strategies=" | ".join(distribute.STRATEGIES),
        fid_resizes=" | ".join(RESIZES),
        datasets=" | ".join(DATASET_NAMES),
        optimizers=" | ".join(OPTIMIZERS),
        lr_decays=" | ".join(LR_DECAYS),
        latent_distributions=" | ".join(LATENT_DISTRIBUTIONS),
        precisions=" | ".join(PRECISIONS),
        recipes=" | ".join(RECIPES),
        updates=" | ".join(UPDATES),
        actions=" | ".join(ACTIONS),
        image_sizes=f"{IMAGE_SIZES[0]}-{IMAGE_SIZES[1]}",
        metrics=", ".join(METRICS),
        augmentations=", ".join(AUGMENTATIONS),
    )
    default = field.default_factory() if field.default is dataclasses.MISSING else field.default
    shown = "unset" if default is None or default == {} else default
    return f"{text} (default {shown}{_variant_defaults(name, default)})"


def make_config(*, data_shape: tuple[int, ...] | None = None, **overrides: Any) -> TrainConfig:
    """Resolves a :class:`TrainConfig` from the variant's defaults and ``overrides``.

    ``None`` values in ``overrides`` mean "not set" and fall back to the defaults.
    ``data_shape`` is one example's shape, e.g. ``(64, 64, 3)``, for data you hand to
    :func:`gan_tf.train` or ``fit`` yourself: the recipe for that shape is chosen (colour
    images get the colour recipe of their size). A named ``dataset`` is read for it.

    Raises:
      ConfigError: for an unknown field or any invalid value.
    """
    known = {field.name for field in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ConfigError(
            f"unknown config field(s): {', '.join(unknown)}; the fields are: {', '.join(known)}"
        )
    given = {key: value for key, value in overrides.items() if value is not None}
    if given.get("minutes") and "epochs" in given:
        raise ConfigError(
            "pass epochs or minutes, not both (minutes chooses the epochs)", "epochs", "minutes"
        )
    spec = models.get_model(given.get("model", TrainConfig.model))
    shape = tuple(data_shape) if data_shape is not None else _data_shape(given)
    values = spec.recipe_defaults(given.get("recipe", TrainConfig.recipe), shape)
    values.update(config_defaults(given.get("dataset", TrainConfig.dataset)))
    if isinstance(values.get("arch"), dict) and isinstance(given.get("arch"), dict):
        if "base_width" in given["arch"] and "widen" not in given:
            values["widen"] = False  # your width is not the recipe's to widen
        given["arch"] = {**values["arch"], **given["arch"]}  # your knobs over the recipe's
    values.update(given)
    return TrainConfig(**values)


def _data_shape(given: dict) -> tuple[int, ...] | None:
    """The examples' shape for the dataset ``given`` names (``None`` for data handed
    to :func:`gan_tf.train` or a name that does not resolve: its error comes later)."""
    try:
        return image_shape_of(
            given.get("dataset", TrainConfig.dataset),
            given.get("image_size"),
            given.get("data_dir"),
        )
    except (ConfigError, DataNotFoundError):
        return None


# Keys older runs wrote to config.json that are no longer fields (read and dropped).
_RETIRED_KEYS = ("output_dir",)


def config_from_dict(values: dict[str, Any], source: str = "the config") -> TrainConfig:
    """A :class:`TrainConfig` from a dict such as ``config.json``'s.

    Raises:
      ConfigError: for keys that are not fields (the message names them) or bad values.
    """
    known = {field.name for field in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(values) - known - set(_RETIRED_KEYS))
    if unknown:
        raise ConfigError(
            f"{source} has unknown key(s) {', '.join(unknown)}; it was written by another "
            "version of gan_tf or edited by hand: remove them"
        )
    values = {key: value for key, value in values.items() if key in known}
    values.setdefault("recipe", "paper")  # a run from before recipes had the paper's settings
    if "arch" not in values:  # a run from before the knobs: its widths had no cap
        spec = models.get_model(values.get("model", TrainConfig.model))
        values["arch"] = {"max_width": 0} if "max_width" in spec.architecture else {}
    return TrainConfig(**values)
