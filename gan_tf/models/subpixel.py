"""Stride-2 convolutions whose slow direction runs as a sub-pixel convolution.

A stride-2 transposed convolution (DCGAN's generator) and the input gradient of a
stride-2 convolution (every discriminator's backward pass) are the same linear map,
TensorFlow's ``Conv2DBackpropInput``. On a CPU, oneDNN runs that op at a third to a
sixth of the speed of an ordinary convolution with the same multiply-adds, worst on
small maps: DCGAN's first 4x4 -> 8x8 layer takes 3.4x as long per FLOP as its second
(``benchmarks/strided_conv.py``).

The same map is a sub-pixel convolution (Shi et al., 2016, arXiv:1609.05158): each
of the four output phases (even/odd row, even/odd column) is an ordinary stride-1
convolution of the input with a slice of the kernel (2x2, 2x3, 3x2 and 3x3 taps of a
5x5 kernel), so one stride-1 convolution to ``4 * filters`` channels over the padded
input, whose kernel holds the four slices (zeros where a phase has fewer taps), then
``depth_to_space`` computes exactly the transposed convolution: the same weights, the
same values up to float rounding, 1.44x the multiply-adds of a 5x5 kernel spent in a
far faster op.

:func:`conv2d_transpose` and :func:`conv2d` compute the stride-2 ``same`` maps with
custom gradients that route every ``Conv2DBackpropInput`` through the sub-pixel form
and keep the fast ops for the rest (``Conv2D`` for the input gradient of a transposed
convolution, ``Conv2DBackpropFilter`` for both kernels' gradients). The gradients are
themselves differentiable, so penalties on input gradients (R1, WGAN-GP) work.
:class:`SubpixelConv2DTranspose` and :class:`SubpixelConv2D` are Keras'
``Conv2DTranspose`` and ``Conv2D`` with that ``call`` when the layer is stride 2,
``same`` padding, channels-last, no dilation or groups (anything else runs the stock
``call``): same weights, config and checkpoints as the stock layers;
:func:`stock_layers` swaps them back in a copy of a model (what ``Run.export`` writes).
"""

from __future__ import annotations

import functools

import keras
import numpy as np
import tensorflow as tf
from keras import layers

__all__ = [
    "SubpixelConv2D",
    "SubpixelConv2DTranspose",
    "conv2d",
    "conv2d_transpose",
    "stock_layers",
]


def _axis(kernel: int, pad_before: int) -> tuple[dict, int, int]:
    """One axis of a stride-2 transposed convolution with ``kernel`` taps: output
    ``o = 2 m + r`` (phase ``r``) sums input ``i = m - d`` times tap
    ``k = 2 d + r + pad_before``. Returns ``({phase: [d, ...]}, low, high)`` over the
    ``d`` of both phases."""
    taps = {
        phase: [d for d in range(-kernel, kernel + 1) if 0 <= 2 * d + phase + pad_before < kernel]
        for phase in (0, 1)
    }
    return taps, min(min(ds) for ds in taps.values()), max(max(ds) for ds in taps.values())


@functools.cache
def _plan(
    kernel: tuple[int, int], pad_before: tuple[int, int]
) -> tuple[np.ndarray, tuple[int, int], tuple[int, int]]:
    """Where each tap of a stride-2 transposed ``kernel`` (rows, columns) goes.

    Returns ``(index, low_pads, high_pads)``: ``index[ty, tx, phase]`` is the flat tap
    ``ky * columns + kx`` the sub-pixel kernel holds at window offset ``(ty, tx)`` for
    ``phase = 2 ry + rx`` (``rows * columns`` where that phase has no tap: a zero), and
    the input's padding before and after, per axis.
    """
    (row_taps, row_low, row_high), (col_taps, col_low, col_high) = (
        _axis(kernel[0], pad_before[0]),
        _axis(kernel[1], pad_before[1]),
    )
    index = np.full(
        (row_high - row_low + 1, col_high - col_low + 1, 4), kernel[0] * kernel[1], np.int32
    )
    for ry in (0, 1):
        for rx in (0, 1):
            for ty in range(index.shape[0]):
                for tx in range(index.shape[1]):
                    dy, dx = row_high - ty, col_high - tx
                    if dy in row_taps[ry] and dx in col_taps[rx]:
                        ky, kx = 2 * dy + ry + pad_before[0], 2 * dx + rx + pad_before[1]
                        index[ty, tx, 2 * ry + rx] = ky * kernel[1] + kx
    return index, (row_high, col_high), (-row_low, -col_low)


def _pad_before(big: int, small: int, kernel: int) -> int:
    """The leading padding TensorFlow's ``same`` gives a stride-2 convolution of a
    ``big`` side to a ``small`` one (and so its transpose)."""
    return max((small - 1) * 2 + kernel - big, 0) // 2


