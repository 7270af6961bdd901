"""SNGAN: Miyato, Kataoka, Koyama & Yoshida, 2018, "Spectral Normalization for
Generative Adversarial Networks" (ICLR 2018, arXiv:1802.05957).

The ResNet networks of the paper's Appendix B (Table 4, CIFAR-10 32x32; Table 5
gives the STL-10 variant), with the residual blocks of Gulrajani et al., 2017:

Generator, ``z`` -> ``Dense(4*4*g_width)`` -> reshape to 4x4 -> ``k`` up-blocks
(one per doubling: 3 for 32x32, 4 for 64x64) -> BN, ReLU, 3x3 conv to ``C``
channels, tanh. An up-block is::

    residual: BN, ReLU, nearest-neighbour upsample x2, conv3x3, BN, ReLU, conv3x3
    shortcut: nearest-neighbour upsample x2, conv1x1

Discriminator, image -> optimized block (down) -> down blocks until 8x8 (1 for
32x32, 2 for 64x64) -> two blocks without downsampling -> ReLU -> global *sum*
pooling -> ``Dense(1)``, every block ``d_width`` channels wide::

    optimized: conv3x3, ReLU, conv3x3, avgpool2        + shortcut avgpool2, conv1x1
    down:      ReLU, conv3x3, ReLU, conv3x3, avgpool2  + shortcut conv1x1, avgpool2
    plain:     ReLU, conv3x3, ReLU, conv3x3            + identity shortcut

**Every** Conv2D and Dense of the discriminator is spectrally normalised
(``keras.layers.SpectralNormalization``, one power iteration per call), whatever
the generic ``spectral_norm`` flag says: it is the point of this variant. The
discriminator has no batch norm. ``dropout`` (``--d_dropout``) > 0 adds dropout
after every discriminator ReLU (the paper uses none). Note that Keras' wrapper
renormalises the stored kernel in place on every training call and does not
back-propagate through sigma(W) (the second term of the paper's eq. 12).

The 64x64 networks are the 32x32 ones with one more up-block in G and one more
down-block in D (the paper has no 64x64 ResNet; its STL-10 and ImageNet ones are
wider). Other sides raise :class:`~gan_tf.errors.ConfigError`.

Initialisation follows the authors' Chainer code (``pfnet-research/sngan_projection``):
Glorot-uniform with gain sqrt(2) for the residual 3x3 convs, plain Glorot-uniform for
the shortcuts, the dense layers and the output conv; the discriminator's last
Dense has no bias.

Training defaults (:data:`SPEC`): the paper's hinge-loss ResNet setting, as in
the authors' released ``configs/sn_cifar10_unconditional.yml``: hinge loss,
Adam(lr 2e-4, beta_1 0, beta_2 0.9), ``n_critic`` 5 discriminator updates per
generator update, batch 64, 128-d noise.

Architecture knobs (``--arch=key=value``, :data:`ARCHITECTURE`): ``g_width``
(channels of every generator block, paper 256) and ``d_width`` (channels of every
discriminator block, paper 128) and ``attention`` (a SAGAN self-attention block after
the generator's up-block and the discriminator's down-block of this side, e.g. 16 or
32; 0 = none; Zhang et al., 2019). The paper's widths are the defaults: 4.28M (G) and
1.05M (D) trainable parameters at 32x32, 5.52M and 1.37M at 64x64. They are slow on a
small CPU (tens of seconds per 5-critic-update step at batch 64); the cost of each
network grows with its width squared, so e.g. ``--arch=g_width=64,d_width=64`` does
16x fewer generator and 4x fewer discriminator multiply-adds.
"""

from __future__ import annotations

import keras
from keras import layers

from gan_tf.errors import ConfigError
from gan_tf.models.layers import SelfAttention, attention_side
from gan_tf.models.spec import ModelSpec, spectral

__all__ = [
    "ARCHITECTURE",
    "SPEC",
    "SUPPORTED_SIDES",
    "GlobalSumPooling2D",
    "build_discriminator",
    "build_generator",
]

ARCHITECTURE = {"g_width": 256, "d_width": 128, "attention": 0}
SUPPORTED_SIDES = (32, 64)
_BOTTOM_SIDE = 4  # the generator starts at 4x4
_TOP_SIDE = 8  # the discriminator's last blocks work at 8x8


