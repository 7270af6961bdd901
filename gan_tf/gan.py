"""The GAN as a ``keras.Model``: two networks, their optimizers and a train step made of parts.

Build it from any generator and discriminator, ``compile`` it with two optimizers,
a loss pair and the step's :mod:`parts <gan_tf.parts>`, and train it with
``fit(dataset, callbacks=[...])`` like any Keras model (keras-io's GAN pattern)::

    gan = GAN(generator, discriminator, latent_dim=128)
    gan.compile(generator_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
                discriminator_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
                loss="non_saturating")
    gan.fit(images, epochs=10, callbacks=[keras.callbacks.CSVLogger("log.csv")])

:func:`gan_tf.train` trains the same object in a managed run directory. The
step knows no variant and no trick by name: the loss pair and the parts are
Python objects chosen before tracing, so it traces once per batch shape. How it
stays correct under ``tf.distribute`` and float16 (per-replica loss scaling,
replica-aware random numbers, a shared skip decision) lives in :mod:`gan_tf.distribute`.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from gan_tf import distribute, losses, unroll
from gan_tf.config import LATENT_DISTRIBUTIONS, UPDATES
from gan_tf.data import user
from gan_tf.errors import CheckpointError, ConfigError
from gan_tf.losses import TAPPED_INPUTS, LossPair
from gan_tf.packing import pack_samples
from gan_tf.parts import Part, Update

__all__ = ["GAN", "latent_noise", "tapped_discriminator"]

BASE_METRICS = ("discriminator_loss", "generator_loss", "d_real", "d_fake")


class GAN(keras.Model):
    """A generator, a discriminator and the adversarial train step, as a ``keras.Model``.

    Args:
      generator: noise ``[B, latent_dim]`` (and int labels ``[B]`` when
        ``num_classes``) -> samples; images in ``[-1, 1]``.
      discriminator: samples (and labels) -> ``[B, 1]`` logits (real = 1, fake = 0).
      latent_dim: size of the noise vector (default: the generator's input width).
      num_classes: classes of a conditional GAN (networks take ``[x, labels]``), else ``None``.
      seed: the step's random numbers are stateless functions of ``(seed, step)``,
        so a restored step counter continues the exact random stream.
      feature_layer: the discriminator layer losses that read ``features`` get
        (empty: a layer named ``features``, else the input of the last layer).
      pack: PacGAN (Lin et al., 2018): the discriminator judges packs of ``pack``
        samples, all real or all generated, concatenated along the last axis
        (:mod:`gan_tf.packing`); build it for that wider input. Each update's
        batch must be a multiple of ``pack``. Unconditional GANs only.
      latent_distribution: ``"normal"`` (N(0, 1) noise) or ``"uniform"`` (uniform
        in [-1, 1]), for training and :meth:`generate` (see :meth:`noise`).

    Attributes:
      generator_ema: the EMA generator (:class:`gan_tf.parts.EMA`), else ``None``.
      step: the number of train steps done (a non-trainable weight).
    """

    def __init__(
        self,
        generator: keras.Model,
        discriminator: keras.Model,
        *,
        latent_dim: int | None = None,
        num_classes: int | None = None,
        seed: int = 0,
        feature_layer: str = "",
        pack: int = 1,
        latent_distribution: str = "normal",
        name: str = "gan",
    ):
        super().__init__(name=name)
        self.latent_distribution = _checked_distribution(latent_distribution)
        self.generator, self.discriminator = generator, discriminator
        self.latent_dim = int(latent_dim or _input_width(generator))
        self.num_classes, self.seed, self.feature_layer = num_classes, int(seed), feature_layer
        self.pack = int(pack)
        if self.pack < 1 or (self.pack > 1 and num_classes is not None):
            raise ConfigError(
                f"pack must be >= 1 and 1 for a conditional GAN (its discriminator judges "
                f"one sample with its label), got pack={pack}",
                "pack",
            )
        self.generator_ema = None
        self.step = self.add_weight(
            shape=(), initializer="zeros", dtype="int64", trainable=False, name="step"
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
        self.parts, self.n_critic, self.update_scheme, self.unroll = (), 1, "alternating", 0
        self.built = True

    def compile(
        self,
        generator_optimizer: keras.optimizers.Optimizer,
        discriminator_optimizer: keras.optimizers.Optimizer,
        loss: str | LossPair = "non_saturating",
        *,
        parts=(),
        n_critic: int = 1,
        update: str = "alternating",
        label_smoothing: float = 0.0,
        fake_label_smoothing: float = 0.0,
        unroll: int = 0,
        jit_compile: bool = False,
        steps_per_execution: int = 1,
        run_eagerly: bool = False,
    ) -> None:
        """Sets up the step.

        Args:
          generator_optimizer, discriminator_optimizer: Keras optimizers (a
            ``keras.optimizers.LossScaleOptimizer`` for float16).
          loss: a name of :data:`gan_tf.losses.LOSSES` or a :class:`~gan_tf.losses.LossPair`.
          parts: :class:`gan_tf.parts.Part` objects (penalties, augmentation, EMA...),
            applied in this order.
          n_critic: discriminator updates per generator update, each on its own
            ``B`` of a batch of ``n_critic * B`` real examples.
          update: the order of the two updates (:data:`gan_tf.config.UPDATES`).
            ``"alternating"``: D's update, then G's against the updated D on fresh
            noise. ``"reuse"``: the same order on one generator pass: G's update
            scores the fakes D's update saw with the updated D and backpropagates
            through the kept pass (the PyTorch DCGAN example's step; one generator
            forward pass fewer a step). ``"simultaneous"``: both from one forward
            pass, the generator's gradient from the pre-update discriminator (the TF
            DCGAN tutorial), which needs ``n_critic == 1``. With ``n_critic > 1``,
            ``"reuse"`` shares the pass of the last D update.
          label_smoothing: one-sided smoothing of the real targets (cross-entropy losses).
          fake_label_smoothing: the fake targets become this instead of 0 (two-sided
            smoothing, together with ``label_smoothing``; cross-entropy losses).
          unroll: Unrolled GAN (Metz et al., 2017): the generator's loss is taken
            against the discriminator ``unroll`` updates ahead, differentiating
            through those updates (:mod:`gan_tf.unroll`; 0 = off).
          jit_compile: compile each replica's update with XLA (the data and the
            cross-replica work stay outside, as in Keras' own ``fit``).
          steps_per_execution, run_eagerly: as in ``keras.Model.compile``.

        Raises:
          ConfigError: an unknown ``update``, ``simultaneous`` with ``n_critic > 1``, a
            loss reading discriminator layers of a conditional or subclassed discriminator, or
            ``unroll`` with what it cannot unroll (see :meth:`_check_unroll`).
        """
        super().compile(
            optimizer=None, steps_per_execution=steps_per_execution, run_eagerly=run_eagerly,
            jit_compile=False,
        )  # fmt: skip
        _check_update(update, n_critic)
        self.generator_optimizer = generator_optimizer
        self.discriminator_optimizer = discriminator_optimizer
        self.loss_pair = losses.get_loss(loss) if isinstance(loss, str) else loss
        smoothing = {
            "label_smoothing": label_smoothing,
            "fake_label_smoothing": fake_label_smoothing,
        }
        self._smoothing = {key: value for key, value in smoothing.items() if value}
        self.n_critic, self.update_scheme = int(n_critic), update
        self._set_taps()
        self.parts = tuple(parts)
        self.unroll = int(unroll)
        self._check_unroll()
        for part in self.parts:
            part.build(self)
        # optimizer slots exist before a checkpoint is restored into them
        generator_optimizer.build(self.generator.trainable_variables)
        discriminator_optimizer.build(self.discriminator.trainable_variables)
        self._trackers = [keras.metrics.Mean(name=name) for name in self.metric_names]
        self._update_fn = tf.function(self._update, jit_compile=True) if jit_compile else None
        self.run_step = tf.function(self._run_step)
        self._single_call = tf.function(self._single_step)
        self._looped_call = tf.function(self._looped_steps)

    def _set_taps(self) -> None:
        taps = self.loss_pair.taps
        if taps and self.conditional:
            raise ConfigError(
                "losses that read discriminator layers (feature matching, semi-supervised) "
                "work with unconditional models only",
                "loss",
                "model",
            )
        self._taps = taps
        model = tapped_discriminator(self.discriminator, taps, self.feature_layer) if taps else None
        self._tapped = _Untracked(model)  # shares the discriminator's weights: saved once

    def _check_unroll(self) -> None:
        """Unrolling restates the discriminator's loss and optimizer rule; it refuses
        what it would leave out rather than unroll a different objective."""
        if not self.unroll:
            return
        termed = [
            type(part).__name__
            for part in self.parts
            if type(part).discriminator_term is not Part.discriminator_term
            or type(part).after_discriminator_update is not Part.after_discriminator_update
        ]
        problem = (
            "a negative count" if self.unroll < 0
            else "simultaneous updates" if self.simultaneous
            else "losses that read discriminator layers" if self._taps
            else f"discriminator terms or hooks ({', '.join(termed)})" if termed
            else None
        )  # fmt: skip
        if problem:
            raise ConfigError(
                f"unroll={self.unroll} cannot be combined with {problem}; use unroll >= 0 "
                "with alternating updates and a plain loss pair",
                "unroll",
            )
        unroll.check_optimizer(self.discriminator_optimizer)

    @property
    def conditional(self) -> bool:
        return self.num_classes is not None

    @property
    def simultaneous(self) -> bool:
        """Both updates come from one forward pass (``update="simultaneous"``)."""
        return self.update_scheme == "simultaneous"

    @property
    def needs_labels(self) -> bool:
        """The step takes the real batch's labels: a conditional GAN, or a
        discriminator loss that reads them (semi-supervised: -1 = unlabelled)."""
        return self.conditional or "labels" in self.loss_pair.discriminator_inputs

    @property
    def metric_names(self) -> tuple[str, ...]:
        """The keys of the step's metrics, in a stable order."""
        return BASE_METRICS + tuple(name for part in self.parts for name in part.metric_names())

    @property
    def metrics(self) -> list:
        """The ``keras.metrics.Mean`` trackers ``fit`` reports and resets each epoch."""
        return list(getattr(self, "_trackers", []))

    @property
    def strategy(self) -> tf.distribute.Strategy:
        """The ``tf.distribute`` strategy the GAN was built under."""
        return self.distribute_strategy

    @property
    def sampling_generator(self) -> keras.Model:
        """The EMA generator when there is one, else the generator."""
        return self.generator_ema if self.generator_ema is not None else self.generator

    def noise(self, shape, draws=None, seed: int | None = None) -> tf.Tensor:
        """Latent noise of ``shape`` from :attr:`latent_distribution`: a standard normal
        draw (of the step's ``draws``, else ``keras.random.normal`` with ``seed``)
        mapped by :func:`latent_noise`."""
        normal = draws.normal(shape) if draws is not None else keras.random.normal(shape, seed=seed)
        return latent_noise(normal, self.latent_distribution)

    def generate(self, noise, labels=None, seed: int | None = None) -> tf.Tensor:
        """Samples from :attr:`sampling_generator` in inference mode.

        Args:
          noise: ``[n, latent_dim]`` noise, or a number ``n`` of samples to draw
            noise for (from ``seed``, by :meth:`noise`; ``None``: a fresh draw).
          labels: int ``[n]`` classes of a conditional GAN (default: cycling 0..K-1).
          seed: the noise seed when ``noise`` is a number.
        """
        if isinstance(noise, int):
            count = noise
            noise = self.noise([count, self.latent_dim], seed=seed)
            if labels is None and self.conditional:
                labels = tf.range(count) % self.num_classes
        return self._call(self.sampling_generator, noise, labels, False)

    def _call(self, model, inputs, labels, training):
        if self.conditional:
            return model([inputs, labels], training=training)
        return model(inputs, training=training)

    def fit(self, x=None, y=None, batch_size=None, epochs=1, shuffle=True, **kwargs):
        """Keras' ``fit``. For a GAN whose generator makes images, NumPy images, an
        ``(images, labels)`` pair (``x``, ``y``) or a ``tf.data.Dataset`` of images (or
        ``(image, label)`` pairs, batched or not) are checked and brought to what the
        step takes (:func:`gan_tf.data.user.fit_batches`): values mapped to
        ``[-1, 1]`` from uint8 or the float range they lie in, centre-cropped and
        resized to the generator's output, full batches of ``batch_size`` (default: the
        dataset's own, else 32). Bad data raises one :class:`ConfigError`. Anything
        else (points, generators, ``PyDataset``) goes to Keras unchanged.
        """
        images = len(self.generator.output_shape) == 4
        if images and (
            isinstance(x, tf.data.Dataset) or hasattr(x, "__array__") or isinstance(x, tuple)
        ):
            x = user.fit_batches(
                x,
                y,
                image_shape=tuple(self.generator.output_shape[1:]),
                batch_size=batch_size,
                shuffle=shuffle,
                seed=self.seed,
            )
            y = batch_size = None
            shuffle = False  # done (arrays) or not wanted (datasets are read as given)
        return super().fit(x, y, batch_size=batch_size, epochs=epochs, shuffle=shuffle, **kwargs)

    def train_step(self, data) -> dict:
        """Keras' hook (``fit``): one step on ``data`` (``real`` or ``(real, labels)``);
        returns the trackers' running means over the epoch."""
        values = self.replica_step(data)
        for tracker in self._trackers:
            tracker.update_state(values[tracker.name])
        return {tracker.name: tracker.result() for tracker in self._trackers}

    def replica_step(self, data) -> dict:
        """One step as one replica runs it: ``n_critic`` discriminator updates, one
        generator update, then the parts' per-step work across replicas.

        Args:
          data: ``n_critic * B`` real examples, or ``(real, labels)`` (a labelled
            dataset's labels are ignored unless the step needs them).

        Returns:
          This replica's metrics (see :attr:`metric_names`).
        """
        real, labels = _unpack(data)
        if self.needs_labels and labels is None:
            raise ConfigError(
                "this GAN's step needs the real batch's labels: give it (real, labels) batches",
                "labels",
            )
        labels = labels if self.needs_labels else None
        seed = tf.stack([tf.constant(self.seed, tf.int64), tf.convert_to_tensor(self.step)])
        metrics = (self._update_fn or self._update)(real, labels, seed)
        signals = {key: metrics[key] for key in metrics if key not in self._fixed_metric_names}
        context = tf.distribute.get_replica_context()
        extra = context.merge_call(self._after_step, args=(signals,))
        return {**metrics, **extra}

    @property
    def _fixed_metric_names(self) -> frozenset:
        return frozenset(BASE_METRICS) | {part.name for part in self.parts}

    def _after_step(self, strategy, signals: dict) -> dict:
        """Across replicas, once per step: the parts' ``after_step``, then ``step += 1``."""
        signals = {
            key: strategy.reduce(tf.distribute.ReduceOp.MEAN, value, axis=None)
            for key, value in signals.items()
        }
        extra = {}
        for part in self.parts:
            extra.update(part.after_step(self, signals))
        self.step.assign_add(1)
        return extra

    def _update(self, real_samples, labels, seed) -> dict:
        """One replica's updates, top to bottom (see :meth:`replica_step`)."""
        draws = distribute.Draws(seed)
        if self.update_scheme == "reuse":
            done = self._reusing_updates(real_samples, labels, draws)
        else:
            done = self._separate_updates(real_samples, labels, draws)
        d_update, d_loss, g_loss, terms = done
        # What the step reports: losses, mean D outputs, each part's terms and signals.
        to_score = tf.sigmoid if self.loss_pair.sigmoid_outputs else tf.identity
        metrics = {
            "discriminator_loss": d_loss,
            "generator_loss": g_loss,
            "d_real": tf.reduce_mean(to_score(tf.cast(d_update.real_logits, tf.float32))),
            "d_fake": tf.reduce_mean(to_score(tf.cast(d_update.fake_logits, tf.float32))),
            **terms,
        }
        for part in self.parts:
            metrics.update(part.update_metrics(d_update))
        return metrics

    def _separate_updates(self, real_samples, labels, draws) -> tuple:
        """``update="alternating"`` or ``"simultaneous"``: ``(the last D update's
        Update, D loss, G loss, each part's terms summed over both networks)``."""
        # The discriminator: n_critic updates, each on its own real chunk and fresh noise.
        for real, y in self._critic_chunks(real_samples, labels):
            with tf.GradientTape(persistent=self.simultaneous) as tape:
                d_update = self._forward(real, y, draws, score_real=True, real_first=True)
                d_loss, d_total, d_terms = self._discriminator_loss(d_update)
                if self.simultaneous:  # the generator is scored by this pre-update D
                    g_loss, g_total, g_terms = self._generator_loss(d_update)
            if self.simultaneous:
                g_gradients = tape.gradient(g_total, self.generator.trainable_variables)
            self._discriminator_update(tape, d_update, d_loss, d_total, d_terms)
        # The generator: against the updated D on fresh noise (alternating updates),
        # or with the gradient kept from the forward pass above (simultaneous).
        if self.simultaneous:
            variables = self.generator.trainable_variables
            distribute.apply_gradients(self.generator_optimizer, g_gradients, variables)
        else:
            with tf.GradientTape() as tape:
                fake = self._generate(real, y, draws)
                g_loss, g_total, g_terms, after = self._generator_update_loss(real, fake, y, draws)
            self._apply(self.generator, self.generator_optimizer, tape, g_total, after=after)
        return d_update, d_loss, g_loss, _summed(d_terms, g_terms)

    def _reusing_updates(self, real_samples, labels, draws) -> tuple:
        """``update="reuse"``: the last D update and G's share one generator pass.
        That D update scores the fakes (their gradient stopped); G's then scores the
        same fakes with the updated D and backpropagates through the pass kept on
        its tape. Returns what :meth:`_separate_updates` does."""
        *earlier, (real, y) = self._critic_chunks(real_samples, labels)
        for chunk, chunk_labels in earlier:  # n_critic > 1: the first updates as usual
            self._discriminator_step(chunk, chunk_labels, draws)
        with tf.GradientTape() as g_tape:
            fake = self._generate(real, y, draws)
            with g_tape.stop_recording():
                d_update, d_loss, d_terms = self._discriminator_step(
                    real, y, draws, tf.stop_gradient(fake)
                )
            g_loss, g_total, g_terms, after = self._generator_update_loss(real, fake, y, draws)
        self._apply(self.generator, self.generator_optimizer, g_tape, g_total, after=after)
        return d_update, d_loss, g_loss, _summed(d_terms, g_terms)

    def _critic_chunks(self, real_samples, labels) -> list[tuple]:
        """``(real, labels)`` of each of the ``n_critic`` D updates (``labels`` None
        when the step takes none)."""
        reals = tf.split(real_samples, self.n_critic)
        chunks = tf.split(labels, self.n_critic) if labels is not None else [None] * len(reals)
        return list(zip(reals, chunks, strict=True))

    def _discriminator_step(self, real, labels, draws, fake=None) -> tuple:
        """One D update on ``real`` and ``fake`` (default: fresh fakes):
        ``(its Update, D loss, the parts' terms)``."""
        with tf.GradientTape() as tape:
            fake = self._generate(real, labels, draws) if fake is None else fake
            d_update = self._scored(real, fake, labels, draws, True, real_first=True)
            d_loss, d_total, d_terms = self._discriminator_loss(d_update)
        self._discriminator_update(tape, d_update, d_loss, d_total, d_terms)
        return d_update, d_loss, d_terms

    def _discriminator_update(self, tape, d_update: Update, d_loss, d_total, d_terms) -> None:
        """Applies one D update's gradient (after the values the step reports), then
        the parts' ``after_discriminator_update`` (weight clipping...)."""
        self._apply(
            self.discriminator,
            self.discriminator_optimizer,
            tape,
            d_total,
            after=(d_update.real_logits, d_update.fake_logits, d_loss, *d_terms.values()),
        )
        for part in self.parts:
            part.after_discriminator_update(self)

    def _generator_update_loss(self, real, fake, labels, draws) -> tuple:
        """G's loss on ``fake`` scored by the (updated) D: ``(loss, scaled total,
        terms, the values the update waits on)``."""
        uses_real = self.loss_pair.generator_uses_real
        g_update = self._scored(real, fake, labels, draws, uses_real, real_first=False)
        g_loss, g_total, g_terms = self._generator_loss(g_update)
        return g_loss, g_total, g_terms, (g_update.fake_logits, g_loss, *g_terms.values())

    def _forward(self, real, labels, draws, score_real: bool, real_first: bool) -> Update:
        """Generates a fake batch like ``real`` and scores it (:meth:`_scored`)."""
        fake = self._generate(real, labels, draws)
        return self._scored(real, fake, labels, draws, score_real, real_first)

    def _generate(self, real, labels, draws):
        """A fake batch the size of ``real`` from fresh noise (``training=True``)."""
        noise = self.noise(tf.stack([tf.shape(real)[0], self.latent_dim]), draws)
        return self._call(self.generator, noise, labels, True)

    def _scored(self, real, fake, labels, draws, score_real: bool, real_first: bool) -> Update:
        """Scores ``fake`` (and ``real``); the order of the two passes sets which draws
        of Keras' noise layers each one gets. In a generator update
        (``real_first=False``) with ``unroll``, the scoring discriminator is the one
        ``unroll`` updates ahead."""
        fake = self._discriminator_fakes(fake, draws) if real_first else fake
        weights = None
        if self.unroll and not real_first:
            weights = self._unrolled_weights(real, fake, labels, draws)
        score_fake = lambda: self._score(fake, labels, draws, weights)  # noqa: E731
        if not real_first:
            fake_logits, fake_taps = score_fake()
        real_logits, real_taps = (
            self._score(real, labels, draws, weights) if score_real else (None, {})
        )
        if real_first:
            fake_logits, fake_taps = score_fake()
        critic = lambda x: self._call(self.discriminator, x, labels, True)  # noqa: E731
        taps = {"real": real_taps, "fake": fake_taps}
        real, fake = pack_samples(real, self.pack), pack_samples(fake, self.pack)
        return Update(self, critic, real, fake, real_logits, fake_logits, labels, draws, taps)

    def _discriminator_fakes(self, fake, draws):
        """The generated batch a discriminator update scores, as the parts make it
        (:meth:`gan_tf.parts.Part.fakes_for_discriminator`: experience replay)."""
        for part in self.parts:
            fake = part.fakes_for_discriminator(fake, draws)
        return fake

    def _score(self, samples, labels, draws, weights=None):
        """The discriminator's logits of ``samples`` as the parts transform them (then
        packed), and the layers the losses read. ``weights``: ``(trainable,
        non_trainable)`` tensors to score with instead of the discriminator's own."""
        for part in self.parts:
            samples = part.transform(samples, draws)
        samples = pack_samples(samples, self.pack)
        if weights is not None:
            inputs = [samples, labels] if self.conditional else samples
            logits, _ = self.discriminator.stateless_call(*weights, inputs, training=True)
            return logits, {}
        if self._tapped.model is None:
            return self._call(self.discriminator, samples, labels, True), {}
        logits, *tapped = self._tapped.model(samples, training=True)
        return logits, dict(zip(self._taps, tapped, strict=True))

    def _unrolled_weights(self, real, fake, labels, draws) -> tuple[list, list]:
        """The discriminator's weights after :attr:`unroll` updates of its optimizer's
        rule on this ``real`` batch and these ``fake`` samples (differentiable in
        ``fake``, so the generator's gradient flows through the updates), as in
        the authors' code. The real updates are not changed."""
        discriminator = self.discriminator
        trainable = [tf.convert_to_tensor(v) for v in discriminator.trainable_variables]
        non_trainable = [tf.convert_to_tensor(v) for v in discriminator.non_trainable_variables]
        state = unroll.optimizer_state(
            self.discriminator_optimizer, discriminator.trainable_variables
        )
        for _ in range(self.unroll):
            with tf.GradientTape() as tape:
                tape.watch(trainable)
                weights = (trainable, non_trainable)
                real_logits, _ = self._score(real, labels, draws, weights)
                fake_logits, _ = self._score(fake, labels, draws, weights)
                loss = self.loss_pair.discriminator_loss(
                    real_logits=real_logits,
                    fake_logits=fake_logits,
                    **(self._smoothing if self.loss_pair.sigmoid_outputs else {}),
                )
            gradients = tape.gradient(loss, trainable)
            trainable, state = unroll.optimizer_update(
                self.discriminator_optimizer, gradients, trainable, state
            )
        return trainable, non_trainable

    def _discriminator_loss(self, update: Update):
        real_logits, fake_logits = update.real_logits, update.fake_logits
        for part in self.parts:
            real_logits, fake_logits = part.swap(real_logits, fake_logits, update.draws)
        loss = self.loss_pair.discriminator_loss(
            real_logits=real_logits,
            fake_logits=fake_logits,
            **(self._smoothing if self.loss_pair.sigmoid_outputs else {}),
            **_loss_inputs(self.loss_pair.discriminator_inputs, update),
        )
        return self._with_terms(loss, update, "discriminator", self.discriminator_optimizer)

    def _generator_loss(self, update: Update):
        loss = self.loss_pair.generator_loss(
            real_logits=update.real_logits if self.loss_pair.generator_uses_real else None,
            fake_logits=update.fake_logits,
            **_loss_inputs(self.loss_pair.generator_inputs, update),
        )
        return self._with_terms(loss, update, "generator", self.generator_optimizer)

    def _with_terms(self, loss, update, network: str, optimizer):
        """``(loss, the scaled loss plus the parts' weighted terms, the terms)``."""
        terms, total = {}, loss
        for part in self.parts:
            term = getattr(part, f"{network}_term")(update)
            if term is not None:
                terms[part.name] = term
                total += part.weight * term
        return loss, distribute.replica_loss(optimizer, total), terms

    @staticmethod
    def _apply(network, optimizer, tape, scaled_loss, after=()) -> None:
        """Applies the gradient of ``scaled_loss`` once every tensor of ``after`` (the
        logits and terms the step reports) is computed: a logged value the gradient does
        not need (e.g. a Wasserstein loss's logits) would otherwise rest on one control
        edge, which Grappler's dependency optimizer sometimes drops, so it could read
        weights the update had already changed (seen as a second result of one step)."""
        variables = network.trainable_variables
        with tf.control_dependencies([t for t in after if t is not None]):
            gradients = tape.gradient(scaled_loss, variables)
            distribute.apply_gradients(optimizer, gradients, variables)

    def _run_step(self, real_samples, labels=None) -> dict:
        """One step on every replica; this step's metrics averaged over replicas."""
        data = real_samples if labels is None else (real_samples, labels)
        per_replica = self.distribute_strategy.run(self.replica_step, args=(data,))
        return {
            key: self.distribute_strategy.reduce(tf.distribute.ReduceOp.MEAN, value, axis=None)
            for key, value in per_replica.items()
        }

    def train_steps(self, iterator, count: int, looped: bool = False) -> dict:
        """``count`` steps on the next ``count`` batches of ``iterator`` in one call
        (``--steps_per_call``); each of :attr:`metric_names` as a ``[count]`` tensor,
        one value per step. More than one step (or one with ``looped``) runs in a
        ``tf.while_loop`` whose length is a tensor, so one trace serves every count
        (an epoch's remainder too) and tracing costs one step's graph however many
        are fused; one step alone is the plain step."""
        if count == 1 and not looped:
            return self._single_call(iterator)
        return self._looped_call(iterator, tf.constant(count, tf.int32))

    def _single_step(self, iterator) -> dict:
        metrics = self._next_step(iterator)
        return {key: tf.reshape(metrics[key], [1]) for key in self.metric_names}

    def _next_step(self, iterator) -> dict:
        batch = next(iterator)
        return self._run_step(*(batch if isinstance(batch, tuple) else (batch,)))

    def _looped_steps(self, iterator, count) -> dict:
        names = self.metric_names

        def body(index, arrays):
            metrics = self._next_step(iterator)
            written = [
                array.write(index, tf.cast(metrics[key], tf.float32))
                for key, array in zip(names, arrays, strict=True)
            ]
            return index + 1, written

        arrays = [tf.TensorArray(tf.float32, size=count) for _ in names]
        _, arrays = tf.while_loop(lambda index, _: index < count, body, (tf.constant(0), arrays))
        return {key: array.stack() for key, array in zip(names, arrays, strict=True)}

    def _saved_variables(self) -> list:
        return [
            *self._trainable_variables,
            *self._non_trainable_variables,
            *self.layer_noise_states.states,
        ]

    def save_own_variables(self, store) -> None:
        """Keras' saving (``save_weights``, ``BackupAndRestore``): the GAN's own weights
        plus the random state of its networks' noise layers (``Dropout``...), which
        Keras leaves out, so a restored ``fit`` draws the noise an uninterrupted one would."""
        for index, variable in enumerate(self._saved_variables()):
            store[str(index)] = variable

    def load_own_variables(self, store) -> None:
        """Restores what :meth:`save_own_variables` saved.

        Raises:
          CheckpointError: the file was saved from a GAN with other parts or networks.
        """
        variables = self._saved_variables()
        if len(store.keys()) != len(variables):
            raise CheckpointError(
                f"the saved GAN has {len(store.keys())} own variables, this one "
                f"{len(variables)}: build it with the same networks and parts"
            )
        for index, variable in enumerate(variables):
            variable.assign(store[str(index)])

    def checkpoint_objects(self, **extra) -> dict:
        """What a checkpoint of the GAN holds, by name: both networks (and the EMA
        generator), both optimizers, the step, the parts' state, plus ``extra``."""
        if self.generator_ema is not None:
            extra["generator_ema"] = self.generator_ema
        for part in self.parts:
            extra.update(part.checkpoint_objects())
        if self.layer_noise_states.states:
            extra["layer_noise_states"] = self.layer_noise_states
        return {
            "generator": self.generator,
            "discriminator": self.discriminator,
            "generator_optimizer": self.generator_optimizer,
            "discriminator_optimizer": self.discriminator_optimizer,
            "step": self.step,
            **extra,
        }

    def checkpoint(self, **extra) -> tf.train.Checkpoint:
        """A ``tf.train.Checkpoint`` of :meth:`checkpoint_objects`."""
        return tf.train.Checkpoint(**self.checkpoint_objects(**extra))


