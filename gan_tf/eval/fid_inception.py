"""The reference FID network in Keras 3: the 2015-12-05 Inception that papers report FID with.

FID as published (Heusel et al. 2017, TTUR's ``fid.py``) and as every GAN paper's table
reports it uses one frozen network: the ``inception-2015-12-05`` TensorFlow graph. pytorch-fid
(``pytorch_fid/inception.py``) rebuilds that graph on torchvision's Inception v3 and ships
its weights as ``pt_inception-2015-12-05-6726825d.pth``; this module rebuilds the same
network in Keras and reads that file (:mod:`gan_tf.eval.torch_file`, no PyTorch needed):

* torchvision's Inception v3 stem and Mixed blocks, with pytorch-fid's patches that make it
  the 2015 graph: average pooling in the A, C and first E blocks excludes the padding
  (TensorFlow's ``SAME`` average pool), the last E block max-pools (``Mixed_7c``);
* every convolution (no bias) followed by batch norm (eps 0.001, inference statistics) and
  ReLU, one Keras layer per PyTorch module, so each weight is loaded as it is;
* outputs: the 2048-d ``pool_3`` features (global average pool of ``Mixed_7c``) and the
  1008-way logits of the graph's classifier (``fc``; for the Inception Score).

Input: float ``[N, 299, 299, 3]`` in ``[-1, 1]``; :func:`preprocess` makes it from uint8
images with one of the two resize protocols in :data:`RESIZES`.
"""

from __future__ import annotations

import os

import keras
import numpy as np
import tensorflow as tf

from gan_tf.errors import WeightsNotFoundError
from gan_tf.eval.cache import file_digest
from gan_tf.eval.torch_file import WeightsFileError, read_state_dict

__all__ = [
    "FID_SIZE",
    "RESIZES",
    "WEIGHTS_FILE",
    "WEIGHTS_URL",
    "build_fid_inception",
    "fid_inception",
    "fid_weights_path",
    "load_state",
    "preprocess",
]

FID_SIZE = 299
BATCH_NORM_EPSILON = 1e-3
WEIGHTS_FILE = "pt_inception-2015-12-05-6726825d.pth"
WEIGHTS_URL = (
    "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/" + WEIGHTS_FILE
)
WEIGHTS_SHA256_PREFIX = "6726825d"  # the prefix PyTorch Hub checks (it names the file)
# how uint8 images become the network's 299x299 [-1, 1] input (see preprocess)
RESIZES = {
    "pytorch_fid": "x / 255, bilinear to 299x299 with half-pixel centres (PyTorch "
    "align_corners=False, no antialiasing), then 2x - 1: pytorch-fid's protocol",
    "ttur": "x in [0, 255], bilinear to 299x299 as TF1's ResizeBilinear (align_corners=False, "
    "no half-pixel centres), then (x - 128) / 128: the 2015 graph's own ops, as TTUR feeds it",
}


def preprocess(images, resize: str = "pytorch_fid") -> tf.Tensor:
    """uint8 ``[N, H, W, 1 or 3]`` -> float32 ``[N, 299, 299, 3]`` in ``[-1, 1]``.

    Grayscale is repeated to three channels (as pytorch-fid's ``convert("RGB")``). A
    299x299 input is not resampled.

    Args:
      images: uint8 images (float input is taken as ``[0, 255]``).
      resize: a key of :data:`RESIZES`.
    """
    if resize not in RESIZES:
        raise ValueError(f"resize must be one of {', '.join(RESIZES)}, got {resize!r}")
    images = tf.cast(tf.convert_to_tensor(images), tf.float32)
    if images.shape[-1] == 1:
        images = tf.tile(images, [1, 1, 1, 3])
    same = images.shape[1] == FID_SIZE and images.shape[2] == FID_SIZE
    if resize == "pytorch_fid":
        images = images / 255.0
        if not same:
            images = tf.image.resize(images, (FID_SIZE, FID_SIZE), method="bilinear")
        return 2.0 * images - 1.0
    if not same:
        images = tf.raw_ops.ResizeBilinear(
            images=images, size=[FID_SIZE, FID_SIZE], align_corners=False, half_pixel_centers=False
        )
    return (images - 128.0) / 128.0


