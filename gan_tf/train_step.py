"""The adversarial train step: one ``tf.function``, GradientTapes, plain locals.

:class:`GAN` holds the two networks, their optimizers, the loss pair, the
penalties and the run's random generator. It knows no variant by name:
anything that maps noise ``[B, latent_dim]`` to samples and samples to
``[B, 1]`` logits trains here (conditional models take ``[inputs, int labels]``).
Only Python constants (:class:`StepOptions`) steer the step, so it traces once
per batch shape. How the step stays correct under ``tf.distribute`` and float16
(per-replica loss scaling, replica-aware random numbers, a shared skip
decision) lives in :mod:`gan_tf.distribute`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import keras
import tensorflow as tf

from gan_tf import augment, distribute, regularizers
from gan_tf.errors import ConfigError
from gan_tf.losses import TAPPED_INPUTS, tapped_layers

__all__ = ["GAN", "StepOptions", "tapped_discriminator"]


@dataclasses.dataclass(frozen=True)
class StepOptions:
    """The constants that shape a train step.

    Attributes:
      n_critic: discriminator updates per generator update, each on a fresh real batch.
      penalties: ``(name, weight, term)`` triples added to the discriminator loss as
        ``weight * term(critic, real, fake, draws)`` (see
        :data:`gan_tf.regularizers.PENALTIES`); each is logged under ``name``.
      clip_value: clip every discriminator weight to ``[-c, c]`` after every
        discriminator update (WGAN); ``None`` = off.
      label_smoothing: one-sided smoothing of the real targets (sigmoid losses only).
      label_flip: probability of swapping the real and fake roles of an example in
        the discriminator update (noisy labels; 0 = off).
      instance_noise: initial std of Gaussian noise added to every discriminator
        input; the loop anneals it (see :meth:`GAN.set_instance_noise`).
      ema_decay: keep an exponential moving average of the generator's weights
        with this decay for sampling (``None`` = off). The decay warms up as in
        ``tf.train.ExponentialMovingAverage`` with ``num_updates``: step ``n``
        uses ``min(ema_decay, (1 + n) / (10 + n))``, so early averages are not
        dominated by the random initial weights.
      sigmoid_outputs: the discriminator outputs logits of probabilities; the
        reported ``d_real``/``d_fake`` are then probabilities, else raw scores.
      generator_uses_real: the generator loss reads ``real_logits`` (relativistic
        losses); otherwise it gets ``real_logits=None`` and no real batch is scored.
      simultaneous: update both networks from one forward pass (generator gradient
        from the pre-update discriminator, as the TF DCGAN tutorial does) instead of
        the default alternating updates (discriminator first, then the generator
        against the updated discriminator on fresh noise). Needs ``n_critic == 1``.
      augment: DiffAugment transformations (:data:`gan_tf.augment.AUGMENTATIONS`)
        applied to every discriminator input, real and fake, in both updates.
      ada_target: adapt the augmentation probability ``augment_p`` after every step
        so that ``E[sign(D(x_real))]`` stays near this target (ADA); ``None``: p = 1.
      ada_rate: how far p moves per step (``batch / (ada_kimg * 1000)``).
      generator_inputs, discriminator_inputs: the keyword inputs beyond the logits
        (:data:`gan_tf.losses.TAPPED_INPUTS`) each loss declares: intermediate
        discriminator layers (``real_features``...) and the real batch's ``labels``.
      feature_layer: the discriminator layer whose output is ``features`` (empty: a
        layer named ``features``, else the input of the last layer).
      historical_averaging: weight of :func:`gan_tf.regularizers.historical_averaging_penalty`
        in both networks' losses (0 = off); the running averages live in the GAN.
    """

    n_critic: int = 1
    penalties: tuple[tuple[str, float, Callable], ...] = ()
    clip_value: float | None = None
    label_smoothing: float = 0.0
    label_flip: float = 0.0
    instance_noise: float = 0.0
    ema_decay: float | None = None
    sigmoid_outputs: bool = True
    generator_uses_real: bool = False
    simultaneous: bool = False
    augment: tuple[str, ...] = ()
    ada_target: float | None = None
    ada_rate: float = 0.0
    generator_inputs: tuple[str, ...] = ()
    discriminator_inputs: tuple[str, ...] = ()
    feature_layer: str = ""
    historical_averaging: float = 0.0


class GAN:
    """A generator, a discriminator, their optimizers and the train step.

    Args:
      generator: noise ``[B, latent_dim]`` (and labels ``[B]``) -> samples; images in ``[-1, 1]``.
      discriminator: samples (and labels) -> ``[B, 1]`` logits (real = 1, fake = 0).
      generator_optimizer, discriminator_optimizer: Keras optimizers (a
        ``keras.optimizers.LossScaleOptimizer`` for float16).
      generator_loss: ``f(*, real_logits, fake_logits) -> scalar``.
      discriminator_loss: ``f(*, real_logits, fake_logits, **kwargs) -> scalar``.
      latent_dim: size of the noise vector.
      num_classes: number of classes for a conditional GAN, else ``None``.
      seed: seeds the run's ``tf.random.Generator`` (checkpointed with the run).
      options: :class:`StepOptions`.
      jit_compile: compile each replica's step with XLA; reading the data iterator
        and the cross-replica work stay outside XLA, as in Keras' own ``fit``.
    """

    def __init__(
        self,
        *,
        generator: keras.Model,
        discriminator: keras.Model,
        generator_optimizer: keras.optimizers.Optimizer,
        discriminator_optimizer: keras.optimizers.Optimizer,
        generator_loss: Callable[..., tf.Tensor],
        discriminator_loss: Callable[..., tf.Tensor],
        latent_dim: int,
        num_classes: int | None = None,
        seed: int = 0,
        options: StepOptions = StepOptions(),
        jit_compile: bool = False,
    ):
        self.generator, self.discriminator = generator, discriminator
        self.generator_optimizer = generator_optimizer
        self.discriminator_optimizer = discriminator_optimizer
        self.generator_loss, self.discriminator_loss = generator_loss, discriminator_loss
        self.latent_dim, self.num_classes, self.options = int(latent_dim), num_classes, options
        self.strategy = tf.distribute.get_strategy()  # the scope the GAN is built in
        self.rng = tf.random.Generator.from_seed(seed)
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        self.instance_noise_std = tf.Variable(
            float(options.instance_noise), trainable=False, name="instance_noise_std"
        )
        self.augment_p = tf.Variable(  # checkpointed: ADA's p continues on resume
            0.0 if options.ada_target is not None else 1.0, trainable=False, name="augment_p"
        )
        self.generator_ema = None
        if options.ema_decay is not None:
            self.generator_ema = _copy(generator)
        taps = tapped_layers(options.generator_inputs + options.discriminator_inputs)
        if taps and self.conditional:
            raise ConfigError(
                "losses that read discriminator layers (feature matching, semi-supervised) "
                "work with unconditional models only",
                "loss",
                "model",
            )
        self._taps = taps
        self._tapped = (
            tapped_discriminator(discriminator, self._taps, options.feature_layer) if taps else None
        )
        # The random state of Keras' noise layers (Dropout, GaussianNoise), so a resumed
        # run draws the noise an uninterrupted one would.
        self.layer_noise_states = tf.Module(name="layer_noise_states")
        self.layer_noise_states.states = [
            variable
            for network in (generator, discriminator)
            for variable in network.non_trainable_variables
            if variable.path.endswith("seed_generator_state")
        ]
        self.historical_averages = None
        if options.historical_averaging:  # the running means, checkpointed with the run
            self.historical_averages = tf.Module(name="historical_averages")
            for name, network in (("generator", generator), ("discriminator", discriminator)):
                setattr(
                    self.historical_averages,
                    name,
                    [
                        tf.Variable(tf.cast(v, tf.float32), trainable=False)
                        for v in network.trainable_variables
                    ],
                )
        # Optimizer slots exist before a checkpoint is restored into them.
        generator_optimizer.build(generator.trainable_variables)
        discriminator_optimizer.build(discriminator.trainable_variables)
        replica_step = self._replica_step
        self._replica_fn = tf.function(replica_step, jit_compile=True) if jit_compile else None
        self.train_step = tf.function(self._train_step)
        self.train_steps = tf.function(self._train_steps)

    @property
    def conditional(self) -> bool:
        return self.num_classes is not None

    @property
    def needs_labels(self) -> bool:
        """The step takes the real batch's labels: a conditional GAN, or a
        discriminator loss that reads them (semi-supervised: -1 = unlabelled)."""
        return self.conditional or "labels" in self.options.discriminator_inputs

    @property
    def metric_names(self) -> tuple[str, ...]:
        """The keys of the dict :meth:`train_step` returns, in a stable order."""
        names = ("discriminator_loss", "generator_loss", "d_real", "d_fake")
        names += tuple(name for name, _, _ in self.options.penalties)
        if self.options.historical_averaging:
            names += ("historical_averaging",)
        if self.options.ada_target is not None:
            names += ("real_sign",)
        return names + (("augment_p",) if self.options.augment else ())

    @property
    def sampling_generator(self) -> keras.Model:
        """The EMA generator when there is one, else the generator."""
        return self.generator_ema if self.generator_ema is not None else self.generator

    def set_instance_noise(self, std: float) -> None:
        """Sets the std of the instance noise for the next steps (the loop anneals it)."""
        self.instance_noise_std.assign(std)

    def generate(self, noise: tf.Tensor, labels: tf.Tensor | None = None) -> tf.Tensor:
        """Samples for ``noise`` (and ``labels``) from :attr:`sampling_generator`, in
        inference mode (batch norm uses its moving statistics)."""
        return self._call(self.sampling_generator, noise, labels, False)

    def _call(self, model, inputs, labels, training):
        if self.conditional:
            return model([inputs, labels], training=training)
        return model(inputs, training=training)

    def _train_step(self, real_samples: tf.Tensor, labels: tf.Tensor | None = None) -> dict:
        """``n_critic`` discriminator updates, then one generator update, on every
        replica of the strategy the GAN was built under.

        Args:
          real_samples: ``n_critic * B`` real examples (per replica: a value of a
            distributed dataset under ``tf.distribute``); each discriminator update
            takes its own ``B`` of them.
          labels: int ``[n_critic * B]`` class ids for a conditional GAN.

        Returns:
          Scalars (see :attr:`metric_names`) of the last discriminator update and
          the generator update, averaged over replicas.
        """
        if labels is None and self.needs_labels:
            raise ConfigError(
                "this GAN's step needs the real batch's labels: call train_step(real, labels)",
                "labels",
            )
        seed = self.rng.make_seeds(1)[:, 0]
        replica_step = self._replica_fn or self._replica_step
        per_replica = self.strategy.run(replica_step, args=(real_samples, labels, seed))
        metrics = {
            key: self.strategy.reduce(tf.distribute.ReduceOp.MEAN, value, axis=None)
            for key, value in per_replica.items()
        }
        if self.options.augment:
            metrics["augment_p"] = tf.identity(self.augment_p)  # the p this step used
        if self.options.ada_target is not None:  # ADA: p follows the overfitting heuristic
            direction = tf.sign(metrics["real_sign"] - self.options.ada_target)
            self.augment_p.assign(
                tf.clip_by_value(self.augment_p + direction * self.options.ada_rate, 0.0, 1.0)
            )
        if self.generator_ema is not None:
            decay = ema_decay(self.options.ema_decay, self.step)
            for average, weight in zip(
                self.generator_ema.weights, self.generator.weights, strict=True
            ):
                average.assign(decay * average + (1.0 - decay) * weight)
        if self.historical_averages is not None:  # the initial weights count as the first
            for name in ("generator", "discriminator"):
                regularizers.update_running_average(
                    getattr(self.historical_averages, name),
                    getattr(self, name).trainable_variables,
                    self.step + 2,
                )
        self.step.assign_add(1)
        return metrics

    def _replica_step(self, real_samples, labels, seed) -> dict:
        """One replica's share of a step: the whole update, as plain locals."""
        options, draws = self.options, distribute.Draws(seed)
        reals = tf.split(real_samples, options.n_critic)
        with_labels = self.needs_labels
        label_batches = tf.split(labels, options.n_critic) if with_labels else None
        smoothing = {}
        if options.sigmoid_outputs and options.label_smoothing:
            smoothing = {"label_smoothing": options.label_smoothing}
        averaging = options.historical_averaging

        def noisy(samples):  # augmentation and instance noise on every discriminator input
            samples = augment.augment(samples, options.augment, draws, self._augment_p())
            if not options.instance_noise:
                return samples
            return samples + self.instance_noise_std * draws.normal(tf.shape(samples))

        def fake_batch(real, y):
            noise = draws.normal(tf.stack([tf.shape(real)[0], self.latent_dim]))
            return self._call(self.generator, noise, y, True)

        def score(x, y):  # logits, and the tapped layers the losses read
            if self._tapped is None:
                return self._call(self.discriminator, x, y, True), {}
            logits, *tapped = self._tapped(x, training=True)
            return logits, dict(zip(self._taps, tapped, strict=True))

        def historical(name):
            network = getattr(self, name)
            return regularizers.historical_averaging_penalty(
                network.trainable_variables, getattr(self.historical_averages, name)
            )

        for index, real in enumerate(reals):
            y = label_batches[index] if with_labels else None
            discriminator = lambda x, y=y: self._call(self.discriminator, x, y, True)  # noqa: E731
            with tf.GradientTape(persistent=options.simultaneous) as tape:
                fake = fake_batch(real, y)
                real_logits, real_taps = score(noisy(real), y)
                fake_logits, fake_taps = score(noisy(fake), y)
                scored_real, scored_fake = real_logits, fake_logits
                if options.label_flip:
                    flip = draws.uniform(tf.shape(real_logits)) < options.label_flip
                    scored_real = tf.where(flip, fake_logits, real_logits)
                    scored_fake = tf.where(flip, real_logits, fake_logits)
                d_loss = self.discriminator_loss(
                    real_logits=scored_real,
                    fake_logits=scored_fake,
                    **smoothing,
                    **_loss_inputs(options.discriminator_inputs, real_taps, fake_taps, y),
                )
                penalties = {
                    name: term(discriminator, real, fake, draws)
                    for name, _, term in options.penalties
                }
                d_total = d_loss + sum(w * penalties[name] for name, w, _ in options.penalties)
                if averaging:
                    d_history = historical("discriminator")
                    d_total += averaging * d_history
                d_scaled = distribute.replica_loss(self.discriminator_optimizer, d_total)
                if options.simultaneous:  # the generator is scored by the pre-update D
                    g_loss = self.generator_loss(
                        real_logits=real_logits if options.generator_uses_real else None,
                        fake_logits=fake_logits,
                        **_loss_inputs(options.generator_inputs, real_taps, fake_taps, y),
                    )
                    g_total = g_loss + (averaging * historical("generator") if averaging else 0)
                    g_scaled = distribute.replica_loss(self.generator_optimizer, g_total)
            if options.simultaneous:
                g_gradients = tape.gradient(g_scaled, self.generator.trainable_variables)
            self._apply(self.discriminator, self.discriminator_optimizer, tape, d_scaled)
            if options.clip_value is not None:
                regularizers.clip_weights(
                    self.discriminator.trainable_variables, options.clip_value
                )
        if options.simultaneous:
            variables = self.generator.trainable_variables
            distribute.apply_gradients(self.generator_optimizer, g_gradients, variables)
        else:  # against the updated discriminator, on fresh noise
            with tf.GradientTape() as tape:
                g_fake_logits, g_fake_taps = score(noisy(fake_batch(real, y)), y)
                g_real_logits, g_real_taps = (
                    score(noisy(real), y) if options.generator_uses_real else (None, {})
                )
                g_loss = self.generator_loss(
                    real_logits=g_real_logits,
                    fake_logits=g_fake_logits,
                    **_loss_inputs(options.generator_inputs, g_real_taps, g_fake_taps, y),
                )
                g_total = g_loss
                if averaging:
                    g_history = historical("generator")
                    g_total += averaging * g_history
                g_scaled = distribute.replica_loss(self.generator_optimizer, g_total)
            self._apply(self.generator, self.generator_optimizer, tape, g_scaled)
        to_score = tf.sigmoid if options.sigmoid_outputs else tf.identity
        metrics = {
            "discriminator_loss": d_loss,
            "generator_loss": g_loss,
            "d_real": tf.reduce_mean(to_score(tf.cast(real_logits, tf.float32))),
            "d_fake": tf.reduce_mean(to_score(tf.cast(fake_logits, tf.float32))),
        }
        if options.ada_target is not None:
            metrics["real_sign"] = tf.reduce_mean(tf.sign(tf.cast(real_logits, tf.float32)))
        if averaging:  # the discriminator's before its update, the generator's before its own
            metrics["historical_averaging"] = d_history + (
                historical("generator") if options.simultaneous else g_history
            )
        return {**metrics, **penalties}

    def _augment_p(self):
        return self.augment_p if self.options.ada_target is not None else 1.0

    @staticmethod
    def _apply(network, optimizer, tape, scaled_loss) -> None:
        variables = network.trainable_variables
        distribute.apply_gradients(optimizer, tape.gradient(scaled_loss, variables), variables)

    def _train_steps(self, iterator, count: int) -> dict:
        """``count`` train steps on the next ``count`` batches of ``iterator`` in one
        call (``--steps_per_call``: less Python overhead; the steps are unrolled).

        Args:
          iterator: an iterator over batches (``real`` or ``(real, labels)``), of a
            ``tf.data.Dataset`` or of a distributed dataset.
          count: how many steps (a Python int; each value traces once).

        Returns:
          Each of :attr:`metric_names` as a ``[count]`` tensor, one value per step.
        """
        per_step = []
        for _ in range(count):
            batch = next(iterator)
            per_step.append(self._train_step(*(batch if isinstance(batch, tuple) else (batch,))))
        return {key: tf.stack([m[key] for m in per_step]) for key in per_step[0]}

    def checkpoint_objects(self, **extra) -> dict:
        """What a checkpoint of the GAN holds, by name: both networks (and the EMA
        generator), both optimizers, the step, the RNG (and ADA's p), plus ``extra``."""
        if self.generator_ema is not None:
            extra["generator_ema"] = self.generator_ema
        if self.options.augment:
            extra["augment_p"] = self.augment_p
        if self.historical_averages is not None:
            extra["historical_averages"] = self.historical_averages
        if self.layer_noise_states.states:
            extra["layer_noise_states"] = self.layer_noise_states
        return {
            "generator": self.generator,
            "discriminator": self.discriminator,
            "generator_optimizer": self.generator_optimizer,
            "discriminator_optimizer": self.discriminator_optimizer,
            "step": self.step,
            "rng": self.rng,
            **extra,
        }

    def checkpoint(self, **extra) -> tf.train.Checkpoint:
        """A ``tf.train.Checkpoint`` of :meth:`checkpoint_objects`."""
        return tf.train.Checkpoint(**self.checkpoint_objects(**extra))


