"""Data you hold in Python: NumPy arrays or a ``tf.data.Dataset`` of images (and labels),
checked and brought to the form every source yields (uint8 images, int32 labels).

Checked, not trusted, each with one :class:`~gan_tf.errors.ConfigError` line:

* images: ``[N, H, W, C]`` with 1, 3 or 4 channels (4: alpha composited over the
  background colour), or ``[N, H, W]`` gray; uint8, any integer type in ``[0, 255]``,
  bool, or float. Float values are mapped from the range they lie in: ``[-1, 1]`` when
  any value is negative, else ``[0, 1]`` when none exceeds 1, else ``[0, 255]``; anything
  else (and NaN or inf) is refused. Pass ``value_range=(low, high)`` to say it yourself.
  Float images are mapped linearly and kept as float32; those that must be resized or
  change channels are rounded to 8 bits first (as every image file is).
* size: non-square images, and any size when ``image_size`` is given, are centre-cropped
  to a square and resized to ``image_size`` (default: their own side).
* labels: integer class ids ``[N]`` (or one-hot ``[N, K]``) in ``[0, num_classes)``;
  ``num_classes`` defaults to the largest id + 1.

A ``tf.data.Dataset`` may yield images, ``(image, label)`` pairs or dicts with
``"image"`` (and ``"label"``) keys, batched or not; it must be finite (gan_tf counts
epochs itself). Its value range and labels are checked on its first
:data:`SAMPLE_EXAMPLES` examples; its size is its cardinality, or one counting pass
when tf.data does not know it.

The result carries a ``provenance`` record (what was passed: kind, shape, dtype, value
range, classes, and for arrays a SHA-256 of their bytes) and a name
``python:<kind>:<H>x<W>x<C>:<digest>`` that :func:`gan_tf.train` stores as the run's
``dataset``, so resuming a run with other data is refused like resuming with another
dataset name. A dataset handed in from Python cannot be reopened by name: resume by
passing it again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json

import numpy as np
import tensorflow as tf

from gan_tf.data import images as image_ops
from gan_tf.data.base import ImageDataset
from gan_tf.data.pipeline import SHUFFLE_BUFFER, to_float_images
from gan_tf.errors import ConfigError

__all__ = [
    "SAMPLE_EXAMPLES",
    "fit_batches",
    "from_arrays",
    "from_object",
    "from_tf_dataset",
    "select",
]

SAMPLE_EXAMPLES = 256  # examples of a tf.data.Dataset whose values and labels are checked
STREAM_BYTES = 512 * 1024**2  # the shuffle buffer of a tf.data.Dataset holds at most this
_TOLERANCE = 1e-3
_RANGES = ((-1.0, 1.0), (0.0, 1.0), (0.0, 255.0))


def _error(message: str, *params: str) -> ConfigError:
    return ConfigError(message, *(params or ("dataset",)))


def _value_range(low: float, high: float, dtype, given) -> tuple[float, float]:
    """The range the values lie in (see the module docstring), or ``given`` checked."""
    if not (np.isfinite(low) and np.isfinite(high)):
        raise _error("the images hold NaN or inf values; clean them before training")
    if dtype == np.uint8 or np.issubdtype(dtype, np.bool_):
        found = (0.0, 1.0) if np.issubdtype(dtype, np.bool_) else (0.0, 255.0)
    elif np.issubdtype(dtype, np.integer):
        found = (0.0, 255.0)
    elif given is not None:
        found = (float(given[0]), float(given[1]))
        if not found[0] < found[1]:
            raise _error(f"value_range={given} is empty; pass (low, high) with low < high")
    else:
        found = next(
            (
                (a, b)
                for a, b in _RANGES
                if low >= a - _TOLERANCE and high <= b + _TOLERANCE and (a < 0) == (low < 0)
            ),
            None,
        )
        if found is None:
            raise _error(
                f"the float images range over [{low:.4g}, {high:.4g}], which is none of "
                "[-1, 1], [0, 1], [0, 255]; rescale them, or pass value_range=(low, high)"
            )
    if low < found[0] - _TOLERANCE or high > found[1] + _TOLERANCE:
        raise _error(
            f"the images range over [{low:.4g}, {high:.4g}], outside {list(found)} "
            f"({np.dtype(dtype).name}); rescale them, or pass value_range=(low, high)"
        )
    return found


def _image_layout(shape, what: str) -> tuple[int, int, int]:
    """``(H, W, C)`` of one image of ``shape`` (``[H, W]`` or ``[H, W, C]``)."""
    if len(shape) == 2:
        shape = (*shape, 1)
    if len(shape) != 3 or shape[-1] not in (1, 3, 4):
        raise _error(
            f"{what} have shape {list(shape)} per image; give [N, H, W, C] images with 1, 3 "
            "or 4 channels (or [N, H, W] gray)"
        )
    return tuple(shape)


def _target_side(layout, image_size: int | None) -> int:
    height, width, _ = layout
    if image_size:
        return image_size
    if height is None or width is None:
        raise _error(
            "the images vary in size; pass image_size to centre-crop and resize them",
            "image_size",
        )
    return min(height, width)


def _labels_checked(labels, count: int, num_classes: int | None) -> tuple[np.ndarray, int]:
    labels = np.asarray(labels)
    if labels.ndim == 2:  # one-hot
        labels = labels.argmax(-1)
    if labels.ndim != 1 or len(labels) != count:
        raise _error(
            f"labels have shape {list(labels.shape)} for {count} images; give one class id "
            "per image", "labels"
        )  # fmt: skip
    if labels.size and not np.issubdtype(labels.dtype, np.integer):
        if not np.all(np.equal(np.mod(labels, 1), 0)):
            raise _error(f"labels are {labels.dtype} with fractions; give int class ids", "labels")
    labels = labels.astype(np.int64)
    return labels.astype(np.int32), _classes_checked(labels.min(), labels.max(), num_classes)


def _classes_checked(low, high, num_classes: int | None) -> int:
    classes = num_classes or int(high) + 1
    if low < 0 or high >= classes:
        raise _error(
            f"labels range over [{int(low)}, {int(high)}] but there are {classes} classes; "
            "give class ids in [0, num_classes)",
            "labels",
            "num_classes",
        )
    return classes


def _converter(dtype, layout, value_range, channels: int, side: int, background: str):
    """One image -> uint8 ``[side, side, channels]``, or float32 in ``[-1, 1]`` when
    float images need no resize and no change of channels (their values kept exactly)."""
    exact = not np.issubdtype(dtype, np.integer) and not np.issubdtype(dtype, np.bool_)
    exact = exact and layout[0] == layout[1] == side and layout[-1] == channels
    low, high = value_range

    def convert(image: tf.Tensor) -> tf.Tensor:
        if image.shape.rank == 2:
            image = image[..., None]
        if exact:  # linear, no rounding
            return tf.cast(image, tf.float32) * (2.0 / (high - low)) - (
                2.0 * low / (high - low) + 1
            )
        if image.dtype != tf.uint8:
            scaled = (tf.cast(image, tf.float32) - low) * (255.0 / (high - low))
            image = tf.cast(tf.clip_by_value(tf.round(scaled), 0, 255), tf.uint8)
        if image.shape[-1] != channels:
            image = image_ops.as_channels(image, channels, background)
        if layout[0] == layout[1] == side:  # already the size: nothing to crop or resize
            return image
        return image_ops.center_crop_resize(image, None, side)

    return convert


def _digest(*arrays) -> str:
    digest = hashlib.sha256()
    for array in arrays:
        if array is not None:
            array = np.ascontiguousarray(array)
            digest.update(f"{array.dtype.str}{array.shape}".encode())
            digest.update(memoryview(array).cast("B"))
    return digest.hexdigest()


def _name(kind: str, shape, record: dict) -> str:
    text = json.dumps(record, sort_keys=True, default=str)
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    return f"python:{kind}:{'x'.join(map(str, shape))}:{digest}"


def from_arrays(
    images,
    labels=None,
    *,
    image_size: int | None = None,
    num_classes: int | None = None,
    value_range: tuple[float, float] | None = None,
    background: str = "white",
    channels: int | None = None,
) -> ImageDataset:
    """NumPy images (and labels) as a dataset; see the module docstring for the checks.

    Args:
      images: ``[N, H, W, C]`` (C = 1, 3, 4) or ``[N, H, W]`` array.
      labels: ``[N]`` class ids or ``[N, K]`` one-hot, or ``None``.
      image_size: the side to centre-crop and resize to (default: the images' own).
      num_classes: the number of classes (default: the largest label + 1).
      value_range: ``(low, high)`` of float images (default: detected).
      background: colour behind transparent pixels of 4-channel images.
      channels: 1 or 3 to convert to (default: 1 for gray images, else 3).

    Raises:
      ConfigError: images or labels that do not pass the checks.
    """
    if isinstance(images, tf.Tensor):
        images = images.numpy()
    images = np.asarray(images)
    if images.dtype == object or not (
        np.issubdtype(images.dtype, np.number) or np.issubdtype(images.dtype, np.bool_)
    ):
        raise _error(f"images are {images.dtype}; give a numeric array (uint8 or float)")
    if images.ndim not in (3, 4) or len(images) == 0:
        raise _error(
            f"images have shape {list(images.shape)}; give a non-empty [N, H, W, C] array "
            "(or [N, H, W] gray)"
        )
    layout = _image_layout(images.shape[1:], "images")
    low, high = (float(images.min()), float(images.max())) if images.dtype != np.uint8 else (0, 0)
    found = _value_range(low, high, images.dtype, value_range)
    classes = None
    if labels is not None:
        labels, classes = _labels_checked(labels, len(images), num_classes)
    side, channels = _target_side(layout, image_size), channels or (1 if layout[-1] == 1 else 3)
    record = {
        "kind": "numpy",
        "shape": list(images.shape),
        "dtype": images.dtype.name,
        "value_range": list(found),
        "num_classes": classes,
        "sha256": _digest(images, labels),
    }

    to_image = _converter(images.dtype, layout, found, channels, side, background)

    def convert(image, *label):
        return (to_image(image), *label) if label else to_image(image)

    slices = images if labels is None else (images, labels)
    examples = tf.data.Dataset.from_tensor_slices(slices).map(
        convert, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
    )
    shape = (side, side, channels)
    return ImageDataset(
        _name("numpy", shape, record),
        examples.cache(),
        shape,
        len(images),
        classes,
        labels is not None,
        f"a NumPy array {list(images.shape)} {images.dtype.name}",
        provenance=record,
    )


def _parts(element, dataset_spec):
    """``(image, label or None)`` of one element: a tensor, a tuple or a dict."""
    if isinstance(element, dict):
        if "image" not in element:
            raise _error(
                f"the dataset yields dicts with keys {sorted(element)}; gan_tf reads "
                "'image' (and 'label')"
            )
        return element["image"], element.get("label")
    if isinstance(element, tuple):
        if not 1 <= len(element) <= 2:
            raise _error(
                f"the dataset yields {len(element)}-tuples ({dataset_spec}); give images or "
                "(images, labels)"
            )
        return element[0], (element[1] if len(element) == 2 else None)
    return element, None


def _unbatched(dataset: tf.data.Dataset) -> tf.data.Dataset:
    """``dataset`` one example per element (a batched one is unbatched)."""
    image_spec, _ = _parts(dataset.element_spec, dataset.element_spec)
    if not isinstance(image_spec, tf.TensorSpec):
        raise _error(f"the dataset yields {image_spec}, not image tensors")
    rank, last = image_spec.shape.rank, image_spec.shape[-1] if image_spec.shape.rank else None
    batched = rank == 4 or (rank == 3 and last not in (1, 3, 4))
    return dataset.unbatch() if batched else dataset


def _count(dataset: tf.data.Dataset) -> int:
    cardinality = int(dataset.cardinality())
    if cardinality == tf.data.INFINITE_CARDINALITY:
        raise _error(
            "the dataset repeats forever; pass a finite one (drop .repeat()): gan_tf counts "
            "epochs itself"
        )
    if cardinality == tf.data.UNKNOWN_CARDINALITY:
        cardinality = int(dataset.reduce(np.int64(0), lambda count, _: count + 1))
    if cardinality == 0:
        raise _error("the dataset is empty")
    return cardinality


def _sample_checked(examples, dtype, label_spec, value_range, num_classes):
    """``(value range, classes)`` of a dataset, checked on its first
    :data:`SAMPLE_EXAMPLES` examples."""
    sample = [
        _parts(element, None) for element in examples.take(SAMPLE_EXAMPLES).as_numpy_iterator()
    ]
    low = min(float(np.min(image)) for image, _ in sample)
    high = max(float(np.max(image)) for image, _ in sample)
    found = _value_range(low, high, dtype, value_range)
    if label_spec is None:
        return found, None
    if label_spec.shape.rank not in (0, 1):
        raise _error(f"the dataset's labels are {label_spec}; give a class id per image")
    ids = np.array([np.argmax(label) if np.ndim(label) else label for _, label in sample])
    return found, _classes_checked(ids.min(), ids.max(), num_classes)


def from_tf_dataset(
    dataset: tf.data.Dataset,
    *,
    image_size: int | None = None,
    num_classes: int | None = None,
    value_range: tuple[float, float] | None = None,
    background: str = "white",
    channels: int | None = None,
) -> ImageDataset:
    """A ``tf.data.Dataset`` of images (and labels) as a dataset; see the module docstring.

    gan_tf reads ``dataset`` again every epoch, shuffled by the run's seed with a buffer
    of at most :data:`STREAM_BYTES` of images; it does not cache it (your pipeline may
    augment at random).

    Args:
      dataset: the data; other arguments as for :func:`from_arrays`.

    Raises:
      ConfigError: images or labels that do not pass the checks.
    """
    if not isinstance(dataset, tf.data.Dataset):
        raise _error(f"expected a tf.data.Dataset, got {type(dataset).__name__}")
    examples = _unbatched(dataset)
    image_spec, label_spec = _parts(examples.element_spec, examples.element_spec)
    dtype = image_spec.dtype.as_numpy_dtype
    if not (np.issubdtype(dtype, np.number) or np.issubdtype(dtype, np.bool_)):
        raise _error(f"the dataset's images are {image_spec.dtype.name}; give uint8 or float")
    layout = _image_layout(tuple(image_spec.shape), "the dataset's images")
    count = _count(examples)
    found, classes = _sample_checked(examples, dtype, label_spec, value_range, num_classes)
    side, channels = _target_side(layout, image_size), channels or (1 if layout[-1] == 1 else 3)
    record = {
        "kind": "tf.data",
        "element_spec": str(dataset.element_spec),
        "num_examples": count,
        "value_range": list(found),
        "num_classes": classes,
    }

    to_image = _converter(dtype, layout, found, channels, side, background)

    def convert(*element):  # tf.data passes a tuple's parts as arguments
        image, label = _parts(element if len(element) > 1 else element[0], None)
        image = to_image(image)
        if label is None:
            return image
        if label.shape.rank == 1:
            label = tf.argmax(label, output_type=tf.int32)
        return image, tf.cast(label, tf.int32)

    examples = examples.map(convert, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    buffer = min(count, max(1_024, STREAM_BYTES // (side * side * channels)))

    def reorder(seed: int) -> tf.data.Dataset:
        return examples.shuffle(buffer, seed=seed, reshuffle_each_iteration=False)

    shape = (side, side, channels)
    return ImageDataset(
        _name("tf.data", shape, record),
        examples,
        shape,
        count,
        classes,
        label_spec is not None,
        f"a tf.data.Dataset ({count} examples)",
        in_memory=False,
        reorder=reorder,
        provenance=record,
    )


def from_object(data, **options) -> ImageDataset:
    """An :class:`ImageDataset` as it is, a ``tf.data.Dataset``, NumPy images, or an
    ``(images, labels)`` tuple of arrays, as a dataset (``options``: those of
    :func:`from_arrays`).

    Raises:
      ConfigError: anything else, or data that does not pass the checks.
    """
    if isinstance(data, ImageDataset):
        return data
    if isinstance(data, tf.data.Dataset):
        return from_tf_dataset(data, **options)
    if isinstance(data, tuple) and len(data) == 2:
        return from_arrays(data[0], data[1], **options)
    if isinstance(data, (np.ndarray, tf.Tensor)) or hasattr(data, "__array__"):
        return from_arrays(data, **options)
    raise _error(
        f"dataset={type(data).__name__} is not data gan_tf reads; pass a name, a "
        "tf.data.Dataset, NumPy images or an (images, labels) tuple"
    )


def select(dataset: ImageDataset, *, with_labels: bool, max_examples: int | None) -> ImageDataset:
    """``dataset`` (handed in) as a run asks for it: its first ``max_examples``
    examples, with or without its labels.

    Raises:
      ConfigError: labels asked of data handed in without them.
    """
    if with_labels and not dataset.with_labels:
        raise _error(
            "this model trains on labels, but the data was handed in without them; pass "
            "(images, labels) or a dataset of (image, label) pairs",
            "dataset",
            "model",
        )
    count = min(dataset.num_examples, max_examples or dataset.num_examples)

    def shaped(examples: tf.data.Dataset) -> tf.data.Dataset:
        examples = examples.take(count)
        return examples.map(lambda x, y: x) if dataset.with_labels and not with_labels else examples

    reorder = dataset.reorder
    return dataclasses.replace(
        dataset,
        examples=shaped(dataset.examples),
        num_examples=count,
        with_labels=with_labels,
        reorder=None if reorder is None else lambda seed: shaped(reorder(seed)),
    )


def fit_batches(
    x, y=None, *, image_shape, batch_size: int | None, shuffle: bool, seed: int
) -> tf.data.Dataset:
    """What :meth:`gan_tf.GAN.fit` trains on: ``x`` (NumPy images, ``(images,
    labels)``, a ``tf.data.Dataset``) checked, resized to the generator's
    ``image_shape`` and batched as float32 in ``[-1, 1]`` (full batches only).
    ``batch_size`` defaults to the dataset's own batch size, else 32. A
    ``tf.data.Dataset`` is read in its own order (as Keras does); arrays are shuffled
    every epoch when ``shuffle``, by ``seed``.

    Raises:
      ConfigError: data that does not pass the checks.
    """
    options = {"image_size": image_shape[0], "channels": image_shape[-1]}
    if isinstance(x, tf.data.Dataset):
        own = None
        if _unbatched(x) is not x:  # batched: its first batch's size
            own = int(tf.shape(_parts(next(iter(x)), None)[0])[0])
        dataset = from_tf_dataset(x, **options)
        batch_size = batch_size or own or 32
        examples = dataset.examples
    else:
        dataset = from_object(x if y is None else (x, y), **options)
        batch_size = batch_size or 32
        examples = dataset.examples
        if shuffle:
            examples = examples.shuffle(min(dataset.num_examples, SHUFFLE_BUFFER), seed=seed)
    count = dataset.num_examples
    if count < batch_size:
        raise _error(
            f"batch_size={batch_size} is larger than the {dataset.num_examples} examples; "
            "lower batch_size",
            "batch_size",
        )
    batched = examples.batch(batch_size, drop_remainder=True)
    # Keras counts an epoch's steps from the cardinality, which take/unbatch hide
    batched = batched.apply(tf.data.experimental.assert_cardinality(count // batch_size))
    if dataset.with_labels:
        batched = batched.map(lambda images, labels: (to_float_images(images), labels))
    else:
        batched = batched.map(to_float_images)
    return batched.prefetch(tf.data.AUTOTUNE)


def reference_arrays(dataset: ImageDataset, count: int) -> tuple[np.ndarray, np.ndarray | None]:
    """The first ``count`` examples of ``dataset`` as uint8 images (float images
    rounded to 8 bits) and labels: the reference set of metrics for data handed in."""
    examples = dataset.examples.take(count).batch(4096)
    if not dataset.with_labels:
        examples = examples.map(lambda images: (images, tf.zeros([tf.shape(images)[0]], tf.int32)))
    parts = list(examples.as_numpy_iterator())
    images = np.concatenate([x for x, _ in parts])
    if images.dtype != np.uint8:
        images = np.clip(np.round((images + 1.0) * 127.5), 0, 255).astype(np.uint8)
    labels = np.concatenate([y for _, y in parts]) if dataset.with_labels else None
    return images, labels
