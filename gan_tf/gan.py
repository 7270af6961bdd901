"""The adversarial train step: one ``tf.function``, one GradientTape per network update.

:class:`GAN` owns the two networks, their optimizers, the loss pair, the
regularizers and the run's random generator. It knows no variant by name:
anything that builds a generator ``[B, latent_dim] -> [B, ...]`` and a
discriminator ``[B, ...] -> [B, 1]`` logits trains here (conditional models
take ``[inputs, int labels]`` instead). Only Python constants (``StepOptions``)
steer the step's control flow, so it traces once per batch shape.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import keras
import tensorflow as tf

from gan_tf import regularizers

__all__ = ["GAN", "StepOptions"]


@dataclasses.dataclass(frozen=True)
class StepOptions:
    """The constants that shape a train step.

    Attributes:
      n_critic: discriminator updates per generator update, each on a fresh real batch.
      gp_weight: weight of the WGAN-GP gradient penalty (0 = off).
      clip_value: clip every discriminator weight to ``[-c, c]`` after every
        discriminator update (WGAN); ``None`` = off.
      label_smoothing: one-sided smoothing of the real targets (sigmoid losses only).
      label_flip: probability of swapping the real and fake roles of an example in
        the discriminator update (noisy labels; 0 = off).
      instance_noise: initial std of Gaussian noise added to every discriminator
        input; the loop anneals it (see :meth:`GAN.set_instance_noise`).
      ema_decay: keep an exponential moving average of the generator's weights
        with this decay for sampling (``None`` = off).
      sigmoid_outputs: the discriminator outputs logits of probabilities; the
        reported ``d_real``/``d_fake`` are then probabilities, else raw scores.
      simultaneous: update both networks from one forward pass (generator gradient
        from the pre-update discriminator, as the TF DCGAN tutorial does) instead of
        the default alternating updates (discriminator first, then the generator
        against the updated discriminator on fresh noise). Needs ``n_critic == 1``.
    """

    n_critic: int = 1
    gp_weight: float = 0.0
    clip_value: float | None = None
    label_smoothing: float = 0.0
    label_flip: float = 0.0
    instance_noise: float = 0.0
    ema_decay: float | None = None
    sigmoid_outputs: bool = True
    simultaneous: bool = False


class GAN:
    """A generator, a discriminator, their optimizers and the train step.

    Args:
      generator: noise ``[B, latent_dim]`` (and labels ``[B]``) -> samples; images in ``[-1, 1]``.
      discriminator: samples (and labels) -> ``[B, 1]`` logits (real = 1, fake = 0).
      generator_optimizer, discriminator_optimizer: Keras optimizers (a
        ``keras.optimizers.LossScaleOptimizer`` for float16: the step scales each
        loss with ``scale_loss`` and ``apply_gradients`` unscales).
      generator_loss: ``f(*, fake_logits) -> scalar``.
      discriminator_loss: ``f(*, real_logits, fake_logits, **kwargs) -> scalar``.
      latent_dim: size of the noise vector.
      num_classes: number of classes for a conditional GAN, else ``None``.
      seed: seeds the run's ``tf.random.Generator`` (checkpointed with the run).
      options: :class:`StepOptions`.
      jit_compile: compile each replica's step with XLA (``tf.function(jit_compile=True)``);
        reading the data iterator and the cross-replica work stay outside XLA, as in
        Keras' own ``fit``.
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
        self.generator = generator
        self.discriminator = discriminator
        self.generator_optimizer = generator_optimizer
        self.discriminator_optimizer = discriminator_optimizer
        self.generator_loss = generator_loss
        self.discriminator_loss = discriminator_loss
        self.latent_dim = int(latent_dim)
        self.num_classes = num_classes
        self.options = options
        self.strategy = tf.distribute.get_strategy()  # the scope the GAN is built in
        self.rng = tf.random.Generator.from_seed(seed)
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        self.instance_noise_std = tf.Variable(
            float(options.instance_noise), trainable=False, name="instance_noise_std"
        )
        self.generator_ema = None
        if options.ema_decay is not None:
            self.generator_ema = keras.models.clone_model(generator)
            self.generator_ema.set_weights(generator.get_weights())
        # Optimizer slots exist before a checkpoint is restored into them.
        generator_optimizer.build(generator.trainable_variables)
        discriminator_optimizer.build(discriminator.trainable_variables)
        self._replica_fn = self._replica_step
        if jit_compile:
            self._replica_fn = tf.function(self._replica_step, jit_compile=True)
        self.train_step = tf.function(self._train_step)
        self.train_steps = tf.function(self._train_steps)

    @property
    def conditional(self) -> bool:
        return self.num_classes is not None

    @property
    def metric_names(self) -> tuple[str, ...]:
        """The keys of the dict :meth:`train_step` returns, in a stable order."""
        names = ("discriminator_loss", "generator_loss", "d_real", "d_fake")
        return names + (("gradient_penalty",) if self.options.gp_weight else ())

    @property
    def sampling_generator(self) -> keras.Model:
        """The EMA generator when there is one, else the generator."""
        return self.generator_ema if self.generator_ema is not None else self.generator

    def noise(self, batch_size) -> tf.Tensor:
        """Draws ``[batch_size, latent_dim]`` standard normal noise from the run's generator
        (for sampling outside the train step)."""
        return self.rng.normal([batch_size, self.latent_dim])

    def set_instance_noise(self, std: float) -> None:
        """Sets the std of the instance noise for the next steps (the loop anneals it)."""
        self.instance_noise_std.assign(std)

    def _call(self, model, inputs, labels, training):
        if self.conditional:
            return model([inputs, labels], training=training)
        return model(inputs, training=training)

    def _noisy(self, samples, draws):
        if not self.options.instance_noise:
            return samples
        return samples + self.instance_noise_std * draws.normal(tf.shape(samples))

    def _train_step(self, real_samples: tf.Tensor, labels: tf.Tensor | None = None) -> dict:
        """``n_critic`` discriminator updates, then one generator update, on every
        replica of the strategy the GAN was built under.

        Args:
          real_samples: ``n_critic * B`` real examples (per replica: a value of a
            distributed dataset under ``tf.distribute``); each discriminator update
            takes its own ``B`` of them. Noise batches follow ``B``, so a short last
            batch is fine.
          labels: int ``[n_critic * B]`` class ids for a conditional GAN.

        Returns:
          Scalars (see :attr:`metric_names`) of the last discriminator update and
          the generator update, averaged over replicas.
        """
        seed = self.rng.make_seeds(1)[:, 0]
        per_replica = self.strategy.run(self._replica_fn, args=(real_samples, labels, seed))
        metrics = {
            key: self.strategy.reduce(tf.distribute.ReduceOp.MEAN, value, axis=None)
            for key, value in per_replica.items()
        }
        if self.generator_ema is not None:
            decay = self.options.ema_decay
            for average, weight in zip(
                self.generator_ema.weights, self.generator.weights, strict=True
            ):
                average.assign(decay * average + (1.0 - decay) * weight)
        self.step.assign_add(1)
        return metrics

    def _replica_step(self, real_samples, labels, seed) -> dict:
        draws = _Draws(seed)
        n_critic = self.options.n_critic
        chunks = tf.split(real_samples, n_critic) if n_critic > 1 else [real_samples]
        label_chunks = [None] * n_critic
        if self.conditional:
            label_chunks = tf.split(labels, n_critic) if n_critic > 1 else [labels]
        if self.options.simultaneous:
            return self._simultaneous_update(chunks[0], label_chunks[0], draws)
        for real, real_labels in zip(chunks, label_chunks, strict=True):
            metrics = self._discriminator_update(real, real_labels, draws)
        metrics["generator_loss"] = self._generator_update(
            tf.shape(chunks[-1])[0], label_chunks[-1], draws
        )
        return metrics

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

    def _scaled(self, optimizer, loss):
        """The loss to differentiate: divided by the number of replicas (the
        optimizer sums their gradients, so the update follows the mean over the
        global batch) and loss-scaled for float16."""
        replicas = self.strategy.num_replicas_in_sync
        if replicas > 1:
            loss = loss / replicas
        return optimizer.scale_loss(loss)

    def _apply(self, optimizer, gradients, variables) -> None:
        if self.strategy.num_replicas_in_sync > 1 and isinstance(
            optimizer, keras.optimizers.LossScaleOptimizer
        ):
            gradients = _agree_on_finiteness(gradients)
        optimizer.apply_gradients(zip(gradients, variables, strict=True))

    def _discriminator_objective(self, real, fake, labels, draws) -> dict:
        """The discriminator's loss on ``real`` and ``fake`` (label flips, smoothing and
        the gradient penalty applied), to be called inside a GradientTape."""
        options = self.options
        real_logits = self._call(self.discriminator, self._noisy(real, draws), labels, True)
        fake_logits = self._call(self.discriminator, self._noisy(fake, draws), labels, True)
        scored_real, scored_fake = real_logits, fake_logits
        if options.label_flip:
            flip = draws.uniform(tf.shape(real_logits)) < options.label_flip
            scored_real = tf.where(flip, fake_logits, real_logits)
            scored_fake = tf.where(flip, real_logits, fake_logits)
        kwargs = {"label_smoothing": options.label_smoothing} if options.sigmoid_outputs else {}
        loss = self.discriminator_loss(real_logits=scored_real, fake_logits=scored_fake, **kwargs)
        result = {"loss": loss, "total": loss, "real_logits": real_logits}
        result["fake_logits"] = fake_logits
        if options.gp_weight:
            result["penalty"] = regularizers.gradient_penalty(
                lambda x: self._call(self.discriminator, x, labels, True),
                real,
                tf.stop_gradient(fake),
                draws.uniform([tf.shape(real)[0]]),
            )
            result["total"] = loss + options.gp_weight * result["penalty"]
        return result

    def _apply_discriminator(self, tape, objective) -> dict:
        """Applies the discriminator gradients (then clips); returns its metrics."""
        options = self.options
        variables = self.discriminator.trainable_variables
        gradients = tape.gradient(objective["scaled"], variables)
        self._apply(self.discriminator_optimizer, gradients, variables)
        if options.clip_value is not None:
            regularizers.clip_weights(variables, options.clip_value)
        to_score = tf.sigmoid if options.sigmoid_outputs else tf.identity
        metrics = {
            "discriminator_loss": objective["loss"],
            "d_real": tf.reduce_mean(to_score(tf.cast(objective["real_logits"], tf.float32))),
            "d_fake": tf.reduce_mean(to_score(tf.cast(objective["fake_logits"], tf.float32))),
        }
        if options.gp_weight:
            metrics["gradient_penalty"] = objective["penalty"]
        return metrics

    def _noise(self, batch_size, draws) -> tf.Tensor:
        return draws.normal(tf.stack([batch_size, self.latent_dim]))

    def _discriminator_update(self, real, labels, draws) -> dict:
        fake = self._call(self.generator, self._noise(tf.shape(real)[0], draws), labels, True)
        with tf.GradientTape() as tape:
            objective = self._discriminator_objective(real, fake, labels, draws)
            objective["scaled"] = self._scaled(self.discriminator_optimizer, objective["total"])
        return self._apply_discriminator(tape, objective)

    def _simultaneous_update(self, real, labels, draws) -> dict:
        """One forward pass, both updates (the TF DCGAN tutorial's scheme): the generator
        gets its gradient from the discriminator *before* this step's update."""
        with tf.GradientTape() as generator_tape, tf.GradientTape() as discriminator_tape:
            fake = self._call(self.generator, self._noise(tf.shape(real)[0], draws), labels, True)
            objective = self._discriminator_objective(real, fake, labels, draws)
            objective["scaled"] = self._scaled(self.discriminator_optimizer, objective["total"])
            generator_loss = self.generator_loss(fake_logits=objective["fake_logits"])
            scaled = self._scaled(self.generator_optimizer, generator_loss)
        variables = self.generator.trainable_variables
        generator_gradients = generator_tape.gradient(scaled, variables)
        metrics = self._apply_discriminator(discriminator_tape, objective)
        self._apply(self.generator_optimizer, generator_gradients, variables)
        return {**metrics, "generator_loss": generator_loss}

    def _generator_update(self, batch_size, labels, draws) -> tf.Tensor:
        with tf.GradientTape() as tape:
            fake = self._call(self.generator, self._noise(batch_size, draws), labels, True)
            fake_logits = self._call(self.discriminator, self._noisy(fake, draws), labels, True)
            loss = self.generator_loss(fake_logits=fake_logits)
            scaled = self._scaled(self.generator_optimizer, loss)
        variables = self.generator.trainable_variables
        self._apply(self.generator_optimizer, tape.gradient(scaled, variables), variables)
        return loss

    def generate(self, noise: tf.Tensor, labels: tf.Tensor | None = None) -> tf.Tensor:
        """Samples for ``noise`` (and ``labels``) from :attr:`sampling_generator`, in
        inference mode (batch norm uses its moving statistics)."""
        return self._call(self.sampling_generator, noise, labels, False)

    def checkpoint(self, **extra) -> tf.train.Checkpoint:
        """A ``tf.train.Checkpoint`` of both networks (and the EMA generator), both
        optimizers, the step and the RNG."""
        if self.generator_ema is not None:
            extra["generator_ema"] = self.generator_ema
        return tf.train.Checkpoint(
            generator=self.generator,
            discriminator=self.discriminator,
            generator_optimizer=self.generator_optimizer,
            discriminator_optimizer=self.discriminator_optimizer,
            step=self.step,
            rng=self.rng,
            **extra,
        )


