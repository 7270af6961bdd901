"""Feature networks for evaluation: domain classifiers and InceptionV3.

Metric math (``fid.py``, ``kid.py``, ...) works on the ``[N, D]`` features and
``[N, K]`` logits these networks produce:

* **Domain classifiers** (:func:`build_classifier`): a small CNN per dataset
  (MNIST, Fashion-MNIST, SVHN, CIFAR-10, emoji, and any ``folder:PATH`` with class
  sub-folders) trained by ``experiments/train_classifier.py``. Weights for MNIST,
  Fashion-MNIST and emoji ship in the package (``gan_tf/eval/weights/``), so
  classifier metrics work offline. Colour classifiers score any square size
  (antialiased resize to their own 32x32). Features are the 128-d ``features``
  layer, logits its class output.
  A Fréchet distance in this space is reported as ``fd_classifier``, never as FID.
* **The reference FID Inception** (:func:`fid_extractor`): the 2015-12-05 graph that
  papers report FID with, rebuilt in :mod:`gan_tf.eval.fid_inception` from pytorch-fid's
  weights file; pool_3 (2048-d) features and 1008-way logits. This is what ``fid``,
  ``kid``, ``pr`` and ``is`` use.
* **Keras' InceptionV3** (:func:`inception_network`): ``keras.applications`` InceptionV3,
  pool3 (2048-d average pool) features and 1000-way logits. Images are scaled
  to ``[-1, 1]``, grayscale is tiled to 3 channels, and they are resized to
  299x299 with bilinear interpolation (``tf.image.resize``, no antialiasing).
  The ImageNet weights download on first use (Keras caches them in
  ``~/.keras/models``) or are read from a local file. Keras' port of the weights
  is not the 2015 graph of the original FID code, so its Fréchet distance is reported
  as ``fd_keras`` (with ``kid_keras``, ``pr_keras``, ``is_keras``), never as FID.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

from gan_tf.data import to_float_images
from gan_tf.errors import ConfigError, WeightsNotFoundError
from gan_tf.eval import fid_inception
from gan_tf.eval.cache import file_digest

__all__ = [
    "CLASSIFIER_DATASETS",
    "INCEPTION_SIZE",
    "FeatureExtractor",
    "accuracy",
    "build_classifier",
    "classifier_extractor",
    "classifier_info",
    "classifier_spec",
    "fid_extractor",
    "inception_extractor",
    "inception_network",
    "is_folder",
    "load_classifier",
    "shipped_classifier_path",
    "train_classifier",
]

# dataset -> (the classifier's input shape, number of classes)
CLASSIFIERS = {
    "mnist": ((28, 28, 1), 10),
    "fashion_mnist": ((28, 28, 1), 10),
    "svhn": ((32, 32, 3), 10),
    "cifar10": ((32, 32, 3), 10),
    "emoji": ((32, 32, 3), 9),  # 64x64 emoji are scored at 32x32 (antialiased resize)
}
CLASSIFIER_DATASETS = tuple(CLASSIFIERS)
CLASSIFIER_ALIASES = {"mnist_5k": "mnist"}  # datasets evaluated by another one's classifier
FOLDER_CLASSIFIER_SIDE = 32  # folder classifiers see 32x32 colour (antialiased resize)
INCEPTION_SIZE = 299
WEIGHTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "weights")
INCEPTION_WEIGHTS_FILE = "inception_v3_weights_tf_dim_ordering_tf_kernels.h5"


def _to_float(images) -> tf.Tensor:
    """uint8 ``[0, 255]`` (or float already in ``[-1, 1]``) -> float32 ``[-1, 1]``."""
    return to_float_images(tf.convert_to_tensor(images))


# --------------------------------------------------------------------------- classifiers


def build_classifier(image_shape, num_classes: int = 10) -> keras.Sequential:
    """The domain classifier: a small CNN from ``[-1, 1]`` images to class logits.

    Three conv stages (32, 64, 128 filters, batch norm, ReLU), global average
    pooling to the 128-d ``features`` layer, then a linear layer to ``num_classes``
    logits. About 0.14 M parameters.

    Args:
      image_shape: ``(H, W, C)``, e.g. ``(28, 28, 1)`` or ``(32, 32, 3)``.
      num_classes: number of classes.
    """

    def conv(filters):
        return [
            keras.layers.Conv2D(filters, 3, padding="same", use_bias=False),
            keras.layers.BatchNormalization(momentum=0.9),
            keras.layers.ReLU(),
        ]

    return keras.Sequential(
        [
            keras.Input(tuple(image_shape)),
            *conv(32),
            *conv(32),
            keras.layers.MaxPooling2D(),
            *conv(64),
            *conv(64),
            keras.layers.MaxPooling2D(),
            *conv(128),
            keras.layers.GlobalAveragePooling2D(name="features"),
            keras.layers.Dropout(0.3),
            keras.layers.Dense(num_classes, name="logits"),
        ],
        name="classifier",
    )


def train_classifier(
    images,
    labels,
    *,
    num_classes: int = 10,
    epochs: int = 5,
    batch_size: int = 128,
    learning_rate: float = 1e-3,
    seed: int = 0,
    verbose: int = 0,
    steps: int | None = None,
) -> keras.Sequential:
    """Trains :func:`build_classifier` on uint8 images and integer labels.

    Adam with a cosine-decayed learning rate, softmax cross-entropy on logits,
    shuffled with ``seed`` every epoch.

    Args:
      images: uint8 ``[N, H, W, C]`` (or float in ``[-1, 1]``).
      labels: int ``[N]`` in ``[0, num_classes)``.
      num_classes: number of classes.
      epochs, batch_size, learning_rate: optimisation settings.
      seed: seeds weights and shuffling.
      verbose: Keras ``fit`` verbosity.
      steps: train exactly this many full batches instead of ``epochs`` passes
        (``epochs`` is then ignored): the shuffled data repeats (reshuffled each
        pass, batches run across pass boundaries) and the cosine decay spans
        ``steps``. Two calls with the same ``steps``, ``batch_size`` and ``seed``
        get the same optimisation budget whatever the size of their data.

    Returns:
      The trained classifier.

    Raises:
      ConfigError: for unequal numbers of images and labels, no images, or
        ``steps`` < 1.
    """
    images = np.asarray(images)
    labels = np.asarray(labels, dtype=np.int32)
    if len(images) != len(labels) or len(images) == 0:
        raise ConfigError(f"need as many labels as images, got {len(labels)} and {len(images)}")
    if steps is not None and steps < 1:
        raise ConfigError(f"steps must be at least 1 (or None for epochs), got {steps}", "steps")
    keras.utils.set_random_seed(seed)
    model = build_classifier(images.shape[1:], num_classes)
    decay_steps = steps if steps is not None else epochs * int(np.ceil(len(images) / batch_size))
    model.compile(
        optimizer=keras.optimizers.Adam(
            keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps)
        ),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    data = tf.data.Dataset.from_tensor_slices((images, labels)).shuffle(
        len(images), seed=seed, reshuffle_each_iteration=True
    )
    if steps is not None:
        data = data.repeat()
    data = data.batch(batch_size).map(lambda x, y: (_to_float(x), y)).prefetch(tf.data.AUTOTUNE)
    model.fit(  # data shuffles itself; with steps it repeats and one "epoch" is the budget
        data,
        epochs=epochs if steps is None else 1,
        steps_per_epoch=steps,
        verbose=verbose,
        shuffle=False,
    )
    return model


def accuracy(model: keras.Model, images, labels, *, batch_size: int = 500) -> float:
    """Top-1 accuracy of ``model`` (logits) on uint8 ``images`` and int ``labels``."""
    logits = _batched(lambda x: model(_to_float(x), training=False), images, batch_size)
    return float(np.mean(logits.argmax(axis=1) == np.asarray(labels)))


def shipped_classifier_path(dataset: str) -> str:
    """Path of the classifier weights that ship for ``dataset`` (may not exist)."""
    return os.path.join(WEIGHTS_DIR, f"{dataset}_classifier.weights.h5")


def classifier_info(weights: str) -> dict:
    """The record ``experiments/train_classifier.py`` wrote beside ``weights``
    (``<name>.json``: data it was trained and tested on, test accuracy), or ``{}``."""
    path = weights[: -len(".weights.h5")] + ".json" if weights.endswith(".weights.h5") else ""
    if not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def is_folder(dataset: str) -> bool:
    """Whether ``dataset`` is a ``folder:PATH`` dataset (its classifier has no shipped home)."""
    return dataset.startswith("folder:")


def classifier_spec(dataset: str, weights: str | None = None) -> tuple[tuple, int]:
    """``(input shape, number of classes)`` of the classifier of ``dataset``: from
    :data:`CLASSIFIERS`, or for a folder from the record written beside ``weights``."""
    dataset = CLASSIFIER_ALIASES.get(dataset, dataset)
    if dataset in CLASSIFIERS:
        return CLASSIFIERS[dataset]
    record = classifier_info(weights) if weights else {}
    if is_folder(dataset) and "image_shape" in record and "num_classes" in record:
        return tuple(record["image_shape"]), int(record["num_classes"])
    if is_folder(dataset):
        raise WeightsNotFoundError(
            f"dataset '{dataset}' has no shipped classifier; train one with `gan-tf "
            f"train-classifier --dataset={dataset} --out=PATH.weights.h5` "
            "(its class sub-folders are the labels) and pass classifier_weights=PATH.weights.h5",
            "classifier_weights",
        )
    raise ConfigError(
        f"no domain classifier for dataset '{dataset}'; classifiers exist for "
        f"{', '.join(CLASSIFIER_DATASETS)} and folder:PATH datasets with class sub-folders "
        "(use the Inception metrics for other data)"
    )


def _classifier_path(dataset: str, weights: str | None) -> str | None:
    if weights:
        return os.path.expanduser(weights)
    dataset = CLASSIFIER_ALIASES.get(dataset, dataset)
    return shipped_classifier_path(dataset) if dataset in CLASSIFIERS else None


def load_classifier(dataset: str, weights: str | None = None) -> keras.Sequential:
    """The domain classifier for ``dataset`` with trained weights.

    Args:
      dataset: one of :data:`CLASSIFIER_DATASETS`, an alias, or ``folder:PATH``.
      weights: a ``.weights.h5`` file written by ``experiments/train_classifier.py``;
        default: the weights shipped in the package (folders have none).

    Raises:
      ConfigError: for a dataset without a classifier.
      WeightsNotFoundError: missing weights (the message says how to train them).
    """
    dataset = CLASSIFIER_ALIASES.get(dataset, dataset)
    path = _classifier_path(dataset, weights)
    shape, num_classes = classifier_spec(dataset, path)
    if not os.path.exists(path):
        raise WeightsNotFoundError(
            f"no classifier weights at {path}; train them with `gan-tf "
            f"train-classifier --dataset={dataset} --out=PATH.weights.h5` and pass "
            f"classifier_weights=PATH",
            "classifier_weights",
        )
    model = build_classifier(shape, num_classes)
    model.load_weights(path)
    return model


# --------------------------------------------------------------------------- extractors


@dataclasses.dataclass(frozen=True)
class FeatureExtractor:
    """A network that maps uint8 images to ``(features [N, D], logits [N, K])``.

    Attributes:
      name: what the features are, e.g. ``"fashion_mnist_classifier"`` or ``"inception_v3"``.
      network: a Keras model from preprocessed float images to ``[features, logits]``.
      preprocess: uint8 (or ``[-1, 1]`` float) batch -> the network's input.
      image_shape: the ``(H, W, C)`` of images it accepts, or ``None`` for any size.
      weights_id: identifies the trained weights (SHA-256 of the file) for the
        reference-feature cache; ``None`` (random or in-memory weights): never cached.
    """

    name: str
    network: keras.Model
    preprocess: Callable[[tf.Tensor], tf.Tensor]
    image_shape: tuple[int, int, int] | None = None
    weights_id: str | None = None

    def __call__(self, images, *, batch_size: int = 250) -> tuple[np.ndarray, np.ndarray]:
        images = np.asarray(images)
        if images.ndim != 4:
            raise ConfigError(f"images must be [N, H, W, C], got shape {images.shape}")
        if self.image_shape is not None and tuple(images.shape[1:]) != tuple(self.image_shape):
            raise ConfigError(
                f"{self.name} takes {self.image_shape} images, got {tuple(images.shape[1:])}"
            )
        run = self._compiled()
        features, logits = [], []
        for start in range(0, len(images), batch_size):
            batch_features, batch_logits = run(tf.constant(images[start : start + batch_size]))
            features.append(batch_features.numpy())
            logits.append(batch_logits.numpy())
        return np.concatenate(features).astype(np.float64), np.concatenate(logits)

    def _compiled(self):
        """The network on a batch as one ``tf.function`` kept for the extractor's life, so
        every evaluation of a run reuses its traces (one per batch shape and dtype: the
        preprocessing reads the static channel count, so shapes are never relaxed)."""
        run = self.__dict__.get("_run")
        if run is None:

            def forward(batch):
                return self.network(self.preprocess(batch), training=False)

            run = tf.function(forward)
            object.__setattr__(self, "_run", run)  # a cache on a frozen dataclass
        return run


def _batched(function, images, batch_size):
    return np.concatenate(
        [
            np.asarray(function(tf.constant(images[start : start + batch_size])))
            for start in range(0, len(images), batch_size)
        ]
    )


def classifier_extractor(
    dataset: str, weights: str | None = None, model: keras.Model | None = None
) -> FeatureExtractor:
    """A :class:`FeatureExtractor` on the domain classifier of ``dataset``.

    Args:
      dataset: one of :data:`CLASSIFIER_DATASETS`, an alias, or ``folder:PATH``.
      weights: weights file (default: the shipped ones); ignored when ``model`` is given.
      model: an already built classifier (e.g. from :func:`train_classifier`).
    """
    weights_id = None
    if model is None:
        model = load_classifier(dataset, weights)
        weights_id = file_digest(_classifier_path(dataset, weights))
    network = keras.Model(model.inputs, [model.get_layer("features").output, model.outputs[0]])
    shape = tuple(model.input_shape[1:])
    name = "folder_classifier" if is_folder(dataset) else f"{dataset}_classifier"
    if shape[-1] == 3:  # colour: any square size, resized (antialiased) to the classifier's
        return FeatureExtractor(name, network, lambda x: _resized(x, shape[0]), None, weights_id)
    return FeatureExtractor(name, network, _to_float, shape, weights_id)


def _resized(images, side: int) -> tf.Tensor:
    images = _to_float(images)
    if images.shape[1] == side and images.shape[2] == side:
        return images
    return tf.image.resize(images, (side, side), antialias=True)


def inception_preprocess(images) -> tf.Tensor:
    """uint8 ``[N, H, W, 1 or 3]`` -> float ``[N, 299, 299, 3]`` in ``[-1, 1]``.

    Scales to ``[-1, 1]`` (InceptionV3's input range), tiles grayscale to RGB and
    resizes bilinearly (no antialiasing) to 299x299.
    """
    images = _to_float(images)
    if images.shape[-1] == 1:
        images = tf.tile(images, [1, 1, 1, 3])
    return tf.image.resize(images, (INCEPTION_SIZE, INCEPTION_SIZE), method="bilinear")


def inception_network(weights: str | None = "imagenet") -> keras.Model:
    """InceptionV3 from 299x299x3 ``[-1, 1]`` images to ``[pool3 [N, 2048], logits [N, 1000]]``.

    Args:
      weights: ``"imagenet"`` (Keras' download, cached in ``~/.keras/models``), a
        path to ``inception_v3_weights_tf_dim_ordering_tf_kernels.h5``, or ``None``
        for random weights (tests only: such features mean nothing).

    Raises:
      WeightsNotFoundError: when the weights file is missing or cannot be downloaded;
        the message names ``inception_weights``.
    """
    if weights not in (None, "imagenet"):
        weights = os.path.expanduser(weights)
    if weights not in (None, "imagenet") and not os.path.exists(weights):
        raise WeightsNotFoundError(
            f"inception_weights={weights} does not exist; point it at a local copy of "
            f"{INCEPTION_WEIGHTS_FILE} (Keras' InceptionV3 ImageNet weights)",
            "inception_weights",
        )
    try:
        model = keras.applications.InceptionV3(
            include_top=True, weights=weights, classifier_activation=None
        )
    except Exception as error:  # noqa: BLE001 - download failures come in many types
        if weights != "imagenet":
            raise
        reason = " ".join(str(error).split())[:160]
        raise WeightsNotFoundError(
            "InceptionV3 ImageNet weights are not cached and could not be downloaded "
            f"({type(error).__name__}: {reason}). Fix: run once where the internet is "
            f"reachable (Keras caches them in ~/.keras/models), or pass "
            f"inception_weights=PATH to a local {INCEPTION_WEIGHTS_FILE}",
            "inception_weights",
        ) from None
    return keras.Model(model.inputs, [model.get_layer("avg_pool").output, model.outputs[0]])


def fid_extractor(
    weights: str | None = None, *, resize: str = "pytorch_fid", download: bool = True
) -> FeatureExtractor:
    """A :class:`FeatureExtractor` on the reference FID Inception (any image size).

    Args:
      weights: pytorch-fid's ``pt_inception-2015-12-05-6726825d.pth`` (a path), or
        ``None`` for the copy in Keras' cache (downloaded once when ``download``).
      resize: how images reach 299x299, a key of
        :data:`gan_tf.eval.fid_inception.RESIZES` (the default is pytorch-fid's).

    Raises:
      WeightsNotFoundError: no weights file (the message says how to get one).
      gan_tf.eval.torch_file.WeightsFileError: the file is not that network's.
    """
    if resize not in fid_inception.RESIZES:
        raise ConfigError(
            f"resize must be one of {', '.join(fid_inception.RESIZES)}, got {resize!r}", "resize"
        )
    network, digest = fid_inception.fid_inception(weights, download=download)
    return FeatureExtractor(
        f"fid_inception_{resize}",
        network,
        lambda images: fid_inception.preprocess(images, resize),
        weights_id=digest,
    )


def inception_extractor(weights: str | None = "imagenet") -> FeatureExtractor:
    """A :class:`FeatureExtractor` on Keras' InceptionV3 pool3 features and logits (any
    image size): the ``_keras`` metrics, not FID."""
    network = inception_network(weights)
    if weights is None:
        weights_id = None  # random weights: features mean nothing, never cached
    elif weights != "imagenet":
        weights_id = file_digest(os.path.expanduser(weights))
    else:  # where keras.utils.get_file keeps the download
        home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
        cached = os.path.join(home, "models", INCEPTION_WEIGHTS_FILE)
        weights_id = (
            file_digest(cached) if os.path.exists(cached) else f"imagenet-{keras.__version__}"
        )
    return FeatureExtractor(
        "keras_inception_v3", network, inception_preprocess, weights_id=weights_id
    )