class _Untracked:
    """Holds a model Keras must not track as a sublayer (it shares weights)."""

    def __init__(self, model):
        self.model = model


def latent_noise(normal: tf.Tensor, distribution: str = "normal") -> tf.Tensor:
    """Maps standard normal noise to the latent distribution ``distribution``.

    ``"normal"`` returns ``normal``; ``"uniform"`` returns ``erf(normal / sqrt(2)) =
    2 Phi(normal) - 1``, exactly uniform in [-1, 1] (the probability integral
    transform), so every seeded normal draw (the step's, the epoch grids', the
    evaluation's) has a uniform counterpart from the same seed.

    Raises:
      ConfigError: an unknown ``distribution``.
    """
    if _checked_distribution(distribution) == "uniform":
        return tf.math.erf(tf.convert_to_tensor(normal, tf.float32) / tf.sqrt(2.0))
    return normal


def _checked_distribution(distribution: str) -> str:
    if distribution not in LATENT_DISTRIBUTIONS:
        raise ConfigError(
            f"unknown latent_distribution '{distribution}'; choose one of: "
            f"{', '.join(LATENT_DISTRIBUTIONS)}",
            "latent_distribution",
        )
    return distribution


def _check_update(update: str, n_critic: int) -> None:
    if update not in UPDATES:
        raise ConfigError(f"update must be one of {', '.join(UPDATES)}, got {update!r}", "update")
    if update == "simultaneous" and n_critic != 1:
        raise ConfigError("update=simultaneous needs n_critic=1", "update", "n_critic")


