"""Image files and pixels: decoding any PNG/JPEG (grey, palette, RGB, alpha over a
background colour), centre crops and antialiased resizing, listing a folder tree, and
the decode check that skips undecodable files once and remembers them."""

from __future__ import annotations

import hashlib
import json
import os

import numpy as np
import tensorflow as tf

from gan_tf.data.base import keras_cache_dir
from gan_tf.errors import ConfigError, DataCorruptError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")
SKIPPED_NAMES_SHOWN = 3  # undecodable image files named in the one line that reports them
DECODE_CHECK_FORMAT = "1"  # bump when what the decode check stores changes meaning
BACKGROUNDS = {"white": (255, 255, 255), "black": (0, 0, 0), "gray": (128, 128, 128)}


def background_rgb(background: str) -> tuple[int, int, int]:
    """``white``, ``black``, ``gray`` or ``#rrggbb`` as an RGB triple.

    Raises:
      ConfigError: for anything else.
    """
    text = background.strip().lower()
    if text in BACKGROUNDS:
        return BACKGROUNDS[text]
    digits = text[1:] if text.startswith("#") else ""
    if len(digits) == 6 and all(c in "0123456789abcdef" for c in digits):
        return tuple(int(digits[i : i + 2], 16) for i in (0, 2, 4))
    raise ConfigError(
        f"background '{background}' is not a colour; use white, black, gray or #rrggbb",
        "background",
    )


def composite(rgba: np.ndarray, background: str = "white") -> np.ndarray:
    """RGBA uint8 ``[..., 4]`` over a ``background`` colour -> RGB uint8 ``[..., 3]``."""
    alpha = rgba[..., 3:4].astype(np.float32) / 255.0
    colour = np.asarray(background_rgb(background), np.float32)
    rgb = rgba[..., :3].astype(np.float32) * alpha + colour * (1.0 - alpha)
    return np.clip(np.round(rgb), 0, 255).astype(np.uint8)


def image_files(root: str) -> tuple[list[str], list[int], int]:
    """All PNG/JPEG files under ``root`` (sorted) and class ids from their top folder."""
    files = sorted(
        os.path.join(directory, name)
        for directory, _, names in os.walk(root)
        for name in names
        if name.lower().endswith(IMAGE_EXTENSIONS)
    )
    classes = sorted(
        {
            os.path.relpath(path, root).split(os.sep)[0]
            for path in files
            if os.sep in os.path.relpath(path, root)
        }
    )
    class_ids = {name: index for index, name in enumerate(classes)}
    labels = [class_ids.get(os.path.relpath(path, root).split(os.sep)[0], 0) for path in files]
    return files, labels, len(classes)


def decode_file(
    path: tf.Tensor, channels: int, crop: int | None, size: int, background: str = "white"
) -> tf.Tensor:
    """Decodes one PNG/JPEG (grayscale, grayscale + alpha, palette, RGB or RGBA;
    transparency composited over ``background``), then :func:`center_crop_resize` it."""
    image = tf.io.decode_image(tf.io.read_file(path), channels=0, expand_animations=False)
    return center_crop_resize(as_channels(image, channels, background), crop, size)


def as_channels(image: tf.Tensor, channels: int, background: str) -> tf.Tensor:
    """Any decoded uint8 image ``[H, W, 1..4]`` -> ``[H, W, channels]`` (1 or 3), alpha
    composited over ``background``."""
    count = tf.shape(image)[-1]
    gray = tf.cast(image[..., :1], tf.float32)
    colour = tf.cast(image[..., : tf.minimum(count, 3)], tf.float32)
    rgb = tf.cond(count >= 3, lambda: colour[..., :3], lambda: tf.tile(gray, [1, 1, 3]))
    has_alpha = tf.logical_or(tf.equal(count, 2), tf.equal(count, 4))
    alpha = tf.cond(
        has_alpha,
        lambda: tf.cast(image[..., -1:], tf.float32) / 255.0,
        lambda: tf.ones_like(gray),
    )
    paper = tf.constant(background_rgb(background), tf.float32)
    rgb = rgb * alpha + paper * (1.0 - alpha)
    if channels == 1:
        rgb = tf.reduce_sum(rgb * tf.constant([0.299, 0.587, 0.114]), -1, keepdims=True)
    result = tf.cast(tf.clip_by_value(tf.round(rgb), 0, 255), tf.uint8)
    result.set_shape([None, None, channels])
    return result


