"""The adversarial train step: one ``tf.function``, one GradientTape per network.

:class:`GAN` owns the two networks, their optimizers, the loss pair and the
run's random generator. It knows no variant by name: anything that builds a
generator ``[B, latent_dim] -> [B, H, W, C]`` and a discriminator
``[B, H, W, C] -> [B, 1]`` logits trains here.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import tensorflow as tf

__all__ = ["GAN"]


class GAN:
    """A generator, a discriminator, their optimizers and the train step.

    Args:
      generator: noise ``[B, latent_dim]`` -> images in ``[-1, 1]``.
      discriminator: images -> ``[B, 1]`` logits (real = 1, fake = 0).
      generator_optimizer: a Keras optimizer for the generator.
      discriminator_optimizer: a Keras optimizer for the discriminator.
      generator_loss: ``f(*, fake_logits) -> scalar``.
      discriminator_loss: ``f(*, real_logits, fake_logits, **kwargs) -> scalar``.
      latent_dim: size of the noise vector.
      seed: seeds the run's ``tf.random.Generator`` (checkpointed with the run).
      discriminator_loss_kwargs: constant keyword arguments for the
        discriminator loss (e.g. ``{"label_smoothing": 0.1}``).
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
        seed: int = 0,
        discriminator_loss_kwargs: dict | None = None,
    ):
        self.generator = generator
        self.discriminator = discriminator
        self.generator_optimizer = generator_optimizer
        self.discriminator_optimizer = discriminator_optimizer
        self.generator_loss = generator_loss
        self.discriminator_loss = discriminator_loss
        self.discriminator_loss_kwargs = dict(discriminator_loss_kwargs or {})
        self.latent_dim = int(latent_dim)
        self.rng = tf.random.Generator.from_seed(seed)
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        # Optimizer slots exist before a checkpoint is restored into them.
        generator_optimizer.build(generator.trainable_variables)
        discriminator_optimizer.build(discriminator.trainable_variables)
        self.train_step = tf.function(self._train_step)

    def noise(self, batch_size) -> tf.Tensor:
        """Draws ``[batch_size, latent_dim]`` standard normal noise from the run's generator."""
        return self.rng.normal([batch_size, self.latent_dim])

    def _train_step(self, real_images: tf.Tensor) -> dict[str, tf.Tensor]:
        """One discriminator update, then one generator update.

        The noise batch follows the real batch, so a short last batch is fine.

        Returns:
          Scalars: ``discriminator_loss``, ``generator_loss``, ``d_real`` (mean
          D(x) as a probability) and ``d_fake`` (mean D(G(z)) before the update).
        """
        batch_size = tf.shape(real_images)[0]
        noise = self.noise(batch_size)
        with tf.GradientTape() as tape:
            fake_images = self.generator(noise, training=True)
            real_logits = self.discriminator(real_images, training=True)
            fake_logits = self.discriminator(fake_images, training=True)
            discriminator_loss = self.discriminator_loss(
                real_logits=real_logits, fake_logits=fake_logits, **self.discriminator_loss_kwargs
            )
        variables = self.discriminator.trainable_variables
        self.discriminator_optimizer.apply_gradients(
            zip(tape.gradient(discriminator_loss, variables), variables, strict=True)
        )

        noise = self.noise(batch_size)
        with tf.GradientTape() as tape:
            fake_logits_for_generator = self.discriminator(
                self.generator(noise, training=True), training=True
            )
            generator_loss = self.generator_loss(fake_logits=fake_logits_for_generator)
        variables = self.generator.trainable_variables
        self.generator_optimizer.apply_gradients(
            zip(tape.gradient(generator_loss, variables), variables, strict=True)
        )
        self.step.assign_add(1)
        return {
            "discriminator_loss": discriminator_loss,
            "generator_loss": generator_loss,
            "d_real": tf.reduce_mean(tf.sigmoid(tf.cast(real_logits, tf.float32))),
            "d_fake": tf.reduce_mean(tf.sigmoid(tf.cast(fake_logits, tf.float32))),
        }

    def generate(self, noise: tf.Tensor) -> tf.Tensor:
        """Images in ``[-1, 1]`` for ``noise`` (inference mode: batch norm uses moving stats)."""
        return self.generator(noise, training=False)

    def checkpoint(self, **extra) -> tf.train.Checkpoint:
        """A ``tf.train.Checkpoint`` of both networks, both optimizers, the step and the RNG."""
        return tf.train.Checkpoint(
            generator=self.generator,
            discriminator=self.discriminator,
            generator_optimizer=self.generator_optimizer,
            discriminator_optimizer=self.discriminator_optimizer,
            step=self.step,
            rng=self.rng,
            **extra,
        )