def _loss_inputs(names, real_taps: dict, fake_taps: dict, labels) -> dict:
    """The keyword inputs ``names`` a loss declared, from the tapped layers of the real
    and the fake batch and the real batch's labels."""
    inputs = {}
    for name in names:
        tap = TAPPED_INPUTS[name]
        if tap == "labels":
            inputs[name] = labels
        else:
            inputs[name] = (real_taps if name.startswith("real_") else fake_taps)[tap]
    return inputs


def tapped_discriminator(
    discriminator: keras.Model, taps: tuple[str, ...], feature_layer: str = ""
) -> keras.Model:
    """A model sharing ``discriminator``'s layers that returns its logits and the
    outputs of the layers ``taps`` names: ``"features"`` is the layer
    ``feature_layer`` (default: one named ``features``, else the input of the last
    layer with weights, e.g. DCGAN's flattened last feature maps); any other tap is
    the layer of that name (``"class_logits"``).

    Raises:
      ConfigError: a subclassed discriminator (no layer graph to read), or no layer
        of the name (the message lists the layers).
    """
    try:
        inputs = discriminator.inputs
        names = [layer.name for layer in discriminator.layers]
        outputs = []
        for tap in taps:
            name = feature_layer if tap == "features" else tap
            if tap == "features" and not name:
                if "features" in names:
                    outputs.append(discriminator.get_layer("features").output)
                else:  # the input of the logit layer (the last one with weights)
                    weighted = [layer for layer in discriminator.layers if layer.weights]
                    outputs.append(weighted[-1].input)
                continue
            if name not in names:
                raise ConfigError(
                    f"the discriminator has no layer '{name}'; its layers are: {', '.join(names)}",
                    "feature_layer" if tap == "features" else "model",
                )
            outputs.append(discriminator.get_layer(name).output)
        return keras.Model(inputs, [discriminator.outputs[0], *outputs])
    except (AttributeError, ValueError) as error:
        reason = str(error).strip().splitlines()[0][:120] if str(error).strip() else "no graph"
        raise ConfigError(
            f"reading the discriminator's layers needs a Sequential or functional model "
            f"({reason}); use one, or another loss",
            "loss",
        ) from None


def ema_decay(decay: float, step: tf.Tensor) -> tf.Tensor:
    """The EMA decay used after ``step`` earlier updates: ``min(decay, (1 + step) /
    (10 + step))`` (warm-up of ``tf.train.ExponentialMovingAverage``'s ``num_updates``)."""
    step = tf.cast(step, tf.float32)
    return tf.minimum(tf.constant(decay, tf.float32), (1.0 + step) / (10.0 + step))


def _copy(network: keras.Model) -> keras.Model:
    """A copy of ``network`` with its weights (the EMA generator).

    Raises:
      ConfigError: ``keras.models.clone_model`` cannot copy it (a subclassed model
        without ``get_config``).
    """
    try:
        copy = keras.models.clone_model(network)
    except (TypeError, ValueError, NotImplementedError) as error:
        reason = str(error).strip().splitlines()[0][:120]
        raise ConfigError(
            f"ema needs a generator keras.models.clone_model can copy ({reason}); use a "
            "Sequential or functional model, or ema=0",
            "ema",
        ) from None
    copy.set_weights(network.get_weights())
    return copy
