"""The description every GAN variant gives of itself, and the layers variants share."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import keras

from gan_tf.errors import ConfigError

__all__ = [
    "ModelSpec",
    "TrainingPlug",
    "hidden_noise",
    "is_vector",
    "spectral",
    "weight_init",
]


# The classic preset: mini-batch SGD with momentum (Goodfellow et al., 2014) at the
# DCGAN paper's mini-batch of 128 (Radford et al., 2015, whose networks then trained with
# Adam). Measured on mnist_5k: with dcgan the discriminator wins within 250 steps and the
# generator collapses to one class (docs/training.md), which is why DCGAN moved to Adam.
SGD_RECIPE = {"optimizer": "sgd", "momentum": 0.5, "learning_rate": 0.01, "batch_size": 128}


def weight_init(seed: int | None = None) -> keras.initializers.Initializer:
    """N(0, 0.02), the initialisation of the DCGAN paper (Radford et al., 2015)."""
    return keras.initializers.RandomNormal(mean=0.0, stddev=0.02, seed=seed)


def spectral(layer: keras.layers.Layer, enabled: bool) -> keras.layers.Layer:
    """Wraps ``layer`` in spectral normalisation (Miyato et al., 2018) when ``enabled``."""
    return keras.layers.SpectralNormalization(layer) if enabled else layer


def hidden_noise(arch: dict) -> float:
    """The std of the Gaussian noise a discriminator adds after every hidden activation
    (the ``hidden_noise`` knob; 0 = none). Keras' ``GaussianNoise`` adds it only in
    training mode; inference is deterministic.

    Raises:
      ConfigError: a negative std.
    """
    std = float(arch.get("hidden_noise", 0.0))
    if std < 0:
        raise ConfigError(f"arch hidden_noise must be a std >= 0 (0 = none), got {std}", "arch")
    return std


def is_vector(shape) -> bool:
    """True for 1-D examples (the 2-D toy mixtures), which every variant models with MLPs."""
    return len(shape) == 1


class TrainingPlug:
    """How a variant trains when it trains differently from the plain loop.

    Every method has the plain behaviour as its default, so the loop
    (:func:`gan_tf.train`) calls them for every variant and names none. A
    variant overrides what it needs and sets ``ModelSpec(training=...)``.

    Attributes:
      labelled: the variant's data must come with class labels (besides
        conditional variants, which always need them).
      fields: :class:`~gan_tf.config.TrainConfig` fields only this plug reads;
        setting one for another variant is a config error.
    """

    labelled: bool = False
    fields: tuple[str, ...] = ()

    def validate(self, config, spec: ModelSpec) -> None:
        """Raises :class:`~gan_tf.errors.ConfigError` for a config the variant cannot train."""

    def architecture(self, arch: dict, shape: tuple, num_classes: int | None) -> dict:
        """The architecture knobs the builders get (e.g. plus the data's classes)."""
        return arch

    def examples_per_step(self, config) -> int:
        """Training examples one generator step consumes (sets the epoch's length)."""
        return config.batch_size * config.n_critic

    def prepare(self, config, dataset):
        """Loads what training reads besides ``dataset`` (called before anything is
        written, so a failure leaves no trace); its result is ``state`` below."""
        return None

    def batches(self, state, dataset, config, epoch: int):
        """The epoch's ``tf.data`` batches of ``batch_size * n_critic`` (``(x, labels)``
        when labelled); ``None``: the loop's own (:func:`gan_tf.data.batches`)."""
        return None

    def epoch_metrics(self, state, gan) -> dict:
        """Metrics of the variant's own, added to every epoch's row (chief only)."""
        return {}


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """A GAN variant: put ``SPEC = ModelSpec(...)`` in a module of :mod:`gan_tf.models`
    and the registry finds it by ``name``.

    Attributes:
      name: registry name, e.g. ``"dcgan"``.
      paper: the paper whose architecture and defaults are followed.
      defaults: training hyper-parameters that differ from
        :class:`gan_tf.config.TrainConfig`'s generic defaults
        (e.g. ``{"learning_rate": 2e-4, "beta_1": 0.5}``).
      build_generator: ``(latent_dim, shape, arch) -> keras.Model`` mapping
        ``[B, latent_dim]`` noise to ``[B, *shape]`` images in ``[-1, 1]``.
      build_discriminator: ``(shape, arch) -> keras.Model`` mapping images to
        ``[B, 1]`` float32 logits (real = 1, fake = 0).
      architecture: the variant's own architecture knobs and their defaults
        (``--arch=key=value``). Builders get them merged with the user's values,
        plus the generic ``spectral_norm`` and ``dropout`` of the discriminator.
      conditional: the networks take ``[inputs, int labels]``: the registry wraps
        the builders' networks with label inputs (see :mod:`gan_tf.models.conditioning`)
        and the data must have labels.
      training: how the variant trains differently (:class:`TrainingPlug`): its
        config checks, extra data, batches and per-epoch metrics.
      fast: what ``recipe=fast`` (the default) changes in ``defaults``: settings
        measured to reach the paper's sample quality sooner (``arch`` entries merge
        into the architecture knobs). ``recipe=paper`` uses ``defaults`` alone.
      fast_colour: ``recipe=fast`` for colour images, by image side (e.g. ``{32: {...},
        64: {...}, 128: {...}}``): applied over ``fast`` to 3-channel images, the
        entry of the nearest measured side (in octaves; ties go to the smaller).
        Measured by ``benchmarks/time_to_quality.py --task=emoji`` (docs/colour.md).

    2-D toy data never reaches these builders: every variant uses the MLPs of
    :mod:`gan_tf.models.toy` for vectors.
    """

    name: str
    paper: str
    defaults: dict[str, Any]
    build_generator: Callable[..., keras.Model]
    build_discriminator: Callable[..., keras.Model]
    architecture: dict[str, Any] = dataclasses.field(default_factory=dict)
    conditional: bool = False
    training: TrainingPlug = dataclasses.field(default_factory=TrainingPlug)
    fast: dict[str, Any] = dataclasses.field(default_factory=dict)
    fast_colour: dict[int, dict[str, Any]] = dataclasses.field(default_factory=dict)

    @property
    def needs_labels(self) -> bool:
        """The variant trains on labelled data (conditional, or its plug says so)."""
        return self.conditional or self.training.labelled

    def recipe_defaults(self, recipe: str, shape: tuple | None = None) -> dict[str, Any]:
        """The training defaults of ``recipe``: ``"paper"`` (:attr:`defaults`),
        ``"fast"`` (:attr:`defaults` updated by :attr:`fast`, and for colour images
        of ``shape`` by :meth:`colour_recipe`) or ``"sgd"`` (:attr:`defaults`
        updated by :data:`SGD_RECIPE`). ``arch`` entries merge."""
        values = dict(self.defaults)
        updates = {"fast": [self.fast, self.colour_recipe(shape)], "sgd": [SGD_RECIPE]}
        for update in updates.get(recipe, []):
            arch = {**values.get("arch", {}), **update.get("arch", {})}
            values.update(update)
            if arch:
                values["arch"] = arch
        return values

    def colour_recipe(self, shape: tuple | None) -> dict[str, Any]:
        """The :attr:`fast_colour` entry for images of ``shape`` (``(H, W, 3)``): the
        nearest measured side in octaves; ``{}`` for other shapes or none measured."""
        if not self.fast_colour or shape is None or len(shape) != 3 or shape[-1] != 3:
            return {}
        side = max(int(shape[0]), 1)
        nearest = min(self.fast_colour, key=lambda s: (abs(math.log2(s / side)), s))
        return self.fast_colour[nearest]

    def resolve_architecture(self, overrides: dict[str, Any] | None) -> dict[str, Any]:
        """The variant's knobs with ``overrides`` applied; strings (from flags) are
        parsed to the default's type.

        Raises:
          ConfigError: an unknown knob (the message lists this variant's) or a value
            of the wrong type.
        """
        overrides = dict(overrides or {})
        unknown = sorted(set(overrides) - set(self.architecture))
        if unknown:
            valid = ", ".join(f"{k}={v}" for k, v in self.architecture.items()) or "none"
            raise ConfigError(
                f"arch: {self.name} has no knob {', '.join(unknown)}; its knobs are: {valid}",
                "arch",
            )
        resolved = dict(self.architecture)
        for key, value in overrides.items():
            resolved[key] = _as_type(key, value, type(self.architecture[key]))
        return resolved


def _as_type(key: str, value, kind: type):
    """``value`` as a ``kind`` (strings from flags are parsed), or a ConfigError."""
    parsed = value
    if isinstance(value, str) and kind is not str:
        text = value.strip().lower()
        if kind is bool:
            parsed = {"true": True, "1": True, "false": False, "0": False}.get(text, value)
        else:
            try:
                parsed = kind(text)
            except ValueError:
                parsed = value
    elif kind is float and isinstance(value, int) and not isinstance(value, bool):
        parsed = float(value)
    if not isinstance(parsed, kind) or (isinstance(parsed, bool) and kind is not bool):
        raise ConfigError(f"arch: {key} takes a {kind.__name__}, got {value!r}", "arch")
    return parsed