class _Builder:
    """Builds the functional graph and remembers which Keras conv plays which torch
    ``BasicConv2d`` (its state-dict prefix)."""

    def __init__(self):
        self.convs: dict[str, keras.layers.Conv2D] = {}

    def conv(self, x, prefix: str, filters: int, kernel, strides=1, padding="valid"):
        name = prefix.replace(".", "_")
        layer = keras.layers.Conv2D(filters, kernel, strides, padding, use_bias=False, name=name)
        norm = keras.layers.BatchNormalization(epsilon=BATCH_NORM_EPSILON, name=name + "_bn")
        self.convs[prefix] = (layer, norm)
        return keras.layers.ReLU()(norm(layer(x), training=False))

    def block_a(self, x, name: str, pool_features: int):
        conv = self.conv
        branch1x1 = conv(x, f"{name}.branch1x1", 64, 1)
        branch5x5 = conv(x, f"{name}.branch5x5_1", 48, 1)
        branch5x5 = conv(branch5x5, f"{name}.branch5x5_2", 64, 5, padding="same")
        double = conv(x, f"{name}.branch3x3dbl_1", 64, 1)
        double = conv(double, f"{name}.branch3x3dbl_2", 96, 3, padding="same")
        double = conv(double, f"{name}.branch3x3dbl_3", 96, 3, padding="same")
        pool = keras.layers.AveragePooling2D(3, 1, "same")(x)  # excludes the padding
        pool = conv(pool, f"{name}.branch_pool", pool_features, 1)
        return keras.layers.Concatenate(name=name)([branch1x1, branch5x5, double, pool])

    def block_b(self, x, name: str):
        conv = self.conv
        branch3x3 = conv(x, f"{name}.branch3x3", 384, 3, strides=2)
        double = conv(x, f"{name}.branch3x3dbl_1", 64, 1)
        double = conv(double, f"{name}.branch3x3dbl_2", 96, 3, padding="same")
        double = conv(double, f"{name}.branch3x3dbl_3", 96, 3, strides=2)
        pool = keras.layers.MaxPooling2D(3, 2)(x)
        return keras.layers.Concatenate(name=name)([branch3x3, double, pool])

    def block_c(self, x, name: str, channels_7x7: int):
        conv, c7 = self.conv, channels_7x7
        branch1x1 = conv(x, f"{name}.branch1x1", 192, 1)
        branch7x7 = conv(x, f"{name}.branch7x7_1", c7, 1)
        branch7x7 = conv(branch7x7, f"{name}.branch7x7_2", c7, (1, 7), padding="same")
        branch7x7 = conv(branch7x7, f"{name}.branch7x7_3", 192, (7, 1), padding="same")
        double = conv(x, f"{name}.branch7x7dbl_1", c7, 1)
        for index, (filters, kernel) in enumerate(
            ((c7, (7, 1)), (c7, (1, 7)), (c7, (7, 1)), (192, (1, 7))), start=2
        ):
            double = conv(double, f"{name}.branch7x7dbl_{index}", filters, kernel, padding="same")
        pool = keras.layers.AveragePooling2D(3, 1, "same")(x)
        pool = conv(pool, f"{name}.branch_pool", 192, 1)
        return keras.layers.Concatenate(name=name)([branch1x1, branch7x7, double, pool])

    def block_d(self, x, name: str):
        conv = self.conv
        branch3x3 = conv(x, f"{name}.branch3x3_1", 192, 1)
        branch3x3 = conv(branch3x3, f"{name}.branch3x3_2", 320, 3, strides=2)
        branch7x7 = conv(x, f"{name}.branch7x7x3_1", 192, 1)
        branch7x7 = conv(branch7x7, f"{name}.branch7x7x3_2", 192, (1, 7), padding="same")
        branch7x7 = conv(branch7x7, f"{name}.branch7x7x3_3", 192, (7, 1), padding="same")
        branch7x7 = conv(branch7x7, f"{name}.branch7x7x3_4", 192, 3, strides=2)
        pool = keras.layers.MaxPooling2D(3, 2)(x)
        return keras.layers.Concatenate(name=name)([branch3x3, branch7x7, pool])

    def block_e(self, x, name: str, max_pool: bool):
        conv = self.conv

        def split(inputs, prefix):  # a (1, 3) and a (3, 1) conv side by side
            wide = conv(inputs, f"{prefix}a", 384, (1, 3), padding="same")
            tall = conv(inputs, f"{prefix}b", 384, (3, 1), padding="same")
            return keras.layers.Concatenate()([wide, tall])

        branch1x1 = conv(x, f"{name}.branch1x1", 320, 1)
        branch3x3 = split(conv(x, f"{name}.branch3x3_1", 384, 1), f"{name}.branch3x3_2")
        double = conv(x, f"{name}.branch3x3dbl_1", 448, 1)
        double = conv(double, f"{name}.branch3x3dbl_2", 384, 3, padding="same")
        double = split(double, f"{name}.branch3x3dbl_3")
        pooling = keras.layers.MaxPooling2D if max_pool else keras.layers.AveragePooling2D
        pool = conv(pooling(3, 1, "same")(x), f"{name}.branch_pool", 192, 1)
        return keras.layers.Concatenate(name=name)([branch1x1, branch3x3, double, pool])


