"""DCGAN of Radford, Metz & Chintala, 2015 (arXiv:1511.06434).

Generator: project-and-reshape of z to ``s x s x C``, then stride-2 5x5
``Conv2DTranspose`` layers with batch norm + ReLU, halving the channels each
time, and a tanh output. Discriminator: stride-2 5x5 ``Conv2D`` layers with
LeakyReLU(0.2), batch norm on all but the first, doubling the channels, then
one Dense logit. All weights start N(0, 0.02).

Sized from the image shape: the image side is ``s * 2**k`` with the start side
``s`` in 4..7 and ``k`` >= 2 upsamplings, and the start has ``base_width * 2**k``
channels, so 28x28 starts at 7x7x256, 32x32 at 4x4x512 -> 8x8x256 ->
16x16x128 -> 32x32x3, and 64x64 at 4x4x1024 (the paper's network).

Training defaults (:data:`SPEC`): the paper's Adam(2e-4, beta_1=0.5), at batch 64;
the paper trained with mini-batches of 128 (its "mini-batch SGD" is minibatches
fed to Adam): ``--recipe=paper --batch_size=128`` is the paper's setting;
``--optimizer=sgd --momentum=M --batch_size=128`` trains with plain SGD at that
batch instead (not measured here).

Architecture knobs (``--arch=key=value``, :data:`ARCHITECTURE`): ``base_width``
(channels of the generator's last hidden layer and the discriminator's first,
64), ``d_base_width`` (the discriminator's own first width, 0 = ``base_width``:
a narrow generator with a wider discriminator), ``max_width`` (cap on any layer's channels: 1024,
the paper's widest, so 128 and 256 px images keep the 64 px network's widths instead of growing to
2048/4096 channels; 0 = no cap), ``norm`` (the discriminator's
normalisation: batch, layer, instance or none; instance norm, Ulyanov et al.,
2016, normalises each example's each channel over its feature map), ``attention``
(a SAGAN self-attention block on the feature maps of this side in both networks,
e.g. 16 or 32; 0 = none; Zhang et al., 2019), ``minibatch_stddev`` (the group size of a minibatch
standard deviation feature map before the discriminator's logit, e.g. 4; 0 = none;
Karras et al., 2018), ``minibatch_discrimination`` (the number of kernels of a
minibatch discrimination layer between the discriminator's Flatten and its
logit, each with rows of 5, e.g. 100 as in the authors' CIFAR-10 model; 0 = none;
Salimans et al., 2016), ``upsample`` (how the generator doubles its side:
``transpose``, the paper's stride-2 5x5 ``Conv2DTranspose``, or ``nearest`` /
``bilinear``: ``UpSampling2D`` then a 5x5 ``Conv2D``, the resize-convolution of
Odena et al., 2016, which avoids checkerboard artefacts) and ``kernel_size``
(the side of every convolution kernel in both networks: 5, the paper's, or e.g. 4, the
PyTorch DCGAN example's, 0.64x the multiply-adds), ``subpixel`` (true: the stride-2
convolutions run their transposed direction as a sub-pixel convolution,
:mod:`gan_tf.models.subpixel`, the same weights and values as Keras' stock layers in a
1.2-1.5x faster step on a CPU; false: the stock layers) and ``generator_norm``
(the generator's normalisation: ``batch``, ``instance`` for instance norm, or
``virtual`` for virtual batch normalisation, Salimans et al., 2016:
a fixed batch of :data:`VBN_REFERENCE_SIZE` = 64 reference noise vectors is
prepended to every noise batch, each batch norm becomes a
:class:`~gan_tf.models.layers.VirtualBatchNormalization` that normalises with the
reference batch's statistics plus the example's own, and the reference rows are
dropped before the output, so every sample depends only on its own noise; it
costs a forward pass over 64 more rows per call; in a conditional generator
the reference rows' label part is N(0, 1) noise too, as the builder sees one
input vector), ``hidden_noise`` (the std of Gaussian noise added after every
discriminator activation in training mode, as instance noise on the hidden layers;
0 = none; Sønderby et al., 2016, Arjovsky & Bottou, 2017). Minibatch
discrimination and minibatch stddev compare the examples of one discriminator
call: real and fake batches go through it separately, and under
``tf.distribute`` each replica's batch is compared alone.
"""

from __future__ import annotations

import keras
from keras import layers

from gan_tf.errors import ConfigError
from gan_tf.models.layers import (
    DropReference,
    MinibatchStddev,
    ReferenceBatch,
    SelfAttention,
    VirtualBatchNormalization,
    add_minibatch_discrimination,
    attention_side,
)
from gan_tf.models.spec import ModelSpec, hidden_noise, spectral, weight_init
from gan_tf.models.subpixel import SubpixelConv2D, SubpixelConv2DTranspose

