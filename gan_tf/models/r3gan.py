"""R3GAN: Huang, Gokaslan, Kuleshov & Tompkin, 2024, "The GAN is dead; long live the
GAN! A Modern GAN Baseline" (NeurIPS 2024, arXiv:2501.05441).

The networks follow the authors' PyTorch code (``brownvc/R3GAN``: ``R3GAN/Networks.py``,
``R3GAN/FusedOperators.py``, ``R3GAN/Resamplers.py``); the training defaults follow its
``train.py`` CIFAR-10 preset and ``R3GAN/Trainer.py``.

Residual block (:class:`ResidualBlock`, ``Networks.py`` ``ResidualBlock``), an inverted
bottleneck added to its input, with no normalisation anywhere in either network::

    x + conv1x1(E*W -> W)( lrelu( gconv3x3(E*W -> E*W, groups)( lrelu( conv1x1(W -> E*W)(x) ))))

Each ``lrelu`` is the authors' ``BiasedActivation``: a learned per-channel bias (start
0), then leaky ReLU with slope 0.2, not rescaled. Here the bias is the bias of the conv
before it, which is the same function with the same parameters; the last conv has no
bias, as in the authors' code.

Initialisation (fix-up style, ``Networks.py`` ``MSRInitializer`` and ``ResidualBlock``):
every kernel is N(0, gain**2 / fan_in) with fan_in = input channels per group x kernel
area; biases start at 0. The block's first two convs take gain
``sqrt(2 / (1 + 0.2**2)) * L**(-1/4)``, the leaky ReLU's gain times the variance-scaling
factor ``L**(-1 / (2 * 3 - 2))`` for L = the network's total number of residual blocks
(3 linear layers per block); the block's last conv starts at **zero**, so a fresh block
is the identity and a fresh network is a chain of linear layers. Every other layer
(transitions, bases, image and logit layers) takes gain 1.

Generator (``Networks.py`` ``Generator``)::

    z -> GenerativeBasis -> 4x4 stage -> [1x1 conv, up x2] -> 8x8 stage -> ... -> side stage
      -> 1x1 conv to C channels (no bias) -> tanh

A stage is ``blocks`` residual blocks. :class:`GenerativeBasis` is the authors': a
learned ``4 x 4 x W`` basis (start N(0, 1)) scaled per channel by a linear map of z
(no bias). Between stages the channel change comes first (a 1x1 conv, no bias, only
when the width changes), then the x2 upsampling, as in ``UpsampleLayer``.

Discriminator (``Networks.py`` ``Discriminator``), the mirror image::

    image -> 1x1 conv (no bias) -> side stage -> [down x2, 1x1 conv] -> ... -> 4x4 stage
      -> DiscriminativeBasis -> [B, 1] float32 logits (real = 1, fake = 0; no sigmoid)

Here the downsampling comes first and the 1x1 conv after (``DownsampleLayer``). The
discriminative basis is the authors' ``DiscriminativeBasis``: a 4x4 depthwise conv
without padding or bias (4x4xW -> 1x1xW), then ``Dense(1)`` without bias, both in
float32.

Resampling (:class:`Resample2x`) is the authors' ``InterpolativeUpsampler`` /
``InterpolativeDownsampler`` with their default filter [1, 2, 1], i.e. the separable
FIR filter [1, 3, 3, 1] (``Resamplers.py`` ``CreateLowpassKernel``) applied as
StyleGAN2's ``upfirdn2d`` applies it, zero padding included: x2 upsampling is
bilinear interpolation, ``(x[i-1] + 3 x[i]) / 4`` and ``(3 x[i] + x[i+1]) / 4``, and x2
downsampling is ``(x[2j-1] + 3 x[2j] + 3 x[2j+1] + x[2j+2]) / 8``. It is computed with
shifted slices rather than a CUDA kernel; the values are the same. (Keras'
``UpSampling2D(interpolation="bilinear")`` agrees except on the border pixels, where
it repeats the edge instead of reading zeros.)

The grouped 3x3 conv is :class:`GroupedConv2D`: a ``keras.layers.Conv2D`` with
``groups`` (same weights and config) that runs one plain conv per group, because
Keras' own grouped conv goes through XLA, over 20x slower on a CPU.

What differs from the authors' networks, and why:

* **tanh on the generator's output.** The authors' generator ends with the 1x1 conv:
  its images are unbounded (their ``gen_images.py`` clamps them to [0, 255] when it
  saves them). gan_tf's generators all return images in [-1, 1] (what its data,
  sample grids and metrics assume), so a tanh follows, as in the library's other
  generators. A tanh rather than a clip: a clip has zero gradient outside [-1, 1],
  so a pixel that overshoots would stop learning; tanh is close to the identity
  near 0, where a fresh R3GAN generator's outputs are.
* **Precision.** The authors run their lowest-resolution stages in bfloat16
  (``train.py`` ``FP16Stages``); here the Keras global policy decides for every layer
  except the generator's output layers and the discriminator's basis and logit, which
  are float32 so ``mixed_bfloat16`` works.
* **Conditioning.** The class-conditional networks are in
  :mod:`gan_tf.models.r3gan_conditional`, with the library's generic conditioning
  (not the authors' class embedding in G and projection in D).
* **Stage widths** come from a few knobs instead of per-stage lists (below); the
  authors' presets are reachable with them.

Sizes: any square side ``4 * 2**k`` with ``k >= 1`` (8, 16, 32, 64, 128, 256, ...), any
channel count; other shapes raise :class:`~gan_tf.errors.ConfigError` naming
``image_size``. The generic ``spectral_norm`` and ``d_dropout`` are refused (the
authors use neither, and the loss's R1 + R2 penalties are what keeps D in check).

Architecture knobs (``--arch=key=value``, :data:`ARCHITECTURE`):

* ``width`` (256): channels of the 4x4 stage, the widest (the authors' CIFAR-10:
  768 = ``3 * 1024 // 4``, ``train.py`` ``WidthPerStage``).
* ``full_width_side`` (4): the largest side whose stage still has ``width`` channels;
  each doubling of the side beyond it halves the channels, down to ``min_width``
  (the authors' FFHQ presets halve from 64 px on: ``full_width_side=32``).
* ``min_width`` (32): the fewest channels of any stage (<= ``width``). The defaults
  give 256, 128, 64, 32, 32 channels at 4, 8, 16, 32, 64 px.
* ``cardinality`` (32): the number of groups of the grouped 3x3 conv in a
  ``width``-channel stage (the authors' ``CardinalityPerStage``: 96 for CIFAR-10, so
  ``2 * 768 / 96 = 16`` channels per group). A stage ``f`` times narrower has ``f``
  times fewer groups (at least 1), so the channels per group stay the same, as in the
  authors' FFHQ presets (96, 48, 24, 12 groups for 768, 384, 192, 96 channels). The
  groups must divide ``expansion`` x the stage's channels.
* ``expansion`` (2): the inverted bottleneck's factor E (``train.py``
  ``ExpansionFactor``).
* ``blocks`` (2): residual blocks per stage (``train.py`` ``BlocksPerStage``).

The paper's CIFAR-10 networks: ``--arch=width=768,min_width=768,cardinality=96`` with
``--latent_dim=64`` (four stages of 768 channels and 96 groups). Trainable parameters
(64-d noise, 3 channels): with the default knobs 1,040,224 (G) and 1,024,096 (D) at
32 px, 1,067,104 and 1,050,976 at 64 px; the paper's CIFAR-10 setting 20,732,160 and
20,683,776 at 32 px (2,583,552 per residual block). The defaults are sized for a CPU:
a forward + backward pass of G and D at batch 64 and 64 px took about 3 s on 2 CPU
threads (float32 or mixed_bfloat16); ``min_width=64`` doubles that.

Training defaults (:data:`SPEC`, the authors' CIFAR-10 preset, ``train.py``
lines 178-196, and ``README.md``'s CIFAR-10 command): the RpGAN loss with R1 and R2
penalties of one gamma (``R3GAN/Trainer.py``; ``rpgan``, ``r1_weight = r2_weight``),
Adam with beta_1 = 0, batch 512, 64-d noise, one D update per G update. The authors
anneal lr 2e-4 -> 5e-5, gamma 0.05 -> 0.005, beta_2 0.9 -> 0.99 and the EMA half-life
0 -> 5M images along a cosine over 20M images; gan_tf has one value of each, and a run
here is far shorter than 20M images, so the defaults are the values those schedules
start from (lr 2e-4, gamma 0.05, beta_2 0.9), except the EMA: its decay is the
schedule's final half-life of 5M images at batch 512 (:data:`EMA_DECAY`,
``0.5 ** (512 / 5e6)``, the authors' per-step formula in
``training/training_loop.py``), since gan_tf's EMA warms up on its own
(:func:`gan_tf.parts.hooks.ema_decay`), standing in for the authors' ramp from 0.
With another batch size the half-life in images changes; set ``--ema`` to
``0.5 ** (batch_size / 5e6)`` to keep it. The authors also train with ADA-style
augmentation (probability 0 -> 0.55), which is not part of these defaults.
"""

