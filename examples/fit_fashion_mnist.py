"""gan_tf.GAN from two plain Keras models, fitted on Fashion-MNIST with Keras callbacks.

Run it (``--steps`` caps each epoch's batches, for a quick look)::

    python examples/fit_fashion_mnist.py                        # 5 epochs of 937 steps
    python examples/fit_fashion_mnist.py --epochs=3 --steps=100
"""

import argparse
import os

import keras
from keras import layers

import gan_tf
from gan_tf import data, visualize


class StopWhenDiscriminatorWins(keras.callbacks.Callback):
    """Ends fit after an epoch whose mean D(real) is above ``limit``: D has won the game."""

    def __init__(self, limit=0.95):
        super().__init__()
        self.limit = limit

    def on_epoch_end(self, epoch, logs=None):
        if logs["d_real"] > self.limit:
            self.model.stop_training = True


def main(epochs=5, steps=None, out="runs/fit_fashion_mnist", data_dir=None, d_real_limit=0.95):
    """Trains; returns the Keras ``History``. ``steps`` caps each epoch's batches."""
    train = gan_tf.load_dataset("fashion_mnist", data_dir=data_dir)  # uint8 28x28x1 images
    images = train.examples.shuffle(10_000, seed=0).batch(64, drop_remainder=True)
    images = images.map(data.to_float_images).take(steps or -1)  # float32 in [-1, 1]
    generator = keras.Sequential([
        keras.Input((64,)), layers.Dense(7 * 7 * 64), layers.LeakyReLU(0.2),
        layers.Reshape((7, 7, 64)), layers.Conv2DTranspose(32, 4, 2, "same"),
        layers.LeakyReLU(0.2), layers.Conv2DTranspose(1, 4, 2, "same", activation="tanh"),
    ])  # fmt: skip
    discriminator = keras.Sequential([  # ends in a logit: no sigmoid
        keras.Input((28, 28, 1)), layers.Conv2D(32, 4, 2, "same"), layers.LeakyReLU(0.2),
        layers.Conv2D(64, 4, 2, "same"), layers.LeakyReLU(0.2), layers.Flatten(), layers.Dense(1),
    ])  # fmt: skip
    gan = gan_tf.GAN(generator, discriminator, seed=0)  # latent_dim read from the generator
    gan.compile(
        generator_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
        discriminator_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
        loss="non_saturating",
    )
    os.makedirs(out, exist_ok=True)
    callbacks = [
        keras.callbacks.EarlyStopping("generator_loss", patience=3, mode="min"),
        keras.callbacks.CSVLogger(os.path.join(out, "log.csv")),  # one row per epoch
        StopWhenDiscriminatorWins(d_real_limit),
    ]
    history = gan.fit(images, epochs=epochs, callbacks=callbacks, verbose=2)
    samples = visualize.to_uint8(gan.generate(64, seed=0).numpy())
    visualize.save_image(visualize.image_grid(samples, rows=8), os.path.join(out, "samples.png"))
    return history


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--steps", type=int, default=None, help="cap on each epoch's steps")
    parser.add_argument("--out", default="runs/fit_fashion_mnist")
    parser.add_argument("--data_dir", default=None)
    args = parser.parse_args()
    main(args.epochs, args.steps, args.out, args.data_dir)