@keras.saving.register_keras_serializable(package="gan_tf")
class GlobalSumPooling2D(layers.Layer):
    """Sums ``[B, H, W, C]`` over height and width to ``[B, C]`` (the paper's global
    sum pooling; unlike average pooling it keeps the scale of the feature maps)."""

    def call(self, inputs):
        return keras.ops.sum(inputs, axis=(1, 2))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])

    def get_config(self):
        return super().get_config()  # no arguments of its own


def _residual_init() -> keras.initializers.Initializer:
    """Glorot-uniform with gain sqrt(2) (variance x2), the authors' residual-conv init."""
    return keras.initializers.VarianceScaling(2.0, mode="fan_avg", distribution="uniform")


def _conv(filters: int, size: int, initializer=None, **kwargs) -> layers.Conv2D:
    return layers.Conv2D(
        filters,
        size,
        padding="same",
        kernel_initializer=initializer or keras.initializers.GlorotUniform(),
        **kwargs,
    )


def _sn_conv(filters: int, size: int, initializer=None, **kwargs) -> keras.layers.Layer:
    return spectral(_conv(filters, size, initializer, **kwargs), True)


def _check_shape(image_shape: tuple[int, ...]) -> int:
    """Returns the image side.

    Raises:
      ConfigError: unless ``image_shape`` is ``(side, side, C)`` with a supported side.
    """
    if len(image_shape) != 3 or image_shape[0] != image_shape[1]:
        raise ConfigError(
            f"SNGAN needs square (H, W, C) images of side 32 or 64, got {tuple(image_shape)}; "
            "set image_size to 32 or 64",
            "image_size",
        )
    side = image_shape[0]
    if side not in SUPPORTED_SIDES:
        raise ConfigError(
            f"SNGAN builds 32x32 images (the paper's CIFAR-10 ResNet) and 64x64 ones (one "
            f"more resolution block), not {side}x{side}; set image_size to 32 or 64",
            "image_size",
        )
    return side