from __future__ import annotations

import dataclasses
import math

import keras
from keras import layers, ops

from gan_tf.errors import ConfigError
from gan_tf.models.spec import ModelSpec

__all__ = [
    "ACTIVATION_GAIN",
    "ARCHITECTURE",
    "BASIS_SIDE",
    "EMA_DECAY",
    "GAMMA",
    "SPEC",
    "GenerativeBasis",
    "GroupedConv2D",
    "Resample2x",
    "ResidualBlock",
    "Stage",
    "block_gain",
    "build_discriminator",
    "build_generator",
    "msr_initializer",
    "stage_plan",
]

ARCHITECTURE = {
    "width": 256,
    "full_width_side": 4,
    "min_width": 32,
    "cardinality": 32,
    "expansion": 2,
    "blocks": 2,
}
BASIS_SIDE = 4  # both networks' lowest resolution
NEGATIVE_SLOPE = 0.2  # of every leaky ReLU (FusedOperators.py)
# The leaky ReLU's gain, FusedOperators.py BiasedActivation.Gain.
ACTIVATION_GAIN = math.sqrt(2.0 / (1.0 + NEGATIVE_SLOPE**2))
LINEAR_LAYERS_PER_BLOCK = 3  # Networks.py ResidualBlock.NumberOfLinearLayers
GAMMA = 0.05  # R1 and R2 weight: train.py CIFAR10 gamma_scheduler base_value
BATCH_SIZE = 512  # README.md, the CIFAR-10 training command (--batch=512)
EMA_HALF_LIFE_IMAGES = 5_000_000  # train.py CIFAR10 ema_nimg
# training/training_loop.py: ema_beta = 0.5 ** (batch_size / ema_nimg)
EMA_DECAY = 0.5 ** (BATCH_SIZE / EMA_HALF_LIFE_IMAGES)