def build_fid_inception() -> tuple[keras.Model, dict[str, keras.layers.Conv2D]]:
    """The network with uninitialised weights, and its convs by torch state-dict prefix.

    Returns:
      ``(model, convs)``: ``model`` maps ``[N, 299, 299, 3]`` in ``[-1, 1]`` to
      ``[pool_3 [N, 2048], logits [N, 1008]]``; ``convs`` maps e.g.
      ``"Mixed_5b.branch1x1"`` to its ``(Conv2D, BatchNormalization)`` pair.
    """
    build = _Builder()
    inputs = keras.Input((FID_SIZE, FID_SIZE, 3), name="image")
    x = build.conv(inputs, "Conv2d_1a_3x3", 32, 3, strides=2)
    x = build.conv(x, "Conv2d_2a_3x3", 32, 3)
    x = build.conv(x, "Conv2d_2b_3x3", 64, 3, padding="same")
    x = keras.layers.MaxPooling2D(3, 2)(x)
    x = build.conv(x, "Conv2d_3b_1x1", 80, 1)
    x = build.conv(x, "Conv2d_4a_3x3", 192, 3)
    x = keras.layers.MaxPooling2D(3, 2)(x)
    for name, pool_features in (("Mixed_5b", 32), ("Mixed_5c", 64), ("Mixed_5d", 64)):
        x = build.block_a(x, name, pool_features)
    x = build.block_b(x, "Mixed_6a")
    for name, channels in (("Mixed_6b", 128), ("Mixed_6c", 160), ("Mixed_6d", 160)):
        x = build.block_c(x, name, channels)
    x = build.block_c(x, "Mixed_6e", 192)
    x = build.block_d(x, "Mixed_7a")
    x = build.block_e(x, "Mixed_7b", max_pool=False)
    x = build.block_e(x, "Mixed_7c", max_pool=True)
    features = keras.layers.GlobalAveragePooling2D(name="pool_3")(x)
    logits = keras.layers.Dense(1008, name="fc")(features)
    model = keras.Model(inputs, [features, logits], name="fid_inception_2015_12_05")
    return model, build.convs