__all__ = [
    "ARCHITECTURE",
    "GENERATOR_NORMS",
    "NORMS",
    "FAST_COLOUR",
    "SPEC",
    "UPSAMPLES",
    "VBN_REFERENCE_SIZE",
    "build_discriminator",
    "build_generator",
    "instance_norm",
    "kernel_size",
    "upsampling_plan",
]

ARCHITECTURE = {
    "base_width": 64,
    "d_base_width": 0,
    "max_width": 1024,
    "norm": "batch",
    "attention": 0,
    "minibatch_stddev": 0,
    "minibatch_discrimination": 0,
    "generator_norm": "batch",
    "hidden_noise": 0.0,
    "upsample": "transpose",
    "kernel_size": 5,
    "subpixel": True,
}
NORMS = ("batch", "layer", "instance", "none")
GENERATOR_NORMS = ("batch", "virtual", "instance")
UPSAMPLES = ("transpose", "nearest", "bilinear")
# Reference rows of virtual batch norm: the batch size of the authors' ImageNet model
# (openai/improved-gan), whose reference batch is one generator batch of fixed noise.
VBN_REFERENCE_SIZE = 64


def upsampling_plan(image_shape: tuple[int, int, int]) -> tuple[int, int]:
    """Returns ``(start_side, num_upsamplings)`` for a square image shape.

    Raises:
      ConfigError: if the image is not square or its side is not ``s * 2**k``
        with ``s >= 4`` and ``k >= 2`` (e.g. 28, 32, 48, 64, 128 work).
    """
    height, width, _ = image_shape
    if height != width:
        raise ConfigError(
            f"DCGAN needs square images, got {height}x{width}; set image_size", "image_size"
        )
    side, steps = height, 0
    while side % 2 == 0 and side // 2 >= 4:
        side //= 2
        steps += 1
    if steps < 2:
        raise ConfigError(
            f"DCGAN cannot build an image of side {height}: it must be s*2**k with s >= 4 and "
            "k >= 2 (e.g. 28, 32, 64); set image_size",
            "image_size",
        )
    return side, steps


def _width(arch: dict, channels: int) -> int:
    cap = arch.get("max_width", 0)
    return min(channels, cap) if cap else channels


def instance_norm() -> keras.layers.Layer:
    """Instance normalisation (Ulyanov et al., 2016): each example's each channel
    normalised over its own height and width, then scaled and shifted per channel
    (``GroupNormalization`` with one group per channel)."""
    return layers.GroupNormalization(groups=-1)


def _upsample(arch: dict, filters: int, use_bias: bool) -> list[keras.layers.Layer]:
    """One x2 upsampling to ``filters`` channels: a stride-2 5x5 ``Conv2DTranspose``
    (``upsample=transpose``, the paper's), or a nearest-neighbour or bilinear
    ``UpSampling2D`` followed by a 5x5 ``Conv2D`` (``nearest``/``bilinear``, the
    resize-convolution of Odena et al., 2016, against checkerboard artefacts)."""
    upsample = arch.get("upsample", "transpose")
    if upsample not in UPSAMPLES:
        raise ConfigError(
            f"arch: unknown upsample '{upsample}'; choose one of: {', '.join(UPSAMPLES)}", "arch"
        )
    options = dict(padding="same", use_bias=use_bias, kernel_initializer=weight_init())
    kernel = kernel_size(arch)
    if upsample == "transpose":
        transpose = SubpixelConv2DTranspose if subpixel(arch) else layers.Conv2DTranspose
        return [transpose(filters, kernel, strides=2, **options)]
    return [
        layers.UpSampling2D(2, interpolation=upsample),
        layers.Conv2D(filters, kernel, **options),
    ]


def kernel_size(arch: dict) -> int:
    """The side of every convolution kernel (``kernel_size``: the paper's 5, or e.g. 4 as
    in the PyTorch DCGAN example, 0.64x the multiply-adds).

    Raises:
      ConfigError: a side below 2.
    """
    kernel = arch.get("kernel_size", ARCHITECTURE["kernel_size"])
    if kernel < 2:
        raise ConfigError(f"arch kernel_size must be >= 2, got {kernel}", "arch")
    return kernel


def subpixel(arch: dict) -> bool:
    """Whether the stride-2 convolutions run their transposed direction as a sub-pixel
    convolution (``subpixel``, default true: :mod:`gan_tf.models.subpixel`, the same
    weights and values as Keras' layers, a 1.2-1.5x faster step on a CPU; false: the
    stock ``Conv2DTranspose``/``Conv2D``)."""
    return bool(arch.get("subpixel", ARCHITECTURE["subpixel"]))