def msr_initializer(fan_in: int, gain: float) -> keras.initializers.Initializer:
    """N(0, (gain / sqrt(fan_in))**2), the authors' ``MSRInitializer``; zeros for gain 0.

    ``fan_in`` is given (input channels per group x kernel area) rather than read from
    the kernel's shape, since Keras counts a depthwise kernel's fan-in over all channels.
    """
    if gain == 0:
        return keras.initializers.Zeros()
    return keras.initializers.RandomNormal(stddev=gain / math.sqrt(fan_in))


def block_gain(total_blocks: int) -> float:
    """The gain of a residual block's first two convs in a network of ``total_blocks``
    blocks: the leaky ReLU's gain times ``L ** (-1 / (2 * 3 - 2))`` (fix-up style)."""
    return ACTIVATION_GAIN * total_blocks ** (-1.0 / (2 * LINEAR_LAYERS_PER_BLOCK - 2))


@keras.saving.register_keras_serializable(package="gan_tf")
class GroupedConv2D(layers.Conv2D):
    """``keras.layers.Conv2D`` with ``groups``, computed as one ordinary conv per group,
    concatenated (channels-last inputs).

    Same weights, config and result as ``Conv2D(groups=...)``; only the op differs.
    Keras 3's TensorFlow backend runs every grouped conv through an XLA-compiled
    function, which on a CPU made R3GAN's forward + backward pass (batch 64, 64 px,
    default knobs, 2 threads) take 78 s instead of 3 s; TensorFlow's own grouped conv
    kernel needs oneDNN (without it the penalties' second-order gradients fail).
    """

    def convolution_op(self, inputs, kernel):
        if self.groups == 1:
            return super().convolution_op(inputs, kernel)
        pieces = zip(
            ops.split(inputs, self.groups, axis=-1),
            ops.split(kernel, self.groups, axis=-1),
            strict=True,
        )
        return ops.concatenate(
            [super(GroupedConv2D, self).convolution_op(part, weights) for part, weights in pieces],
            axis=-1,
        )


