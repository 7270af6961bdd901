"""gan_tf: Generative Adversarial Networks in TensorFlow 2 / Keras 3.

Public API::

    import gan_tf
    config = gan_tf.make_config(model="dcgan", dataset="fashion_mnist", epochs=3)
    gan_tf.train(config, "runs/dcgan")
    run = gan_tf.load_run("runs/dcgan")
    images = run.sample(16, seed=0)

Code map (imports only point down this list): ``errors``, ``files``; the pure
``losses``, ``regularizers``, ``eval`` (metric math), ``visualize``; ``data``,
``models`` (the variant registry), ``distribute``; ``config``; ``train_step``;
``build``; ``sampling``; ``rundir``; ``evaluation``; ``run``; ``animation``;
``training`` (the loop).
"""

from gan_tf import animation, data, evaluation, losses, models, regularizers, run, visualize
from gan_tf.build import build_gan
from gan_tf.config import TrainConfig, make_config
from gan_tf.data import load_dataset
from gan_tf.errors import (
    ConfigError,
    DataNotFoundError,
    GanTfError,
    ResourceNotFoundError,
    RunNotFoundError,
    TrainingDivergedError,
    WeightsNotFoundError,
)
from gan_tf.evaluation import Evaluator, evaluate_run
from gan_tf.models import ModelSpec, register
from gan_tf.run import Run, load_run
from gan_tf.sampling import generate_images
from gan_tf.train_step import GAN
from gan_tf.training import Callback, train

__version__ = "0.2.0"

__all__ = [
    "GAN",
    "Callback",
    "ConfigError",
    "DataNotFoundError",
    "Evaluator",
    "GanTfError",
    "ModelSpec",
    "ResourceNotFoundError",
    "Run",
    "RunNotFoundError",
    "TrainConfig",
    "TrainingDivergedError",
    "animation",
    "build_gan",
    "data",
    "evaluate_run",
    "evaluation",
    "generate_images",
    "load_dataset",
    "load_run",
    "losses",
    "make_config",
    "models",
    "register",
    "regularizers",
    "run",
    "train",
    "visualize",
    "WeightsNotFoundError",
]