def build_generator(
    latent_dim: int, image_shape: tuple[int, int, int], arch: dict = ARCHITECTURE
) -> keras.Sequential:
    """Builds the DCGAN generator: ``[B, latent_dim]`` -> images in ``[-1, 1]``.

    Args:
      latent_dim: noise size.
      image_shape: ``(H, W, C)``.
      arch: :data:`ARCHITECTURE` knobs; ``generator_norm=virtual`` replaces batch
        norm by virtual batch norm (see the module docstring), ``instance`` by
        instance norm (:func:`instance_norm`; the projection's norm then follows the
        reshape, so it normalises each start channel over its ``s x s`` map);
        ``upsample`` picks how each x2 step is made (:func:`_upsample`).

    Raises:
      ConfigError: an unknown ``generator_norm`` or ``upsample``, or an image side
        DCGAN cannot build.
    """
    generator_norm = arch.get("generator_norm", "batch")
    if generator_norm not in GENERATOR_NORMS:
        raise ConfigError(
            f"arch: unknown generator_norm '{generator_norm}'; choose one of: "
            f"{', '.join(GENERATOR_NORMS)}",
            "arch",
        )
    virtual, instance = generator_norm == "virtual", generator_norm == "instance"

    def normalization():
        if virtual:
            return VirtualBatchNormalization(VBN_REFERENCE_SIZE)
        return instance_norm() if instance else layers.BatchNormalization()

    side, steps = upsampling_plan(image_shape)
    base = arch.get("base_width", ARCHITECTURE["base_width"])
    channels = base * 2**steps
    start = (side, side, _width(arch, channels))
    model = keras.Sequential(name="generator")
    model.add(keras.Input((latent_dim,)))
    if virtual:
        model.add(ReferenceBatch(VBN_REFERENCE_SIZE, name="reference_batch"))
    model.add(
        layers.Dense(side * side * start[-1], use_bias=False, kernel_initializer=weight_init())
    )
    if instance:  # per-channel statistics need the feature maps
        model.add(layers.Reshape(start))
    model.add(normalization())
    model.add(layers.ReLU())
    if not instance:
        model.add(layers.Reshape(start))
    attention = attention_side(arch, [side * 2**i for i in range(steps)], "generator")
    for index in range(steps):
        if side * 2**index == attention:
            model.add(SelfAttention(name="attention"))
        if index == steps - 1:
            break
        channels //= 2
        for layer in _upsample(arch, _width(arch, channels), use_bias=False):
            model.add(layer)
        model.add(normalization())
        model.add(layers.ReLU())
    for layer in _upsample(arch, image_shape[-1], use_bias=True):
        model.add(layer)
    model.add(layers.Activation("tanh", dtype="float32"))
    if virtual:
        model.add(DropReference(VBN_REFERENCE_SIZE, name="drop_reference", dtype="float32"))
    return model