@keras.saving.register_keras_serializable(package="gan_tf")
class ResidualBlock(layers.Layer):
    """R3GAN's inverted-bottleneck residual block: ``x + f(x)``, same shape in and out.

    ``f`` = 1x1 conv to ``expansion * C`` channels (+ bias) -> leaky ReLU(0.2) -> 3x3 conv
    with ``groups`` groups (+ bias) -> leaky ReLU(0.2) -> 1x1 conv back to ``C`` (no
    bias, zero init), for inputs ``[B, H, W, C]``.

    Args:
      groups: groups of the 3x3 conv; must divide ``expansion * C``.
      expansion: the bottleneck's expansion factor.
      gain: the initialisation gain of the first two convs (:func:`block_gain`).
    """

    def __init__(self, groups: int, expansion: int, gain: float, **kwargs):
        super().__init__(**kwargs)
        self.groups, self.expansion, self.gain = int(groups), int(expansion), float(gain)

    def build(self, input_shape):
        channels = int(input_shape[-1])
        expanded = self.expansion * channels
        options = {"padding": "same", "dtype": self.dtype_policy}
        self.expand = layers.Conv2D(
            expanded,
            1,
            kernel_initializer=msr_initializer(channels, self.gain),
            name="expand",
            **options,
        )
        self.grouped = GroupedConv2D(
            expanded,
            3,
            groups=self.groups,
            kernel_initializer=msr_initializer(9 * expanded // self.groups, self.gain),
            name="grouped",
            **options,
        )
        self.project = layers.Conv2D(
            channels, 1, use_bias=False, kernel_initializer="zeros", name="project", **options
        )
        for layer, shape in (
            (self.expand, input_shape),
            (self.grouped, (*input_shape[:-1], expanded)),
            (self.project, (*input_shape[:-1], expanded)),
        ):
            layer.build(shape)

    def call(self, inputs):
        hidden = ops.leaky_relu(self.expand(inputs), NEGATIVE_SLOPE)
        hidden = ops.leaky_relu(self.grouped(hidden), NEGATIVE_SLOPE)
        return inputs + self.project(hidden)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "groups": self.groups,
            "expansion": self.expansion,
            "gain": self.gain,
        }


def _along(x, axis: int, start: int, stop: int, step: int = 1):
    """``x[..., start:stop:step, ...]`` with the slice on ``axis``."""
    index = [slice(None)] * len(x.shape)
    index[axis] = slice(start, stop, step)
    return x[tuple(index)]


def _pad_axis(x, axis: int):
    """``x`` with one zero on both ends of ``axis``."""
    padding = [[0, 0]] * len(x.shape)
    padding[axis] = [1, 1]
    return ops.pad(x, padding)


def _upsample_axis(x, axis: int):
    """Doubles ``x`` along ``axis``: ``(x[i-1] + 3 x[i]) / 4``, ``(3 x[i] + x[i+1]) / 4``
    with zeros beyond the edges (upfirdn2d with the [1, 3, 3, 1] filter)."""
    size, padded = x.shape[axis], _pad_axis(x, axis)
    before, centre, after = (_along(padded, axis, start, start + size) for start in range(3))
    even, odd = 0.25 * before + 0.75 * centre, 0.75 * centre + 0.25 * after
    stacked = ops.stack([even, odd], axis=axis + 1)  # [..., size, 2, ...]
    shape = [-1 if dim is None else dim for dim in x.shape]
    shape[axis] = 2 * size
    return ops.reshape(stacked, shape)


