"""From a :class:`~gan_tf.config.TrainConfig` to a trainable :class:`~gan_tf.gan.GAN`:
networks (the registered variant's, or your own), optimizers, losses, penalties.
"""

from __future__ import annotations

import contextlib
import dataclasses

import keras
import tensorflow as tf

from gan_tf import data, distribute, models, parts
from gan_tf.config import TrainConfig
from gan_tf.errors import ConfigError
from gan_tf.gan import GAN
from gan_tf.packing import packed_shape

__all__ = [
    "architecture",
    "build_gan",
    "build_networks",
    "dtype_policy",
    "initialize_from_data",
    "LinearDecay",
    "Plan",
    "make_optimizer",
    "with_precision",
]


def with_precision(config: TrainConfig, strategy=None) -> TrainConfig:
    """``config`` with ``precision=auto`` replaced by what the hardware of ``strategy``
    (default: the current one) runs fastest (:func:`gan_tf.distribute.auto_precision`)."""
    if config.precision != "auto":
        return config
    precision, _ = distribute.resolve_precision("auto", strategy)
    return dataclasses.replace(config, precision=precision)


@contextlib.contextmanager
def dtype_policy(name: str):
    """Builds layers under the Keras dtype policy ``name`` (``float32``,
    ``mixed_bfloat16``, ``mixed_float16``), restoring the previous global policy."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def _float32_outputs(model: keras.Model) -> keras.Model:
    """``model`` with its output cast to float32 (mixed precision: losses, penalties and
    sampled images stay float32 whatever the layers compute in)."""
    output = keras.layers.Activation("linear", dtype="float32", name="float32_output")(
        model.outputs[0]
    )
    return keras.Model(model.inputs, output, name=model.name)


def architecture(config: TrainConfig) -> dict:
    """What the builders get: the variant's resolved knobs plus the discriminator's
    generic ``spectral_norm`` and ``dropout``."""
    return {**config.arch, "spectral_norm": config.spectral_norm, "dropout": config.d_dropout}


def build_networks(config: TrainConfig, shape, num_classes=None, spec=None):
    """The generator and discriminator ``config`` describes, for samples of ``shape``,
    built under ``config.precision`` (mixed policies compute in 16 bits, keep float32
    variables and return float32 outputs; ``auto``: see :func:`with_precision`).
    ``spec``: the resolved variant (default: looked up from ``config.model``)."""
    config = with_precision(config)
    spec = spec or models.get_model(config.model)
    with dtype_policy(config.precision):
        generator, discriminator = models.build_networks(
            spec,
            tuple(shape),
            latent_dim=config.latent_dim,
            arch=architecture(config),
            num_classes=num_classes if spec.needs_labels else None,
            pack=config.pack,
        )
    if config.precision != "float32":
        generator, discriminator = _float32_outputs(generator), _float32_outputs(discriminator)
    return generator, discriminator


INIT_EXAMPLES = 500  # the batch of the authors' data-dependent initialisation


def initialize_from_data(discriminator: keras.Model, dataset: data.ImageDataset) -> bool:
    """The data-dependent initialisation of ``discriminator``'s layers that have one
    (weight-normalised layers, :func:`gan_tf.models.layers.initialize_from_data`), on
    the first :data:`INIT_EXAMPLES` training examples. Training runs it before it
    restores a checkpoint; call it yourself after :func:`build_gan` when you write
    your own loop. Returns whether any layer was initialised (a no-op for most
    variants)."""
    if not models.layers.initializes_from_data(discriminator):
        return False
    images = data.first_examples(dataset, INIT_EXAMPLES)
    return models.layers.initialize_from_data(discriminator, images)


class LinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """``initial`` decayed linearly to ``final x initial`` at optimizer step
    ``planned x per_step``, then held there: ``PolynomialDecay(power=1,
    end_learning_rate=final x initial)`` (the same values) with the length in a
    variable, so ``--minutes`` can re-plan the run's length after its first epoch
    without retracing the step (:mod:`gan_tf.budget`)."""

    def __init__(self, initial: float, planned, per_step: int = 1, final: float = 0.0):
        self.initial = float(initial)
        self.planned = planned  # generator steps: an int or an int64 tf.Variable
        self.per_step = int(per_step)
        self.final = float(final)

    def __call__(self, step):
        total = tf.cast(tf.maximum(tf.cast(self.planned, tf.int64) * self.per_step, 1), tf.float32)
        done = tf.minimum(tf.cast(step, tf.float32), total)
        left = 1.0 - done / total
        return tf.constant(self.initial, tf.float32) * (self.final + (1.0 - self.final) * left)

    def get_config(self) -> dict:
        planned = self.planned
        if isinstance(planned, tf.Variable):
            planned = int(planned.numpy())
        return {
            "initial": self.initial,
            "planned": planned,
            "per_step": self.per_step,
            "final": self.final,
        }


class Plan:
    """The run's planned generator steps, the length the ``lr_decay=linear`` schedules
    of both optimizers read (a variable: :meth:`replan` changes it between steps)."""

    def __init__(self, steps: int):
        self.steps = tf.Variable(max(int(steps), 1), dtype=tf.int64, trainable=False)

    def replan(self, steps: int) -> None:
        self.steps.assign(max(int(steps), 1))


def make_optimizer(
    config: TrainConfig, learning_rate: float, decay_steps, per_step: int = 1
) -> keras.optimizers.Optimizer:
    """The optimizer ``config`` names (Adam, RMSprop or SGD, the last two with
    ``config.momentum``) at ``learning_rate`` (with ``lr_decay=linear``: decayed
    linearly to ``config.lr_decay_to`` of it over ``decay_steps x per_step`` optimizer
    steps, ``decay_steps`` an
    int or a :class:`Plan`'s variable; loss-scaled for ``mixed_float16``)."""
    config = with_precision(config)
    if config.lr_decay == "linear":
        learning_rate = LinearDecay(learning_rate, decay_steps, per_step, config.lr_decay_to)
    if config.optimizer == "rmsprop":
        optimizer = keras.optimizers.RMSprop(learning_rate=learning_rate, momentum=config.momentum)
    elif config.optimizer == "sgd":
        optimizer = keras.optimizers.SGD(learning_rate=learning_rate, momentum=config.momentum)
    else:
        optimizer = keras.optimizers.Adam(
            learning_rate=learning_rate, beta_1=config.beta_1, beta_2=config.beta_2
        )
    if config.precision == "mixed_float16":  # dynamic loss scaling against float16 underflow
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


def _call_or_refuse(network, inputs, name: str, what: str, *params: str):
    try:
        return network(inputs, training=False)
    except Exception as error:  # noqa: BLE001 - any failure means "wrong signature"
        reason = " ".join(str(error).split())[:160]
        raise ConfigError(
            f"{name} cannot take {what} ({type(error).__name__}: {reason})", name, *params
        ) from None


def _input_count(network) -> int | None:
    try:
        return len(network.inputs)
    except (AttributeError, TypeError, ValueError):  # a subclassed model has no symbolic inputs
        return None


def _check_networks(generator, discriminator, config: TrainConfig, shape, strategy, spec) -> None:
    """Checks your own networks' signatures against the data before training, by
    calling them on a zero batch (any Keras model works: Sequential, functional or
    subclassed)."""
    if (generator is None) != (discriminator is None):
        raise ConfigError("pass both generator and discriminator, or neither", "generator")
    conditional = spec.conditional
    for name, network in (("generator", generator), ("discriminator", discriminator)):
        count = _input_count(network)
        if count is not None and count != (2 if conditional else 1):
            raise ConfigError(
                f"{name} takes {count} input(s); model={config.model} needs "
                f"{'[inputs, labels]' if conditional else 'one input'}",
                name,
            )
    labels = tf.zeros([2], tf.int32)
    noise = tf.zeros([2, config.latent_dim])
    samples = _call_or_refuse(
        generator,
        [noise, labels] if conditional else noise,
        "generator",
        f"noise of shape [B, {config.latent_dim}] with latent_dim={config.latent_dim}",
        "latent_dim",
    )
    if tuple(samples.shape[1:]) != tuple(shape):
        raise ConfigError(
            f"generator makes {tuple(samples.shape[1:])} samples but the data is {tuple(shape)}",
            "generator",
        )
    real = tf.zeros([2, *packed_shape(shape, config.pack)])
    logits = _call_or_refuse(
        discriminator, [real, labels] if conditional else real, "discriminator", "samples"
    )
    if tuple(logits.shape) != (2, 1):
        raise ConfigError(
            f"discriminator must return [B, 1] logits, returns {tuple(logits.shape)}",
            "discriminator",
        )
    if distribute.is_distributed(strategy) and not all(
        strategy.extended.variable_created_in_scope(variable.value)
        for variable in generator.weights + discriminator.weights
    ):
        raise ConfigError(
            f"your networks were not built under {type(strategy).__name__}.scope(); build "
            "them inside it and pass the same strategy= to train()",
            "generator",
        )


def _check_replica_packs(config: TrainConfig, replicas: int) -> None:
    """PacGAN packs each replica's share of the batch: it must hold whole packs."""
    if config.pack > 1 and (config.batch_size // replicas) % config.pack:
        raise ConfigError(
            f"pack={config.pack} needs each replica's batch ({config.batch_size} / {replicas} "
            f"replicas) to be a multiple of it: pick batch_size accordingly",
            "pack",
            "batch_size",
        )


def build_gan(
    config: TrainConfig,
    shape,
    num_classes=None,
    total_steps: int = 1,
    strategy=None,
    *,
    generator: keras.Model | None = None,
    discriminator: keras.Model | None = None,
    spec: models.ModelSpec | None = None,
) -> GAN:
    """Builds the networks, optimizers and train step that ``config`` describes.

    Args:
      config: the run's config.
      shape: the shape of one example, e.g. ``(28, 28, 1)`` or ``(2,)``.
      num_classes: classes of the data (used by conditional models).
      total_steps: generator steps of the whole run (for ``lr_decay=linear``).
      strategy: the ``tf.distribute.Strategy`` whose scope holds every variable
        (default: the current one). Your own networks must be built in it too.
      generator, discriminator: your own Keras networks instead of the variant's
        (both or neither): noise ``[B, latent_dim]`` -> samples of ``shape`` and
        samples -> ``[B, 1]`` logits (``[x, labels]`` inputs for conditional models).
      spec: the resolved variant (default: looked up from ``config.model``).

    Raises:
      ConfigError: a conditional model on unlabelled data, or networks with the
        wrong signature.
    """
    keras.utils.set_random_seed(config.seed)
    spec = spec or models.get_model(config.model)
    strategy = strategy or tf.distribute.get_strategy()
    config = with_precision(config, strategy)
    if spec.needs_labels and not num_classes:
        kind = "conditional" if spec.conditional else "trains on labels"
        raise ConfigError(
            f"model={config.model} is {kind} and needs labelled data; "
            f"'{config.dataset}' has no class labels",
            "model",
            "dataset",
        )
    _check_replica_packs(config, strategy.num_replicas_in_sync)
    with strategy.scope():
        if generator is None and discriminator is None:
            generator, discriminator = build_networks(config, shape, num_classes, spec)
        else:
            _check_networks(generator, discriminator, config, shape, strategy, spec)
        gan = GAN(
            generator,
            discriminator,
            latent_dim=config.latent_dim,
            num_classes=num_classes if spec.conditional else None,
            seed=config.seed,
            feature_layer=config.feature_layer,
            pack=config.pack,
            latent_distribution=config.latent_distribution,
        )
        d_learning_rate = config.d_learning_rate or config.learning_rate
        plan = Plan(total_steps)
        gan.compile(
            generator_optimizer=make_optimizer(config, config.learning_rate, plan.steps),
            discriminator_optimizer=make_optimizer(
                config, d_learning_rate, plan.steps, per_step=config.n_critic
            ),
            loss=config.loss,
            parts=parts.from_config(config, total_steps),
            n_critic=config.n_critic,
            update=config.update,
            label_smoothing=config.label_smoothing,
            unroll=config.unroll,
            fake_label_smoothing=config.fake_label_smoothing,
            jit_compile=config.jit_compile,
        )
        gan.plan = plan
        return gan