def build_discriminator(
    image_shape: tuple[int, ...], arch: dict = ARCHITECTURE
) -> keras.Sequential:
    """Builds the DCGAN discriminator: images -> ``[B, 1]`` float32 logits.

    Args:
      image_shape: ``(H, W, C)``.
      arch: :data:`ARCHITECTURE` knobs (``norm`` after every conv but the first:
        ``batch`` for DCGAN, ``layer`` for WGAN-GP critics, where batch norm breaks
        the penalty, ``instance`` (:func:`instance_norm`, per example per channel,
        also penalty-safe) or ``none``), plus ``spectral_norm`` (every Conv2D/Dense) and
        ``dropout`` (after every LeakyReLU; 0 = none); ``hidden_noise`` (the std of
        Gaussian noise after every LeakyReLU, before any dropout, in training mode
        only; 0 = none); ``minibatch_stddev`` and ``minibatch_discrimination`` (see
        the module docstring).

    Raises:
      ConfigError: for an unknown ``norm``, a negative ``hidden_noise``,
        ``minibatch_stddev`` or ``minibatch_discrimination``, or an image side DCGAN
        cannot build.
    """
    norm = arch.get("norm", "batch")
    spectral_norm, dropout = arch.get("spectral_norm", False), arch.get("dropout", 0.0)
    noise = hidden_noise(arch)
    if norm not in NORMS:
        raise ConfigError(f"arch: unknown norm '{norm}'; choose one of: {', '.join(NORMS)}", "arch")
    _, steps = upsampling_plan(image_shape)
    base = arch.get("d_base_width") or arch.get("base_width", ARCHITECTURE["base_width"])
    sides = [image_shape[0] // 2 ** (index + 1) for index in range(steps)]
    attention = attention_side(arch, sides, "discriminator")
    model = keras.Sequential(name="discriminator")
    model.add(keras.Input(image_shape))
    for index in range(steps):
        conv = (SubpixelConv2D if subpixel(arch) else layers.Conv2D)(
            _width(arch, base * 2**index),
            kernel_size(arch),
            strides=2,
            padding="same",
            kernel_initializer=weight_init(),
        )
        model.add(spectral(conv, spectral_norm))
        if index > 0 and norm != "none":
            model.add(_discriminator_norm(norm))
        model.add(layers.LeakyReLU(0.2))
        if noise:
            model.add(layers.GaussianNoise(noise))
        if dropout:
            model.add(layers.Dropout(dropout))
        if sides[index] == attention:
            model.add(SelfAttention(spectral_norm, name="attention"))
    _add_minibatch_head(model, arch)
    dense = layers.Dense(1, kernel_initializer=weight_init(), dtype="float32")
    model.add(spectral(dense, spectral_norm))
    return model


def _discriminator_norm(norm: str) -> keras.layers.Layer:
    """The normalisation after a discriminator conv (all but the first)."""
    if norm == "batch":
        return layers.BatchNormalization()
    if norm == "layer":
        return layers.LayerNormalization(axis=[1, 2, 3])
    return instance_norm()


def _add_minibatch_head(model: keras.Sequential, arch: dict) -> None:
    """Minibatch stddev (before the Flatten), the Flatten, and minibatch
    discrimination (after it), as ``arch`` asks."""
    if arch.get("minibatch_stddev", 0) < 0:
        raise ConfigError(
            f"arch minibatch_stddev must be a group size >= 1 (0 = none), got "
            f"{arch['minibatch_stddev']}",
            "arch",
        )
    if arch.get("minibatch_stddev", 0):
        model.add(MinibatchStddev(arch["minibatch_stddev"], name="minibatch_stddev"))
    model.add(layers.Flatten())
    add_minibatch_discrimination(model, arch)


# The fast recipe for colour images, by side: measured on the 64 px emoji by
# benchmarks/time_to_quality.py --task=emoji (docs/colour.md): batch 32 with the learning
# rate decayed linearly to 0 over the run reaches FD 0.91 in 27 minutes where the 28 px
# recipe (batch 64, constant rate) is at 1.38 after 30 (bfloat16, base_width 32). In float32
# on a 2-core CPU without bfloat16 (most laptops) narrower networks win by far at 64 px:
# base_width 16 ends at FD 1.29, recall 0.67 after 20 minutes where 24 ends at 1.83 after 23
# and 32 at 2.90 after 26 (0.22, 0.44 and 0.66 s a step), so 64 px uses 16, as 128 px does
# (FD 2.32 after 20 minutes where the old recipe is at 15.0). 32 px and cgan are carried over.
# --minutes plans at most 64 epochs: on a CPU fast enough to plan 137 (a Zen 4 EPYC in
# bfloat16, 62 ms a step) the 64 px run was best at epoch 48 (FD 1.23) and then got worse
# (3.01 at epoch 90, D(x) 0.996: D memorised the 6,822 emoji), where runs planned to 64-67
# epochs improved to their end (FD 1.09 and 0.98). update=reuse (G's update on the fakes
# D's update saw: one generator pass a step fewer, 136 against 154 ms at base_width 32 in
# bfloat16) ended a 30-minute run at FD 0.86, recall 0.73 where alternating ended at 1.02,
# 0.68 in the same benchmark run (13,206 against 11,502 steps; five draws each).
FAST_COLOUR = {
    side: {
        "update": "reuse",
        "learning_rate": 8e-4,
        "batch_size": 32,
        "lr_decay": "linear",
        "max_epochs": 64,
        "widen": True,
        "arch": {"base_width": width},
    }
    for side, width in ((32, 32), (64, 16), (128, 16))
}

SPEC = ModelSpec(
    name="dcgan",
    paper="Radford, Metz & Chintala, 2015, Unsupervised Representation Learning with Deep "
    "Convolutional GANs (arXiv:1511.06434)",
    defaults={"batch_size": 64, "learning_rate": 2e-4, "beta_1": 0.5},
    # measured by benchmarks/recipe_sweep.py and time_to_quality.py (docs/benchmarks.md
    # #time-to-quality): batch 32 at lr 1.2e-3 reaches FD 3.4 on Fashion-MNIST in 108 s
    # against 132 s at batch 64 and lr 8e-4 (the recipe before issue 29); 4 steps a call
    # (one tf.while_loop: the same steps) took 74 s to FD 3.4 against 80 s at 1 a call;
    # update=reuse (one generator pass a step fewer) the same 3,600 steps in 57-59 s
    # against 60-64 s alternating
    fast={
        "update": "reuse",
        "learning_rate": 1.2e-3,
        "ema": 0.999,
        "batch_size": 32,
        "steps_per_call": 4,
        "arch": {"base_width": 32},
    },
    fast_colour=FAST_COLOUR,
    build_generator=build_generator,
    build_discriminator=build_discriminator,
    architecture=ARCHITECTURE,
)
