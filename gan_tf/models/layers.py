"""Keras layers that several variants share.

:class:`MinibatchStddev` is the minibatch standard deviation of ProGAN (Karras,
Aila, Laine & Lehtinen, 2018, arXiv:1710.10196): the discriminator sees how much
the samples of a small group differ, so a generator that collapses is easy to
tell from real data. :class:`SelfAttention` is the self-attention block of SAGAN (Zhang, Goodfellow,
Metaxas & Odena, 2019, arXiv:1805.08318): every position attends to every other,
and the result is added back through a learned gate ``gamma`` that starts at 0,
so an untrained block is the identity and the network learns how much non-local
context to use.

Two techniques of Salimans, Goodfellow, Zaremba, Cheung, Radford & Chen, 2016,
Improved Techniques for Training GANs (arXiv:1606.03498):
:class:`MinibatchDiscrimination` (section 3.2) appends to each example's features
how close it is to the other examples of its batch, under learned projections,
so a discriminator can tell a collapsed batch from a varied one; and virtual
batch normalisation (section 3.5) for a generator kept as one ``keras.Sequential``:
:class:`ReferenceBatch` prepends a fixed batch of reference noise,
:class:`VirtualBatchNormalization` normalises every example with the statistics
of that reference batch (plus the example itself), so an example's output does
not depend on the rest of its batch, and :class:`DropReference` removes the
reference rows again.

:class:`WeightNormDense` is a dense layer with weight normalisation (Salimans &
Kingma, 2016) and its data-dependent initialisation (:func:`initialize_from_data`),
as the semi-supervised GAN's networks use it.

Layers that look across the batch (minibatch stddev, minibatch discrimination)
see what one replica sees: under ``tf.distribute`` the per-replica batch.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers

from gan_tf.errors import ConfigError
from gan_tf.models.spec import weight_init

__all__ = [
    "DropReference",
    "MinibatchDiscrimination",
    "MinibatchStddev",
    "ReferenceBatch",
    "SelfAttention",
    "VirtualBatchNormalization",
    "WeightNormDense",
    "add_minibatch_discrimination",
    "initialize_from_data",
    "initializes_from_data",
    "attention_side",
]


@keras.saving.register_keras_serializable(package="gan_tf")
class MinibatchStddev(layers.Layer):
    """Appends one feature map: the minibatch standard deviation of ProGAN.

    The batch is split into groups of ``group_size`` (member ``j`` of group ``k`` is
    example ``j * B / group_size + k``, as in the authors' code; the whole batch is
    one group when ``group_size`` does not divide it). For each group, the standard
    deviation over its members of every feature at every position
    (``sqrt(var + 1e-8)``), averaged over features and positions, is one number;
    it is broadcast to a ``[H, W, 1]`` map and concatenated to each member's
    features: ``[B, H, W, C]`` -> ``[B, H, W, C + 1]``.

    Args:
      group_size: members per group (ProGAN: 4).
    """

    def __init__(self, group_size: int = 4, **kwargs):
        super().__init__(**kwargs)
        self.group_size = int(group_size)

    def call(self, inputs):
        shape = tf.shape(inputs)
        batch = shape[0]
        group = tf.minimum(self.group_size, batch)
        group = tf.where(batch % group == 0, group, batch)
        x = tf.cast(inputs, tf.float32)
        grouped = tf.reshape(x, [group, batch // group, shape[1], shape[2], shape[3]])
        variance = tf.reduce_mean(tf.square(grouped - tf.reduce_mean(grouped, 0)), 0)
        spread = tf.reduce_mean(tf.sqrt(variance + 1e-8), axis=[1, 2, 3])  # [B / group]
        spread = tf.tile(spread[:, None, None, None], [group, shape[1], shape[2], 1])
        return tf.concat([inputs, tf.cast(spread, inputs.dtype)], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] + 1)

    def get_config(self):
        return {**super().get_config(), "group_size": self.group_size}


@keras.saving.register_keras_serializable(package="gan_tf")
class SelfAttention(layers.Layer):
    """SAGAN self-attention on ``[B, H, W, C]`` feature maps (same shape out).

    ``f = x Wf``, ``g = x Wg`` (C/8 channels each), ``h = x Wh`` (C/2), attention
    ``softmax(f g^T)`` over the ``H*W`` positions, ``o = (attention h) Wo`` (back to
    C), output ``x + gamma * o`` with ``gamma`` initialised to 0. The ``C/2`` value
    and the output projection follow BigGAN's version of the block; the logits and
    the softmax are computed in float32 under mixed precision.

    Args:
      spectral_norm: spectrally normalise the four 1x1 projections (discriminators
        that use spectral norm, as SAGAN does in both networks).
    """

    def __init__(self, spectral_norm: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.spectral_norm = spectral_norm

    def build(self, input_shape):
        channels = int(input_shape[-1])
        if channels < 8:
            raise ConfigError(
                f"self-attention needs at least 8 channels, got {channels}; put it at a "
                "side with more channels (arch attention=...)",
                "arch",
            )

        def projection(width, name):  # in the block's precision, whatever the global one
            conv = layers.Conv2D(
                width,
                1,
                use_bias=False,
                kernel_initializer=weight_init(),
                name=name,
                dtype=self.dtype_policy,
            )
            if not self.spectral_norm:
                return conv
            return layers.SpectralNormalization(conv, name=f"{name}_sn", dtype=self.dtype_policy)

        self.query = projection(channels // 8, "query")
        self.key = projection(channels // 8, "key")
        self.value = projection(channels // 2, "value")
        self.out = projection(channels, "out")
        for conv, width in ((self.query, channels), (self.key, channels), (self.value, channels)):
            conv.build(tuple(input_shape[:-1]) + (width,))
        self.out.build(tuple(input_shape[:-1]) + (channels // 2,))
        self.gamma = self.add_weight(name="gamma", shape=(), initializer="zeros")
        super().build(input_shape)

    def call(self, inputs, training=None):
        shape = tf.shape(inputs)
        positions = shape[1] * shape[2]

        def flat(tensor):
            return tf.reshape(tensor, [shape[0], positions, tensor.shape[-1]])

        query = flat(self.query(inputs, training=training))
        key = flat(self.key(inputs, training=training))
        value = flat(self.value(inputs, training=training))
        logits = tf.matmul(tf.cast(query, tf.float32), tf.cast(key, tf.float32), transpose_b=True)
        attention = tf.cast(tf.nn.softmax(logits, axis=-1), value.dtype)
        attended = tf.reshape(
            tf.matmul(attention, value), [shape[0], shape[1], shape[2], value.shape[-1]]
        )
        return inputs + tf.cast(self.gamma, inputs.dtype) * self.out(attended, training=training)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "spectral_norm": self.spectral_norm}


@keras.saving.register_keras_serializable(package="gan_tf")
class MinibatchDiscrimination(layers.Layer):
    """Minibatch discrimination (Salimans et al., 2016, section 3.2): ``[B, A]`` -> ``[B, A + K]``.

    The features ``x`` (flattened, ``[B, A]``) are projected by a learned tensor
    ``T`` (``[A, K * C]``, ``K = num_kernels``, ``C = kernel_dim``) to ``M = x T``,
    seen as ``K`` rows of length ``C`` per example. For kernel ``b``,
    ``c_b(i, j) = exp(-||M_i,b - M_j,b||_1)`` and the feature appended to example
    ``i`` is ``o(x_i)_b = sum over j != i of c_b(i, j)``: the example itself is
    left out, as in the authors' code (openai/improved-gan,
    ``mnist_svhn_cifar10/nn.py`` ``MinibatchLayer`` adds ``1e6`` on the diagonal of
    the distances before ``exp``); the paper's formula sums over every ``j``, which
    only adds the constant ``exp(0) = 1``. The output is ``concat([x, o])``.

    Differences from the authors' layer, neither changing what the discriminator
    can express: no per-kernel bias (the next layer is the Dense logit, whose
    bias absorbs it), and ``T`` starts N(0, 0.02) like every DCGAN weight instead
    of being weight-normalised with a data-dependent initialisation. At the
    flattened sizes of the DCGAN discriminator (``A`` of 2048 to 16384), N(0, 0.02)
    makes each entry of ``M`` about ``0.02 * sqrt(A)`` (0.9 to 2.6) times the
    features' scale, so the L1 distances are of order 1 and ``c_b`` neither
    saturates at 1 nor vanishes (measured: an untrained 32x32 discriminator on
    uniform noise gives ``o`` of 0.09 to 5.2 over 63 other examples, mean 1.8);
    Glorot's ``sqrt(2 / (A + K * C))`` (0.011 to 0.028 there) would be similar.

    It compares the examples of one call, so real and fake batches must go
    through the discriminator separately (as the train step does), and under
    ``tf.distribute`` it sees the per-replica batch. Memory grows as ``B**2 * K * C``.
    The projection and the distances are computed in float32 under mixed
    precision; the output has the input's dtype.

    Args:
      num_kernels: ``K``, the number of appended features (authors' CIFAR-10/SVHN: 100).
      kernel_dim: ``C``, the length of each kernel's rows (authors: 5).
    """

    def __init__(self, num_kernels: int = 100, kernel_dim: int = 5, **kwargs):
        super().__init__(**kwargs)
        if int(num_kernels) < 1 or int(kernel_dim) < 1:
            raise ConfigError(
                f"num_kernels and kernel_dim must be >= 1, got {num_kernels} and {kernel_dim}",
                "arch",
            )
        self.num_kernels = int(num_kernels)
        self.kernel_dim = int(kernel_dim)

    def build(self, input_shape):
        if len(input_shape) != 2:
            raise ConfigError(
                f"MinibatchDiscrimination takes flattened [B, A] features, got shape {input_shape}",
                "arch",
            )
        self.kernel = self.add_weight(  # float32 even under mixed precision (autocast off)
            name="kernel",
            shape=(int(input_shape[-1]), self.num_kernels * self.kernel_dim),
            initializer=weight_init(),
            autocast=False,
        )
        super().build(input_shape)

    def call(self, inputs):
        x = tf.cast(inputs, tf.float32)
        rows = tf.reshape(
            tf.matmul(x, tf.cast(self.kernel, tf.float32)),
            [-1, self.num_kernels, self.kernel_dim],
        )  # [B, K, C]
        distances = tf.reduce_sum(tf.abs(rows[:, None] - rows[None, :]), axis=-1)  # [B, B, K]
        others = 1.0 - tf.eye(tf.shape(x)[0], dtype=tf.float32)[:, :, None]  # j != i
        closeness = tf.reduce_sum(tf.exp(-distances) * others, axis=1)  # [B, K]
        return tf.concat([inputs, tf.cast(closeness, inputs.dtype)], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] + self.num_kernels)

    def get_config(self):
        return {
            **super().get_config(),
            "num_kernels": self.num_kernels,
            "kernel_dim": self.kernel_dim,
        }


# Row length of each minibatch discrimination kernel (the authors' dim_per_kernel).
MINIBATCH_KERNEL_DIM = 5


def add_minibatch_discrimination(model: keras.Sequential, arch: dict) -> None:
    """Appends a :class:`MinibatchDiscrimination` layer of ``arch["minibatch_discrimination"]``
    kernels to a discriminator's flat features (0 or absent: nothing).

    Raises:
      ConfigError: a negative number of kernels.
    """
    kernels = arch.get("minibatch_discrimination", 0)
    if kernels < 0:
        raise ConfigError(
            f"arch minibatch_discrimination must be a number of kernels >= 1 (0 = none), got "
            f"{kernels}",
            "arch",
        )
    if kernels:
        model.add(
            MinibatchDiscrimination(kernels, MINIBATCH_KERNEL_DIM, name="minibatch_discrimination")
        )


@keras.saving.register_keras_serializable(package="gan_tf")
class ReferenceBatch(layers.Layer):
    """Prepends a fixed reference noise batch: ``[B, D]`` -> ``[size + B, D]``.

    The first layer of a generator with virtual batch normalisation (Salimans et
    al., 2016, section 3.5): the ``size`` reference rows are drawn once, N(0, 1)
    like the training noise, and kept as a non-trainable weight, so checkpoints,
    ``.keras`` files and ``clone_model`` + ``set_weights`` copies carry them. The
    authors' code (openai/improved-gan, ``imagenet/generator.py``) likewise keeps its
    reference ``z`` as a non-trainable variable. :class:`VirtualBatchNormalization`
    layers normalise with the statistics of these rows and :class:`DropReference`
    removes them before the output.

    Args:
      size: ``R``, the number of reference rows.
      seed: seed of the draw (None: Keras' global seed, as the other initialisers).
    """

    def __init__(self, size: int = 64, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if int(size) < 1:
            raise ConfigError(f"the reference batch needs size >= 1, got {size}", "arch")
        self.size = int(size)
        self.seed = seed

    def build(self, input_shape):
        self.reference = self.add_weight(
            name="reference",
            shape=(self.size, *(int(d) for d in input_shape[1:])),
            initializer=keras.initializers.RandomNormal(0.0, 1.0, seed=self.seed),
            trainable=False,
        )
        super().build(input_shape)

    def call(self, inputs):
        return tf.concat([tf.cast(self.reference, inputs.dtype), inputs], axis=0)

    def compute_output_shape(self, input_shape):
        batch = None if input_shape[0] is None else input_shape[0] + self.size
        return (batch, *input_shape[1:])

    def get_config(self):
        return {**super().get_config(), "size": self.size, "seed": self.seed}


@keras.saving.register_keras_serializable(package="gan_tf")
class DropReference(layers.Layer):
    """Removes the ``size`` reference rows :class:`ReferenceBatch` prepended:
    ``[size + B, ...]`` -> ``[B, ...]`` (any ``B``, including 1).

    Args:
      size: ``R``, as given to :class:`ReferenceBatch`.
    """

    def __init__(self, size: int = 64, **kwargs):
        super().__init__(**kwargs)
        self.size = int(size)

    def call(self, inputs):
        return inputs[self.size :]

    def compute_output_shape(self, input_shape):
        batch = None if input_shape[0] is None else input_shape[0] - self.size
        return (batch, *input_shape[1:])

    def get_config(self):
        return {**super().get_config(), "size": self.size}


@keras.saving.register_keras_serializable(package="gan_tf")
class VirtualBatchNormalization(layers.Layer):
    """Virtual batch normalisation (Salimans et al., 2016, section 3.5), per channel.

    The first ``size`` rows of the batch are the reference batch (put there by
    :class:`ReferenceBatch`). Statistics are taken over the batch and every axis
    but the last (the channels). The reference rows are normalised with the
    reference batch's mean ``mu_r`` and variance ``var_r``. Every other example
    ``x`` is normalised with the statistics of the reference batch plus ``x``
    itself, weighted ``1/(R+1)`` for the example and ``R/(R+1)`` for the reference
    (the paper's form, and that of the authors' ``VBN`` in openai/improved-gan
    ``imagenet/model.py``)::

        mu  = mu_x / (R + 1) + mu_r * R / (R + 1)
        var = (var_x + (mu_x - mu)**2) / (R + 1) + (var_r + (mu_r - mu)**2) * R / (R + 1)
        y   = gamma * (x - mu) / sqrt(var + epsilon) + beta

    with ``mu_x``, ``var_x`` the example's own mean and variance over its spatial
    positions (for ``[B, C]`` inputs: ``x`` itself and 0). ``var`` is the variance
    of the pooled values, written so it cannot go negative. So an example's
    output depends only on itself, the reference batch and the weights, never on
    the other examples of its batch. The statistics are recomputed on every call
    from the current weights (gradients flow through them, as in the paper), so
    there are no moving averages and training and inference compute the same
    thing; under ``tf.distribute`` every replica prepends the same reference rows,
    so the output does not depend on the number of replicas either. Computed in
    float32 under mixed precision (``gamma`` and ``beta`` are float32 weights);
    the output has the input's dtype.

    Args:
      size: ``R``, the number of leading reference rows.
      epsilon: added to the variance (the authors' 1e-5).
    """

    def __init__(self, size: int = 64, epsilon: float = 1e-5, **kwargs):
        super().__init__(**kwargs)
        self.size = int(size)
        self.epsilon = float(epsilon)

    def build(self, input_shape):
        channels = (int(input_shape[-1]),)
        self.gamma = self.add_weight(
            name="gamma", shape=channels, initializer="ones", autocast=False
        )
        self.beta = self.add_weight(
            name="beta", shape=channels, initializer="zeros", autocast=False
        )
        super().build(input_shape)

    def call(self, inputs):
        x = tf.cast(inputs, tf.float32)
        spatial = list(range(1, len(x.shape) - 1))
        reference, examples = x[: self.size], x[self.size :]
        ref_mean, ref_var = tf.nn.moments(reference, axes=[0, *spatial], keepdims=True)
        if spatial:
            mean_x, var_x = tf.nn.moments(examples, axes=spatial, keepdims=True)
        else:
            mean_x, var_x = examples, tf.zeros_like(examples)
        weight = 1.0 / (self.size + 1.0)
        mean = weight * mean_x + (1.0 - weight) * ref_mean
        variance = weight * (var_x + tf.square(mean_x - mean)) + (1.0 - weight) * (
            ref_var + tf.square(ref_mean - mean)
        )
        normalized = tf.concat(
            [
                (reference - ref_mean) * tf.math.rsqrt(ref_var + self.epsilon),
                (examples - mean) * tf.math.rsqrt(variance + self.epsilon),
            ],
            axis=0,
        )
        return tf.cast(normalized * self.gamma + self.beta, inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "size": self.size, "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package="gan_tf")
class WeightNormDense(layers.Layer):
    """A dense layer with weight normalisation (Salimans & Kingma, 2016,
    arXiv:1602.07868): output unit ``j`` is ``scale_j * (v_j . x) / ||v_j|| + b_j``,
    so the direction ``v_j`` is learned apart from the length ``scale_j``.

    Args:
      units: output features.
      activation: a Keras activation name or callable.
      train_scale: learn ``scale`` (starting at 1); ``False`` keeps every column at
        unit norm, as the hidden layers of the authors' semi-supervised MNIST networks.
    """

    def __init__(self, units: int, activation=None, train_scale: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)
        self.activation = keras.activations.get(activation)
        self.train_scale = bool(train_scale)

    def build(self, input_shape):
        self.direction = self.add_weight(
            name="direction",
            shape=(int(input_shape[-1]), self.units),
            initializer=keras.initializers.RandomNormal(stddev=0.05),
        )
        self.scale = self.add_weight(
            name="scale", shape=(self.units,), initializer="ones", trainable=self.train_scale
        )
        self.bias = self.add_weight(name="bias", shape=(self.units,), initializer="zeros")

    def initialize_from(self, inputs) -> None:
        """Data-dependent initialisation (Salimans & Kingma, 2016, §3): sets ``scale``
        and ``bias`` so that this layer's pre-activations on ``inputs`` have mean 0
        and standard deviation 1 per unit."""
        inputs = tf.cast(tf.reshape(inputs, [-1, self.direction.shape[0]]), tf.float32)
        pre = tf.matmul(inputs, tf.math.l2_normalize(tf.convert_to_tensor(self.direction), axis=0))
        mean, variance = tf.nn.moments(pre, axes=[0])
        inverse_std = tf.math.rsqrt(variance + 1e-8)
        self.scale.assign(inverse_std)
        self.bias.assign(-mean * inverse_std)

    def call(self, inputs):
        kernel = tf.math.l2_normalize(self.direction, axis=0) * self.scale
        return self.activation(tf.matmul(inputs, kernel) + self.bias)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "activation": keras.activations.serialize(self.activation),
            "train_scale": self.train_scale,
        }


def initializes_from_data(model: keras.Model) -> bool:
    """Whether :func:`initialize_from_data` has work on ``model``: a one-input chain of
    layers of which at least one has an ``initialize_from`` method."""
    return len(model.inputs) == 1 and any(  # a conditional network is not a chain
        hasattr(layer, "initialize_from") for layer in model.layers
    )


def initialize_from_data(model: keras.Model, images) -> bool:
    """Runs the data-dependent initialisation of every layer of ``model`` that has one
    (``initialize_from``, e.g. :class:`WeightNormDense`), in order, each on what the
    layers before it make of ``images`` (noise layers off). Training calls this before
    it restores a checkpoint, so a resumed run keeps its trained values.

    Args:
      model: a network whose layers form a chain (a ``keras.Sequential`` or a
        functional wrapper of one); other layouts are left alone.
      images: a batch of real training examples as the network takes them.

    Returns:
      Whether any layer was initialised.
    """
    if not initializes_from_data(model):
        return False
    chain = [layer for layer in model.layers if not isinstance(layer, layers.InputLayer)]
    outputs = tf.convert_to_tensor(images)
    for layer in chain:
        if hasattr(layer, "initialize_from"):
            layer.initialize_from(outputs)
        outputs = layer(outputs, training=False)
    return True


def attention_side(arch: dict, sides: list[int], network: str) -> int:
    """The feature-map side the ``attention`` knob asks for (0 = none).

    Raises:
      ConfigError: the side is not one of the network's feature-map ``sides``.
    """
    side = int(arch.get("attention", 0) or 0)
    if side and side not in sides:
        raise ConfigError(
            f"arch attention={side}: the {network} has no {side}x{side} feature maps; "
            f"choose one of {', '.join(map(str, sorted(set(sides))))} (0 = none)",
            "arch",
        )
    return side