def _summed(d_terms: dict, g_terms: dict) -> dict:
    """Each part's term over both networks' losses (a term only one of them has
    counts once)."""
    return {
        name: d_terms.get(name, 0.0) + g_terms.get(name, 0.0) for name in {**d_terms, **g_terms}
    }


def _unpack(data):
    """``real`` or ``(real, labels)`` from a batch (one-hot labels become class ids)."""
    if isinstance(data, (tuple, list)):
        real, labels = data[0], (data[1] if len(data) > 1 else None)
    else:
        real, labels = data, None
    if labels is not None and len(labels.shape) == 2:
        labels = tf.argmax(labels, axis=-1, output_type=tf.int32)
    return real, labels


def _input_width(generator: keras.Model) -> int:
    try:
        return int(generator.inputs[0].shape[-1])
    except (AttributeError, TypeError, ValueError, IndexError):
        raise ConfigError(
            "pass latent_dim=: the generator has no symbolic input to read it from", "latent_dim"
        ) from None


def _loss_inputs(names, update: Update) -> dict:
    """The keyword inputs ``names`` a loss declared, from the tapped layers of the real
    and the fake batch and the real batch's labels."""
    inputs = {}
    for name in names:
        tap = TAPPED_INPUTS[name]
        if tap == "labels":
            inputs[name] = update.labels
        else:
            inputs[name] = update.taps["real" if name.startswith("real_") else "fake"][tap]
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
