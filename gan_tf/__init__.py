"""gan_tf: Generative Adversarial Networks in TensorFlow 2 / Keras 3.

Public API::

    import gan_tf
    config = gan_tf.make_config(dataset="fashion_mnist", epochs=3)
    gan_tf.train(config, "runs/demo")            # a managed run: resume, pictures, metrics
    run = gan_tf.load_run("runs/demo")
    images = run.sample(16, seed=0)

    gan = gan_tf.GAN(generator, discriminator)   # or: a keras.Model to compile and fit
    gan.compile(generator_optimizer=..., discriminator_optimizer=..., loss="non_saturating")
    gan.fit(dataset, epochs=10, callbacks=[...])

Code map (imports only point down this list): ``errors``, ``files``; the pure
``losses``, ``regularizers``, ``eval`` (metric math), ``visualize``, and ``runlock``;
``data``, ``distribute``; ``models`` (the variant registry); ``config``; ``parts`` (the
step's tricks); ``gan`` (the ``keras.Model`` and its step);
``build``; ``sampling``, ``resources``; ``rundir``; ``evaluation``; ``run``; ``animation``;
``training`` (the loop).
"""

import importlib

# Public names -> the module that defines them. Imported on first use (PEP 562), so
# `import gan_tf` is instant and the command line can answer --help without TensorFlow.
_EXPORTS = {
    "GAN": "gan_tf.gan",
    "Callback": "gan_tf.training",
    "ConfigError": "gan_tf.errors",
    "DataNotFoundError": "gan_tf.errors",
    "Evaluator": "gan_tf.evaluation",
    "GanTfError": "gan_tf.errors",
    "ModelSpec": "gan_tf.models",
    "ResourceNotFoundError": "gan_tf.errors",
    "Run": "gan_tf.run",
    "RunCorruptError": "gan_tf.errors",
    "RunLockedError": "gan_tf.errors",
    "RunNotFoundError": "gan_tf.errors",
    "TrainConfig": "gan_tf.config",
    "TrainingDivergedError": "gan_tf.errors",
    "WeightsNotFoundError": "gan_tf.errors",
    "build_gan": "gan_tf.build",
    "evaluate_run": "gan_tf.evaluation",
    "generate_images": "gan_tf.sampling",
    "load_dataset": "gan_tf.data",
    "load_run": "gan_tf.run",
    "make_config": "gan_tf.config",
    "register": "gan_tf.models",
    "train": "gan_tf.training",
}
_SUBMODULES = (
    "animation",
    "augment",
    "build",
    "data",
    "distribute",
    "errors",
    "eval",
    "evaluation",
    "losses",
    "models",
    "packing",
    "parts",
    "regularizers",
    "run",
    "training",
    "visualize",
)


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"gan_tf.{name}")
    else:
        raise AttributeError(f"module 'gan_tf' has no attribute {name!r}")
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__():
    return sorted({*globals(), *_EXPORTS, *_SUBMODULES})


__version__ = "0.3.0"

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
    "parts",
    "register",
    "regularizers",
    "run",
    "train",
    "visualize",
    "WeightsNotFoundError",
]