def load_state(model: keras.Model, convs: dict, state: dict[str, np.ndarray]) -> None:
    """Sets the network's weights from pytorch-fid's state dict (NumPy arrays by name).

    Each ``BasicConv2d`` gives its conv weight (transposed from ``[out, in, kh, kw]`` to
    ``[kh, kw, in, out]``) to the Conv2D and its batch-norm weight, bias, running mean
    and variance to the BatchNormalization; ``fc`` is transposed into the Dense layer.

    Raises:
      WeightsFileError: a missing or misshapen tensor (not this network's file).
    """
    expected = {f"{prefix}.{part}" for prefix in convs for part in _CONV_PARTS}
    missing = sorted(expected - set(state)) + [
        k for k in ("fc.weight", "fc.bias") if k not in state
    ]
    if missing:
        raise WeightsFileError(
            f"the weights lack {len(missing)} tensors of the FID Inception (first: "
            f"{missing[0]}); give pytorch-fid's {WEIGHTS_FILE}"
        )
    for prefix, (layer, norm) in convs.items():
        weight, gamma, beta, mean, variance = (
            np.asarray(state[f"{prefix}.{part}"], np.float32) for part in _CONV_PARTS
        )
        kernel_shape = tuple(layer.kernel.shape)
        if weight.ndim != 4 or weight.transpose(2, 3, 1, 0).shape != kernel_shape:
            raise WeightsFileError(
                f"{prefix}.conv.weight has shape {weight.shape}, expected the transpose of "
                f"{kernel_shape}; give pytorch-fid's {WEIGHTS_FILE}"
            )
        layer.set_weights([weight.transpose(2, 3, 1, 0)])
        norm.set_weights([gamma, beta, mean, variance])
    fc = model.get_layer("fc")
    weight, bias = np.asarray(state["fc.weight"]), np.asarray(state["fc.bias"])
    if weight.shape != (1008, 2048) or bias.shape != (1008,):
        raise WeightsFileError(f"fc.weight has shape {weight.shape}, expected (1008, 2048)")
    fc.set_weights([weight.T.astype(np.float32), bias.astype(np.float32)])


_CONV_PARTS = ("conv.weight", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var")


def fid_weights_path(weights: str | None = None, *, download: bool = True) -> str:
    """A local copy of pytorch-fid's weights file: ``weights`` if given, else Keras' cache
    (``~/.keras/models``), downloaded there once from pytorch-fid's release when allowed.

    The download is checked the way PyTorch Hub checks it: its SHA-256 must start with
    the ``6726825d`` the file is named by.

    Raises:
      WeightsNotFoundError: the file is missing and cannot be downloaded (the message
        gives the URL and the ``fid_weights`` parameter for an offline copy).
    """
    if weights:
        path = os.path.expanduser(weights)
        if not os.path.isfile(path):
            raise WeightsNotFoundError(
                f"fid_weights={weights} does not exist; download {WEIGHTS_URL} and pass its path",
                "fid_weights",
            )
        return path
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    cached = os.path.join(home, "models", WEIGHTS_FILE)
    if not os.path.isfile(cached):
        if not download:
            raise WeightsNotFoundError(_missing(cached, "downloads are off"), "fid_weights")
        try:
            cached = keras.utils.get_file(WEIGHTS_FILE, WEIGHTS_URL, cache_subdir="models")
        except Exception as error:  # noqa: BLE001 - download failures come in many types
            reason = f"{type(error).__name__}: {' '.join(str(error).split())[:100]}"
            raise WeightsNotFoundError(_missing(cached, reason), "fid_weights") from None
    if not file_digest(cached).startswith(WEIGHTS_SHA256_PREFIX):
        os.replace(cached, cached + ".bad")
        raise WeightsNotFoundError(
            f"{cached} is not pytorch-fid's file (its SHA-256 does not start with "
            f"{WEIGHTS_SHA256_PREFIX}); moved it to {cached}.bad — run again to download it",
            "fid_weights",
        )
    return cached


def _missing(cached: str, reason: str) -> str:
    return (
        f"the FID Inception weights are not in {os.path.dirname(cached)} and could not be "
        f"downloaded ({reason}). Fix: where the internet is reachable, run `python -c "
        '"import gan_tf.eval.fid_inception as f; print(f.fid_weights_path())"`, or download '
        f"{WEIGHTS_URL} and pass --fid_weights=PATH"
    )


def fid_inception(weights: str | None = None, *, download: bool = True):
    """The network with pytorch-fid's weights loaded.

    Args:
      weights: path of ``pt_inception-2015-12-05-6726825d.pth`` (or a state dict of the
        same tensors, e.g. random ones for tests); ``None`` uses (and fills) Keras' cache.
      download: whether a missing cache entry may be downloaded.

    Returns:
      ``(model, sha256 of the weights file)``.

    Raises:
      WeightsNotFoundError: no weights file (the message says how to get it).
      WeightsFileError: the file is not this network's state dict.
    """
    path = fid_weights_path(weights, download=download)
    model, convs = build_fid_inception()
    load_state(model, convs, read_state_dict(path))
    return model, file_digest(path)