def keep_decodable(files, labels, limit, decode_args, *, name, root, fix, params):
    """The first ``limit`` (all when ``None``) of ``files`` that :func:`decode_file`
    decodes, with their labels (``labels`` may be ``None``); the others are skipped and
    named in one printed line.

    Files are checked in order, only as many as needed: ``limit`` of them, then one more
    for each one skipped, and so on.

    Raises:
      DataCorruptError: when none of the files checked decodes (naming ``root`` and ``fix``).
    """
    want = len(files) if limit is None else min(limit, len(files))
    kept, skipped, checked = [], [], 0
    while len(kept) < want and checked < len(files):
        chunk = range(checked, min(len(files), checked + want - len(kept)))
        bad = _undecodable([files[i] for i in chunk], *decode_args)
        kept += [i for k, i in enumerate(chunk) if k not in bad]
        skipped += [files[i] for k, i in enumerate(chunk) if k in bad]
        checked = chunk.stop
    names = [os.path.relpath(path, root) for path in skipped[:SKIPPED_NAMES_SHOWN]]
    listed = ", ".join(names) + (
        f" and {len(skipped) - len(names)} more" if len(skipped) > len(names) else ""
    )
    if skipped and not kept:
        raise DataCorruptError(
            f"dataset '{name}': none of the {checked} image files under {root} can be decoded "
            f"(truncated, or not PNG/JPEG: {listed}); {fix}",
            *params,
        )
    if skipped:
        print(
            f"dataset '{name}': skipped {len(skipped)} of {checked} image files under {root} "
            f"that cannot be decoded (truncated, or not PNG/JPEG): {listed}",
            flush=True,
        )
    return [files[i] for i in kept], None if labels is None else [labels[i] for i in kept]


def _undecodable(files, channels, crop, size, background) -> set[int]:
    """Indices of ``files`` that :func:`decode_file` fails on, remembered under
    ``keras_cache_dir()/gan_tf_decode_checks`` by a digest of every file's path, size and
    modification time (and TensorFlow's version, whose decoders decide)."""
    digest = hashlib.sha256(f"{DECODE_CHECK_FORMAT}\0{tf.__version__}\0".encode())
    for path in files:
        try:
            stat = os.stat(path)
            key = f"{stat.st_size} {stat.st_mtime_ns}"
        except OSError:
            key = "unreadable"
        digest.update(f"{os.path.abspath(path)}\0{key}\n".encode())
    entry = os.path.join(
        keras_cache_dir(), "gan_tf_decode_checks", f"{digest.hexdigest()[:32]}.json"
    )
    try:
        with open(entry, encoding="utf-8") as handle:
            bad = set(json.load(handle)["undecodable"])
        if all(isinstance(i, int) and 0 <= i < len(files) for i in bad):
            return bad
    except (OSError, ValueError, KeyError, TypeError):
        pass  # not checked before (or an unreadable entry): check now
    bad = _decode_check(files, channels, crop, size, background)
    try:
        os.makedirs(os.path.dirname(entry), exist_ok=True)
        with open(entry + f".{os.getpid()}.partial", "w", encoding="utf-8") as handle:
            json.dump({"undecodable": sorted(bad), "files": len(files)}, handle)
        os.replace(entry + f".{os.getpid()}.partial", entry)
    except OSError:
        pass  # a read-only cache: check again next time
    return bad


def _decode_check(files, channels, crop, size, background) -> set[int]:
    """Decodes every file in parallel exactly as the input pipeline will
    (:func:`decode_file`) and returns the indices of those that fail."""
    pairs = tf.data.Dataset.from_tensor_slices(
        (tf.range(len(files), dtype=tf.int64), tf.constant(files, tf.string))
    )

    def decode(index, path):
        image = decode_file(path, channels, crop, size, background)
        return index, image[0, 0, 0]  # depends on the pixels, so the decode is not pruned

    decoded = pairs.map(decode, num_parallel_calls=tf.data.AUTOTUNE, deterministic=False)
    survivors = decoded.ignore_errors().map(lambda index, _: index).batch(4096)
    good = {int(i) for batch in survivors.as_numpy_iterator() for i in batch}
    return set(range(len(files))) - good


def files_dataset(
    files, labels, channels, crop, size, background="white", order_seed=None
) -> tf.data.Dataset:
    """The decoded images of ``files`` (with ``labels``), in file order or, with
    ``order_seed``, in an order drawn by it: the paths are shuffled *before* decoding,
    so memory holds a list of paths, not a buffer of decoded images."""
    paths = tf.data.Dataset.from_tensor_slices(
        files if labels is None else (files, np.asarray(labels, np.int32))
    )
    if order_seed is not None:
        paths = paths.shuffle(len(files), seed=order_seed, reshuffle_each_iteration=False)

    def decode(path, *label):
        image = decode_file(path, channels, crop, size, background)
        return (image, *label) if label else image

    return paths.map(decode, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


# ----------------------------------------------------------------------------- tfds


def center_crop_resize(image: tf.Tensor, crop: int | None, size: int) -> tf.Tensor:
    """Centre-crops a square (side ``crop``, or the short side) and resizes it to
    ``size`` x ``size`` uint8 (antialiased bilinear)."""
    height, width = tf.shape(image)[0], tf.shape(image)[1]
    side = tf.minimum(height, width)
    if crop is not None:
        side = tf.minimum(side, crop)
    top, left = (height - side) // 2, (width - side) // 2
    image = resize_uint8(image[top : top + side, left : left + side], size)
    image.set_shape((size, size, image.shape[-1]))
    return image


def resize_uint8(images: tf.Tensor, size: int) -> tf.Tensor:
    resized = tf.image.resize(tf.cast(images, tf.float32), (size, size), antialias=True)
    return tf.cast(tf.clip_by_value(tf.round(resized), 0, 255), tf.uint8)
