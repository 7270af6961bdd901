"""gan_tf: Generative Adversarial Networks in TensorFlow 2 / Keras 3.

Public API::

    import gan_tf
    config = gan_tf.make_config(model="dcgan", dataset="fashion_mnist", epochs=3)
    gan_tf.train(config, "runs/dcgan")
    run = gan_tf.load_run("runs/dcgan")
    images = run.sample(16, seed=0)
"""

from gan_tf import animation, data, evaluation, losses, models, run, visualize
from gan_tf.config import TrainConfig, make_config
from gan_tf.data import DataNotFoundError, load_dataset
from gan_tf.evaluation import Evaluator, evaluate_run
from gan_tf.gan import GAN
from gan_tf.run import Run, load_run
from gan_tf.training import TrainingDivergedError, generate_images, restore_generator, train

__version__ = "0.1.0"

__all__ = [
    "GAN",
    "Run",
    "DataNotFoundError",
    "Evaluator",
    "TrainConfig",
    "TrainingDivergedError",
    "animation",
    "data",
    "evaluate_run",
    "evaluation",
    "generate_images",
    "load_dataset",
    "load_run",
    "losses",
    "make_config",
    "models",
    "restore_generator",
    "run",
    "train",
    "visualize",
]