def _agree_on_finiteness(gradients):
    """Makes every replica's gradients non-finite when any replica's are.

    Keras' ``LossScaleOptimizer`` decides whether to skip a step (float16
    overflow) from the first replica's gradients *before* they are summed over
    replicas, so an overflow on another replica would slip into the update and
    turn the weights into NaN. One scalar all-reduce makes the replicas agree.
    """
    context = tf.distribute.get_replica_context()
    bad = [
        tf.reduce_sum(tf.cast(tf.logical_not(tf.math.is_finite(g)), tf.float32))
        for g in gradients
        if g is not None
    ]
    bad = context.all_reduce(tf.distribute.ReduceOp.SUM, tf.add_n(bad))
    poison = tf.where(bad > 0, float("nan"), 1.0)
    return [None if g is None else g * tf.cast(poison, g.dtype) for g in gradients]


class _Draws:
    """The random numbers of one train step, from stateless ops.

    Every replica draws the same *global* tensor (first dimension times the
    number of replicas) from the step's seed and keeps slice number
    ``replica_id_in_sync_group``. On one machine (MirroredStrategy, TPU) and with
    one replica per worker that is the slice matching the replica's share of the
    global data batch, so a step uses exactly the noise the single-device step
    would use on the same global batch. With several workers of several replicas
    each, ``tf.data`` deals the shares out worker-interleaved, so noise meets
    other examples than on one device (statistically the same step). Nothing
    depends on thread scheduling.
    """

    def __init__(self, seed: tf.Tensor):
        self.seed, self.count = seed, 0

    def _draw(self, sample, shape):
        self.count += 1  # trace-time counter: the n-th draw of the step
        seed = tf.random.experimental.stateless_fold_in(self.seed, self.count)
        context = tf.distribute.get_replica_context()
        replicas = context.num_replicas_in_sync
        if replicas == 1:
            return sample(shape, seed=seed)
        shape = tf.convert_to_tensor(shape)
        local = shape[0]
        full = sample(tf.concat([[local * replicas], shape[1:]], 0), seed=seed)
        start = tf.cast(context.replica_id_in_sync_group, local.dtype) * local
        return full[start : start + local]

    def normal(self, shape) -> tf.Tensor:
        """Standard normal float32 of this replica's ``shape``."""
        return self._draw(tf.random.stateless_normal, shape)

    def uniform(self, shape) -> tf.Tensor:
        """Uniform [0, 1) float32 of this replica's ``shape``."""
        return self._draw(tf.random.stateless_uniform, shape)
