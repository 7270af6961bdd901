"""GAN variants, chosen by name from a registry that finds them itself.

A variant is one module of this package with ``SPEC = ModelSpec(...)``: its
paper, its default hyper-parameters, its architecture knobs and two builders.
Nothing else is edited to add one; :func:`model_names` lists whatever is there
(flag help, benchmarks and docs read it). Variants defined outside the package
join with :func:`register`.

:func:`build_networks` is the one place that handles what all variants share:
2-D toy data gets the MLPs of :mod:`gan_tf.models.toy`, and conditional
variants get label inputs (:mod:`gan_tf.models.conditioning`).
"""

from __future__ import annotations

import importlib
import pkgutil

import keras

from gan_tf.errors import ConfigError
from gan_tf.models import conditioning, toy
from gan_tf.models.spec import ModelSpec, TrainingPlug, is_vector
from gan_tf.packing import packed_shape

__all__ = [
    "DEFAULT_MODEL",
    "ModelSpec",
    "TrainingPlug",
    "build_networks",
    "get_model",
    "model_names",
    "register",
]

DEFAULT_MODEL = "dcgan"  # what --model defaults to
_REGISTRY: dict[str, ModelSpec] = {}
_DISCOVERED = False


def _discover() -> None:
    global _DISCOVERED
    if _DISCOVERED:
        return
    for info in pkgutil.iter_modules(__path__):
        spec = getattr(importlib.import_module(f"{__name__}.{info.name}"), "SPEC", None)
        if isinstance(spec, ModelSpec):
            if spec.name in _REGISTRY and _REGISTRY[spec.name] is not spec:
                raise ConfigError(f"two variant modules define a model named '{spec.name}'")
            _REGISTRY[spec.name] = spec
    _DISCOVERED = True


def register(spec: ModelSpec) -> ModelSpec:
    """Adds a variant defined outside :mod:`gan_tf.models` (e.g. in a notebook), so
    ``make_config(model=spec.name)`` and ``--model`` find it.

    Raises:
      ConfigError: if another variant already has the name.
    """
    _discover()
    if spec.name in _REGISTRY and _REGISTRY[spec.name] is not spec:
        raise ConfigError(f"a model named '{spec.name}' is already registered", "model")
    _REGISTRY[spec.name] = spec
    return spec


def model_names() -> tuple[str, ...]:
    """The registered variant names, sorted."""
    _discover()
    return tuple(sorted(_REGISTRY))


def get_model(name: str) -> ModelSpec:
    """Returns the :class:`ModelSpec` of the variant called ``name``.

    Raises:
      ConfigError: for an unknown name; the message lists the valid ones.
    """
    _discover()
    if name not in _REGISTRY:
        raise ConfigError(
            f"unknown model '{name}'; choose one of: {', '.join(model_names())}", "model"
        )
    return _REGISTRY[name]


def build_networks(
    spec: ModelSpec,
    shape: tuple[int, ...],
    *,
    latent_dim: int,
    arch: dict,
    num_classes: int | None = None,
    pack: int = 1,
) -> tuple[keras.Model, keras.Model]:
    """The generator and discriminator of ``spec`` for examples of ``shape``.

    Args:
      spec: the variant.
      shape: one example's shape: ``(H, W, C)`` images, or ``(2,)`` toy points
        (which every variant models with the toy MLPs).
      latent_dim: noise size.
      arch: the variant's resolved knobs plus ``spectral_norm`` and ``dropout``.
      num_classes: classes of the data; required by conditional variants.
      pack: PacGAN's packing (:mod:`gan_tf.packing`): the unconditional
        discriminator takes ``pack`` examples concatenated along the last axis
        (the config and :class:`gan_tf.gan.GAN` refuse it for labelled variants).

    Raises:
      ConfigError: a variant that needs labels without ``num_classes`` (or one
        whose training plug refuses ``shape``).
    """
    build_generator, build_discriminator = spec.build_generator, spec.build_discriminator
    if spec.needs_labels and not num_classes:
        raise ConfigError(
            f"model={spec.name} is {'conditional' if spec.conditional else 'trained on labels'} "
            "and needs labelled data; this dataset has no class labels",
            "model",
            "dataset",
        )
    arch = spec.training.architecture(arch, tuple(shape), num_classes)
    if is_vector(shape):
        build_generator, build_discriminator = toy.build_generator, toy.build_discriminator
    shape = tuple(shape)
    if not spec.conditional:  # the generator first: the seed's draws keep their order
        generator = build_generator(latent_dim, shape, arch)
        return generator, build_discriminator(packed_shape(shape, pack), arch)
    body_shape = conditioning.body_shape(shape, num_classes)
    generator = conditioning.conditional_generator(
        build_generator(latent_dim + num_classes, shape, arch), latent_dim, num_classes
    )
    discriminator = conditioning.conditional_discriminator(
        build_discriminator(body_shape, arch), shape, num_classes
    )
    return generator, discriminator