def _downsample_axis(x, axis: int):
    """Halves ``x`` along ``axis``: ``(x[2j-1] + 3 x[2j] + 3 x[2j+1] + x[2j+2]) / 8`` with
    zeros beyond the edges (upfirdn2d's downsample2d with the [1, 3, 3, 1] filter)."""
    size, padded = x.shape[axis], _pad_axis(x, axis)
    taps = [_along(padded, axis, start, start + size, 2) for start in range(4)]
    return (taps[0] + 3.0 * taps[1] + 3.0 * taps[2] + taps[3]) / 8.0


@keras.saving.register_keras_serializable(package="gan_tf")
class Resample2x(layers.Layer):
    """The authors' interpolative x2 resampling of ``[B, H, W, C]`` feature maps.

    Args:
      direction: ``"up"`` (bilinear x2, ``[B, 2H, 2W, C]``) or ``"down"`` (the
        [1, 3, 3, 1] low-pass filter, then every other pixel: ``[B, H/2, W/2, C]``).
    """

    def __init__(self, direction: str, **kwargs):
        super().__init__(**kwargs)
        if direction not in ("up", "down"):
            raise ConfigError(f"Resample2x direction must be 'up' or 'down', got {direction!r}")
        self.direction = direction

    def call(self, inputs):
        resample = _upsample_axis if self.direction == "up" else _downsample_axis
        return resample(resample(inputs, 1), 2)

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        scale = (lambda n: 2 * n) if self.direction == "up" else (lambda n: n // 2)
        return (batch, scale(height), scale(width), channels)

    def get_config(self):
        return {**super().get_config(), "direction": self.direction}


@keras.saving.register_keras_serializable(package="gan_tf")
class GenerativeBasis(layers.Layer):
    """The authors' generator input: ``[B, D]`` noise -> ``[B, 4, 4, channels]``, a learned
    4x4 basis (start N(0, 1)) scaled per channel by ``z @ kernel`` (no bias; kernel
    N(0, 1 / D))."""

    def __init__(self, channels: int, **kwargs):
        super().__init__(**kwargs)
        self.channels = int(channels)

    def build(self, input_shape):
        fan_in = int(input_shape[-1])
        self.kernel = self.add_weight(
            shape=(fan_in, self.channels), initializer=msr_initializer(fan_in, 1.0), name="kernel"
        )
        self.basis = self.add_weight(
            shape=(BASIS_SIDE, BASIS_SIDE, self.channels),
            initializer=keras.initializers.RandomNormal(stddev=1.0),
            name="basis",
        )

    def call(self, inputs):
        scales = ops.matmul(inputs, self.kernel)
        return self.basis[None] * scales[:, None, None, :]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], BASIS_SIDE, BASIS_SIDE, self.channels)

    def get_config(self):
        return {**super().get_config(), "channels": self.channels}


@dataclasses.dataclass(frozen=True)
class Stage:
    """One resolution of an R3GAN network: its side, channels and 3x3-conv groups."""

    side: int
    width: int
    groups: int


_POSITIVE_KNOBS = ("width", "min_width", "cardinality", "expansion", "blocks")


def _knobs(arch: dict) -> dict:
    """The R3GAN knobs of ``arch`` (defaults for the missing ones), checked.

    Raises:
      ConfigError: a knob below 1, ``min_width > width`` or a ``full_width_side`` that
        is not a power of two >= 4.
    """
    knobs = {key: arch.get(key, default) for key, default in ARCHITECTURE.items()}
    for key in _POSITIVE_KNOBS:
        if not isinstance(knobs[key], int) or knobs[key] < 1:
            raise ConfigError(f"arch {key} must be an integer >= 1, got {knobs[key]!r}", "arch")
    if knobs["min_width"] > knobs["width"]:
        raise ConfigError(
            f"arch min_width={knobs['min_width']} must be <= width={knobs['width']}", "arch"
        )
    side = knobs["full_width_side"]
    if not isinstance(side, int) or side < BASIS_SIDE or side & (side - 1):
        raise ConfigError(
            f"arch full_width_side must be a power of two >= 4 (a stage's side), got {side!r}",
            "arch",
        )
    return knobs