def _doublings(low: int, high: int) -> int:
    """How many times ``low`` doubles to reach ``high`` (both powers of two)."""
    return (high // low).bit_length() - 1


def _up_block(x, width: int, name: str):
    """The generator's residual up-block: 2x the side, ``width`` channels."""
    residual = keras.Sequential(
        [
            layers.BatchNormalization(),
            layers.ReLU(),
            layers.UpSampling2D(2, interpolation="nearest"),
            _conv(width, 3, _residual_init()),
            layers.BatchNormalization(),
            layers.ReLU(),
            _conv(width, 3, _residual_init()),
        ],
        name=f"{name}_residual",
    )
    shortcut = keras.Sequential(
        [layers.UpSampling2D(2, interpolation="nearest"), _conv(width, 1)],
        name=f"{name}_shortcut",
    )
    return layers.Add(name=name)([residual(x), shortcut(x)])


def build_generator(
    latent_dim: int, image_shape: tuple[int, int, int], arch: dict = ARCHITECTURE
) -> keras.Model:
    """Builds the SNGAN ResNet generator: ``[B, latent_dim]`` noise -> images in ``[-1, 1]``.

    Args:
      latent_dim: noise size (the paper: 128).
      image_shape: ``(side, side, C)`` with side 32 or 64, any ``C``.
      arch: :data:`ARCHITECTURE` knobs; ``g_width`` is every block's channels.

    Raises:
      ConfigError: for an unsupported image shape (names ``image_size``).
    """
    side = _check_shape(image_shape)
    width = arch.get("g_width", ARCHITECTURE["g_width"])
    noise = keras.Input((latent_dim,), name="noise")
    stem = keras.Sequential(
        [
            layers.Dense(
                _BOTTOM_SIDE * _BOTTOM_SIDE * width,
                kernel_initializer=keras.initializers.GlorotUniform(),
            ),
            layers.Reshape((_BOTTOM_SIDE, _BOTTOM_SIDE, width)),
        ],
        name="stem",
    )
    x = stem(noise)
    doublings = _doublings(_BOTTOM_SIDE, side)
    sides = [_BOTTOM_SIDE * 2 ** (index + 1) for index in range(doublings)]
    attention = attention_side(arch, sides, "generator")
    for index in range(doublings):
        x = _up_block(x, width, name=f"up_block{index + 1}")
        if sides[index] == attention:
            x = SelfAttention(name="attention")(x)
    head = keras.Sequential(
        [
            layers.BatchNormalization(),
            layers.ReLU(),
            _conv(image_shape[-1], 3),
            layers.Activation("tanh", dtype="float32"),
        ],
        name="to_image",
    )
    return keras.Model(noise, head(x), name="generator")


def _relu(dropout: float) -> list[keras.layers.Layer]:
    """ReLU, then dropout when ``dropout`` > 0."""
    return [layers.ReLU()] + ([layers.Dropout(dropout)] if dropout else [])


def _optimized_block(x, width: int, dropout: float, name: str):
    """The discriminator's first block: no ReLU on the image, shortcut pools first."""
    residual = keras.Sequential(
        [
            _sn_conv(width, 3, _residual_init()),
            *_relu(dropout),
            _sn_conv(width, 3, _residual_init()),
            layers.AveragePooling2D(2),
        ],
        name=f"{name}_residual",
    )
    shortcut = keras.Sequential(
        [layers.AveragePooling2D(2), _sn_conv(width, 1)], name=f"{name}_shortcut"
    )
    return layers.Add(name=name)([residual(x), shortcut(x)])


def _d_block(x, width: int, downsample: bool, dropout: float, name: str):
    """A pre-activation discriminator block; a learned shortcut only when it downsamples
    or changes the channels (as in the authors' code), else identity."""
    residual = [
        *_relu(dropout),
        _sn_conv(width, 3, _residual_init()),
        *_relu(dropout),
        _sn_conv(width, 3, _residual_init()),
    ]
    if downsample:
        residual.append(layers.AveragePooling2D(2))
    h = keras.Sequential(residual, name=f"{name}_residual")(x)
    if downsample or x.shape[-1] != width:
        shortcut = [_sn_conv(width, 1)] + ([layers.AveragePooling2D(2)] if downsample else [])
        x = keras.Sequential(shortcut, name=f"{name}_shortcut")(x)
    return layers.Add(name=name)([h, x])


def build_discriminator(image_shape: tuple[int, ...], arch: dict = ARCHITECTURE) -> keras.Model:
    """Builds the SNGAN ResNet discriminator: images -> ``[B, 1]`` float32 logits.

    Args:
      image_shape: ``(side, side, C)`` with side 32 or 64, any ``C``.
      arch: :data:`ARCHITECTURE` knobs (``d_width`` is every block's channels) plus
        the generic ``dropout`` (after every ReLU; 0 = none). The generic
        ``spectral_norm`` is ignored: every Conv2D/Dense here is spectrally normalised.

    Raises:
      ConfigError: for an unsupported image shape (names ``image_size``).
    """
    side = _check_shape(image_shape)
    width = arch.get("d_width", ARCHITECTURE["d_width"])
    dropout = arch.get("dropout", 0.0)
    images = keras.Input(tuple(image_shape), name="images")
    downs = _doublings(_TOP_SIDE, side)  # the optimized block is the first of them
    sides = [side // 2 ** (index + 1) for index in range(downs)]
    attention = attention_side(arch, sides, "discriminator")
    x = _optimized_block(images, width, dropout, name="block1")
    for index in range(downs):
        if index:
            x = _d_block(x, width, True, dropout, name=f"block{index + 1}")
        if sides[index] == attention:
            x = SelfAttention(spectral_norm=True, name="attention")(x)
    for index in range(downs, downs + 2):
        x = _d_block(x, width, False, dropout, name=f"block{index + 1}")
    head = keras.Sequential(
        [
            *_relu(dropout),
            GlobalSumPooling2D(),
            spectral(
                layers.Dense(
                    1, use_bias=False, kernel_initializer=keras.initializers.GlorotUniform()
                ),
                True,
            ),
            layers.Activation("linear", dtype="float32"),
        ],
        name="to_logit",
    )
    return keras.Model(images, head(x), name="discriminator")


SPEC = ModelSpec(
    name="sngan",
    paper="Miyato, Kataoka, Koyama & Yoshida, 2018, Spectral Normalization for Generative "
    "Adversarial Networks (arXiv:1802.05957)",
    defaults={
        "loss": "hinge",
        "learning_rate": 2e-4,
        "beta_1": 0.0,
        "beta_2": 0.9,
        "n_critic": 5,
        "batch_size": 64,
        "latent_dim": 128,
    },
    build_generator=build_generator,
    build_discriminator=build_discriminator,
    architecture=ARCHITECTURE,
)