def _subpixel(inputs: tf.Tensor, kernel: tf.Tensor, big: tuple[int, int]) -> tf.Tensor:
    """The stride-2 ``same`` transposed convolution of ``inputs`` ``[B, h, w, in]`` by
    ``kernel`` ``[kh, kw, out, in]`` to the sides ``big`` (``2h`` or ``2h - 1`` each), as
    one stride-1 convolution to ``4 * out`` channels and ``depth_to_space``."""
    rows, columns, filters, channels = kernel.shape
    pads = tuple(
        _pad_before(big[axis], inputs.shape[axis + 1], kernel.shape[axis]) for axis in (0, 1)
    )
    index, low, high = _plan((rows, columns), pads)
    window = index.shape[:2]
    taps = tf.reshape(tf.transpose(kernel, (0, 1, 3, 2)), (rows * columns, channels, filters))
    taps = tf.concat([taps, tf.zeros((1, channels, filters), taps.dtype)], 0)
    phases = tf.reshape(tf.gather(taps, index.reshape(-1)), (*window, 4, channels, filters))
    phases = tf.reshape(tf.transpose(phases, (0, 1, 3, 2, 4)), (*window, channels, 4 * filters))
    padded = tf.pad(inputs, [[0, 0], [low[0], high[0]], [low[1], high[1]], [0, 0]])
    outputs = tf.nn.depth_to_space(tf.nn.conv2d(padded, phases, 1, "VALID"), 2)
    return outputs[:, : big[0], : big[1], :]


def _filter_gradient(inputs, kernel_shape, out_backprop):
    return tf.raw_ops.Conv2DBackpropFilter(
        input=inputs,
        filter_sizes=list(kernel_shape),
        out_backprop=out_backprop,
        strides=[1, 2, 2, 1],
        padding="SAME",
    )


@tf.custom_gradient
def conv2d_transpose(inputs: tf.Tensor, kernel: tf.Tensor):
    """``tf.nn.conv2d_transpose(inputs, kernel, [B, 2h, 2w, out], 2, "SAME")`` for
    ``inputs`` ``[B, h, w, in]`` and a Keras ``Conv2DTranspose`` kernel
    ``[k, k, out, in]``, computed as a sub-pixel convolution (module docstring)."""
    big = (2 * inputs.shape[1], 2 * inputs.shape[2])
    outputs = _subpixel(inputs, kernel, big)

    def gradient(upstream):
        return (
            tf.nn.conv2d(upstream, kernel, 2, "SAME"),
            _filter_gradient(upstream, kernel.shape, inputs),
        )

    return outputs, gradient


@tf.custom_gradient
def conv2d(inputs: tf.Tensor, kernel: tf.Tensor):
    """``tf.nn.conv2d(inputs, kernel, 2, "SAME")`` (kernel ``[k, k, in, out]``) whose
    input gradient is computed as a sub-pixel convolution (module docstring)."""
    outputs = tf.nn.conv2d(inputs, kernel, 2, "SAME")

    def gradient(upstream):
        big = (inputs.shape[1], inputs.shape[2])
        return _subpixel(upstream, kernel, big), _filter_gradient(inputs, kernel.shape, upstream)

    return outputs, gradient


def _applies(layer) -> bool:
    """Whether ``layer`` is the case the sub-pixel ops compute: 2-D, stride 2, ``same``
    padding, channels-last, no dilation."""
    return (
        layer.rank == 2
        and tuple(layer.strides) == (2, 2)
        and layer.padding == "same"
        and layer.data_format == "channels_last"
        and tuple(layer.dilation_rate) == (1, 1)
    )


def _call(layer, inputs, op):
    """What the stock ``call`` computes, with ``op`` (:func:`conv2d` or
    :func:`conv2d_transpose`) in place of its convolution."""
    kernel = tf.cast(tf.convert_to_tensor(layer.kernel), inputs.dtype)
    outputs = op(inputs, kernel)
    if layer.use_bias:
        outputs = outputs + layer.bias
    return layer.activation(outputs) if layer.activation is not None else outputs


def _static_sides(inputs) -> bool:
    return inputs.shape[1] is not None and inputs.shape[2] is not None


@keras.saving.register_keras_serializable(package="gan_tf")
class SubpixelConv2DTranspose(layers.Conv2DTranspose):
    """``keras.layers.Conv2DTranspose`` computed by :func:`conv2d_transpose` when it is
    stride 2 with ``same`` padding (otherwise the stock ``call``): the same weights,
    config, outputs and checkpoints, 1.2-1.5x faster DCGAN steps on a CPU."""

    def call(self, inputs):
        if not (_applies(self) and self.output_padding is None and _static_sides(inputs)):
            return super().call(inputs)
        return _call(self, inputs, conv2d_transpose)


@keras.saving.register_keras_serializable(package="gan_tf")
class SubpixelConv2D(layers.Conv2D):
    """``keras.layers.Conv2D`` whose stride-2 ``same`` case (otherwise the stock ``call``)
    computes its input gradient by :func:`conv2d`'s sub-pixel form: the same weights,
    config, outputs and checkpoints, a faster backward pass on a CPU."""

    def call(self, inputs):
        if not (_applies(self) and self.groups == 1 and _static_sides(inputs)):
            return super().call(inputs)
        return _call(self, inputs, conv2d)


_STOCK = {SubpixelConv2DTranspose: layers.Conv2DTranspose, SubpixelConv2D: layers.Conv2D}


def stock_layers(model: keras.Model) -> keras.Model:
    """``model`` with Keras' own ``Conv2DTranspose``/``Conv2D`` in place of the sub-pixel
    layers (a copy with the same weights; ``model`` itself if it has none): what an
    exported ``.keras`` file holds, so that it loads where gan_tf is not installed."""
    if not any(type(layer) in _STOCK for layer in model._flatten_layers(recursive=True)):
        return model

    def swap(layer):
        return _STOCK.get(type(layer), type(layer)).from_config(layer.get_config())

    copy = keras.models.clone_model(model, clone_function=swap, recursive=True)
    copy.set_weights(model.get_weights())
    return copy