def _image_side(image_shape: tuple[int, ...]) -> int:
    """The side of a square ``(side, side, C)`` image with side ``4 * 2**k``, ``k >= 1``.

    Raises:
      ConfigError: for any other shape (names ``image_size``).
    """
    if len(image_shape) != 3 or image_shape[0] != image_shape[1]:
        raise ConfigError(
            f"R3GAN needs square (H, W, C) images, got {tuple(image_shape)}; set image_size",
            "image_size",
        )
    side = int(image_shape[0])
    multiple = side // BASIS_SIDE
    if side < 2 * BASIS_SIDE or side % BASIS_SIDE or multiple & (multiple - 1):
        raise ConfigError(
            f"R3GAN builds images of side 4 * 2**k (8, 16, 32, 64, 128, 256, ...), not "
            f"{side}x{side}; set image_size",
            "image_size",
        )
    return side


def stage_plan(image_shape: tuple[int, ...], arch: dict) -> list[Stage]:
    """The stages of both networks for ``image_shape``, from 4x4 up to the image's side
    (the discriminator walks them backwards).

    Raises:
      ConfigError: a bad image shape (names ``image_size``) or bad knobs (names
        ``arch``), e.g. groups that do not divide a stage's expanded channels.
    """
    side, knobs = _image_side(image_shape), _knobs(arch)
    stages, current = [], BASIS_SIDE
    while current <= side:
        halvings = max(0, (current // knobs["full_width_side"]).bit_length() - 1)
        width = max(knobs["min_width"], knobs["width"] >> halvings)
        groups = max(1, knobs["cardinality"] * width // knobs["width"])
        if (knobs["expansion"] * width) % groups:
            raise ConfigError(
                f"arch: the {current}x{current} stage's {groups} groups do not divide its "
                f"{knobs['expansion']} x {width} expanded channels; change cardinality",
                "arch",
            )
        stages.append(Stage(current, width, groups))
        current *= 2
    return stages


def _stage_blocks(x, stage: Stage, arch: dict, gain: float):
    """``blocks`` residual blocks at ``stage``, named ``stage{side}_block{n}``."""
    for index in range(arch.get("blocks", ARCHITECTURE["blocks"])):
        x = ResidualBlock(
            stage.groups,
            arch.get("expansion", ARCHITECTURE["expansion"]),
            gain,
            name=f"stage{stage.side}_block{index + 1}",
        )(x)
    return x


def _channel_change(x, width: int, name: str):
    """The transitions' 1x1 conv (no bias, gain 1) when ``x`` does not have ``width``
    channels, else ``x``."""
    channels = x.shape[-1]
    if channels == width:
        return x
    conv = layers.Conv2D(
        width, 1, use_bias=False, kernel_initializer=msr_initializer(channels, 1.0), name=name
    )
    return conv(x)


def _network_gain(stages: list[Stage], arch: dict) -> float:
    return block_gain(len(stages) * arch.get("blocks", ARCHITECTURE["blocks"]))


def build_generator(
    latent_dim: int, image_shape: tuple[int, int, int], arch: dict = ARCHITECTURE
) -> keras.Model:
    """Builds the R3GAN generator: ``[B, latent_dim]`` noise -> images in ``[-1, 1]``.

    Args:
      latent_dim: noise size (the authors: 64).
      image_shape: ``(side, side, C)`` with side ``4 * 2**k`` (k >= 1), any ``C``.
      arch: :data:`ARCHITECTURE` knobs (missing ones take their defaults).

    Returns:
      A functional ``keras.Model``; its output layers are float32.

    Raises:
      ConfigError: an unsupported image shape (names ``image_size``) or bad knobs.
    """
    stages = stage_plan(image_shape, arch)
    gain = _network_gain(stages, arch)
    noise = keras.Input((latent_dim,), name="noise")
    x = GenerativeBasis(stages[0].width, name="basis")(noise)
    for index, stage in enumerate(stages):
        if index:
            x = _channel_change(x, stage.width, name=f"stage{stage.side}_channels")
            x = Resample2x("up", name=f"stage{stage.side}_up")(x)
        x = _stage_blocks(x, stage, arch, gain)
    to_image = layers.Conv2D(
        image_shape[-1],
        1,
        use_bias=False,
        kernel_initializer=msr_initializer(stages[-1].width, 1.0),
        dtype="float32",
        name="to_image",
    )
    images = layers.Activation("tanh", dtype="float32", name="tanh")(to_image(x))
    return keras.Model(noise, images, name="generator")


def _refuse_generic_knobs(arch: dict) -> None:
    """Raises ConfigError for the generic ``spectral_norm`` / ``d_dropout``, which R3GAN
    does not use."""
    if arch.get("spectral_norm", False):
        raise ConfigError(
            "model=r3gan has no spectral normalisation (R1 + R2 regularise its "
            "discriminator); set spectral_norm=False",
            "spectral_norm",
        )
    if arch.get("dropout", 0.0):
        raise ConfigError("model=r3gan has no dropout; set d_dropout=0", "d_dropout")


def _discriminative_basis(x):
    """The authors' ``DiscriminativeBasis``: 4x4 depthwise conv without padding, then
    ``Dense(1)``, both without bias and in float32: ``[B, 4, 4, W]`` -> ``[B, 1]``."""
    width = x.shape[-1]
    head = keras.Sequential(
        [
            layers.DepthwiseConv2D(
                BASIS_SIDE,
                use_bias=False,
                depthwise_initializer=msr_initializer(BASIS_SIDE * BASIS_SIDE, 1.0),
                dtype="float32",
                name="depthwise",
            ),
            layers.Flatten(dtype="float32"),
            layers.Dense(
                1, use_bias=False, kernel_initializer=msr_initializer(width, 1.0), dtype="float32"
            ),
        ],
        name="basis",
    )
    return head(x)


def build_discriminator(image_shape: tuple[int, ...], arch: dict = ARCHITECTURE) -> keras.Model:
    """Builds the R3GAN discriminator: images -> ``[B, 1]`` float32 logits (real = 1,
    fake = 0; no sigmoid).

    Args:
      image_shape: ``(side, side, C)`` with side ``4 * 2**k`` (k >= 1), any ``C``.
      arch: :data:`ARCHITECTURE` knobs, plus the generic ``spectral_norm`` and
        ``dropout``, which must be off.

    Raises:
      ConfigError: an unsupported image shape (names ``image_size``), bad knobs, or
        spectral norm / dropout asked for.
    """
    _refuse_generic_knobs(arch)
    stages = stage_plan(image_shape, arch)[::-1]
    gain = _network_gain(stages, arch)
    images = keras.Input(tuple(image_shape), name="images")
    x = layers.Conv2D(
        stages[0].width,
        1,
        use_bias=False,
        kernel_initializer=msr_initializer(image_shape[-1], 1.0),
        name="from_image",
    )(images)
    for stage, lower in zip(stages, stages[1:] + [None], strict=True):
        x = _stage_blocks(x, stage, arch, gain)
        if lower is not None:
            x = Resample2x("down", name=f"stage{stage.side}_down")(x)
            x = _channel_change(x, lower.width, name=f"stage{stage.side}_channels")
    return keras.Model(images, _discriminative_basis(x), name="discriminator")


SPEC = ModelSpec(
    name="r3gan",
    paper="Huang, Gokaslan, Kuleshov & Tompkin, 2024, The GAN is dead; long live the GAN! "
    "A Modern GAN Baseline (NeurIPS 2024, arXiv:2501.05441)",
    defaults={
        "loss": "rpgan",
        "r1_weight": GAMMA,
        "r2_weight": GAMMA,
        "learning_rate": 2e-4,
        "beta_1": 0.0,
        "beta_2": 0.9,
        "ema": EMA_DECAY,
        "batch_size": BATCH_SIZE,
        "latent_dim": 64,
    },
    build_generator=build_generator,
    build_discriminator=build_discriminator,
    architecture=ARCHITECTURE,
    fast={},
)
