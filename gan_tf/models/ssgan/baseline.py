"""The labelled-only baseline a semi-supervised GAN is measured against (Salimans et
al., 2016, §5): the same classifier network trained on the labelled examples alone,
with the same optimizer and number of updates."""

from __future__ import annotations

import keras

from gan_tf import data, models
from gan_tf.errors import ConfigError
from gan_tf.models import layers
from gan_tf.models.ssgan.networks import classifier
from gan_tf.models.ssgan.training import SemiSupervisedTraining, load, test_accuracy

__all__ = ["labelled_only_baseline"]

INIT_EXAMPLES = 500  # the authors' data-dependent initialisation batch (as training's)


def _networks(config, spec: models.ModelSpec, dataset: data.ImageDataset) -> keras.Model:
    """The run's discriminator, built in float32 and initialised from the data as
    training does."""
    arch = {**config.arch, "spectral_norm": config.spectral_norm, "dropout": config.d_dropout}
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("float32")
    try:
        _, discriminator = models.build_networks(
            spec,
            tuple(dataset.image_shape),
            latent_dim=config.latent_dim,
            arch=arch,
            num_classes=dataset.num_classes,
        )
    finally:
        keras.config.set_dtype_policy(previous)
    if layers.initializes_from_data(discriminator):
        layers.initialize_from_data(discriminator, data.first_examples(dataset, INIT_EXAMPLES))
    return discriminator


def _optimizer(config, steps: int) -> keras.optimizers.Optimizer:
    """``config``'s optimizer at its learning rate (linearly decayed to 0 over
    ``steps`` with ``lr_decay=linear``)."""
    learning_rate = config.learning_rate
    if config.lr_decay == "linear":
        learning_rate = keras.optimizers.schedules.PolynomialDecay(
            learning_rate, decay_steps=max(steps, 1), end_learning_rate=0.0
        )
    if config.optimizer == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate=learning_rate)
    return keras.optimizers.Adam(
        learning_rate=learning_rate, beta_1=config.beta_1, beta_2=config.beta_2
    )


def labelled_only_baseline(
    config,
    dataset: data.ImageDataset,
    steps: int,
    *,
    eval_every: int = 0,
    verbose: int = 0,
) -> dict:
    """Trains the semi-supervised discriminator's classifier on the labelled examples
    only (cross-entropy, ``config``'s optimizer and learning rate, float32, batches of
    the labelled half of a semi-supervised batch, ``steps`` updates) and scores it.

    Args:
      config: the semi-supervised run's :class:`~gan_tf.config.TrainConfig`.
      dataset: its training data, loaded with labels.
      steps: discriminator updates to train for (e.g. the GAN run's).
      eval_every: also score it every this many updates (e.g. the GAN run's
        ``steps_per_epoch``, to compare epoch by epoch); 0 = after the last only.

    Returns:
      ``{"test_accuracy"`` (after the last update), ``"best_test_accuracy"``,
      ``"accuracies"`` (every score, in order), ``"labelled", "steps"}``.

    Raises:
      ConfigError: ``config`` is not a semi-supervised run's, or its data lacks labels.
    """
    spec = models.get_model(config.model)
    if not isinstance(spec.training, SemiSupervisedTraining):
        raise ConfigError(
            f"the labelled-only baseline is for semi-supervised models, not model={config.model}",
            "model",
        )
    keras.utils.set_random_seed(config.seed)
    extra = load(config, dataset)
    network = classifier(_networks(config, spec, dataset))
    network.compile(
        optimizer=_optimizer(config, steps),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    half = config.batch_size // 2  # the labelled half of a semi-supervised batch
    examples = data.labelled_batches_for(extra.labelled, half, steps, seed=config.seed)
    every = eval_every if 0 < eval_every < steps and steps % eval_every == 0 else steps
    accuracies = []
    score = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: accuracies.append(test_accuracy(network, extra.test))
    )
    network.fit(
        examples.take(steps).repeat(),
        steps_per_epoch=every,
        epochs=steps // every,
        callbacks=[score],
        verbose=verbose,
    )
    return {
        "test_accuracy": accuracies[-1],
        "best_test_accuracy": max(accuracies),
        "accuracies": accuracies,
        "labelled": int(len(extra.labelled[1])),
        "steps": int(steps),
    }
