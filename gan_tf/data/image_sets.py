"""Image sets to score: a folder of image files, an ``.npz`` of arrays, or a dataset by name.

What ``gan-tf evaluate --real=A --fake=B`` reads. Unlike a training dataset nothing is
cropped, resized or split off: a folder is every PNG/JPEG under it (sorted, sub-folders
included), an ``.npz`` is its ``images`` array (or its only array), and only a dataset
name goes through :func:`gan_tf.data.load_dataset`.
"""

from __future__ import annotations

import os
import zipfile

import numpy as np
from PIL import Image, UnidentifiedImageError

from gan_tf.data.images import composite, image_files
from gan_tf.data.pipeline import as_arrays
from gan_tf.data.registry import is_toy, load_dataset, resolve
from gan_tf.errors import ConfigError, DataCorruptError, GanTfError, ResourceNotFoundError

__all__ = ["is_dataset_name", "read_image_set", "read_npz"]


def is_dataset_name(text: str) -> bool:
    """Whether ``text`` names a dataset (``cifar10``, ``folder:DIR``, ``tfds:NAME``)
    rather than a path that exists."""
    if os.path.exists(os.path.expanduser(text)):
        return False
    try:
        resolve(text)
    except GanTfError:
        return False
    return True


def read_image_set(
    source: str,
    *,
    split: str = "train",
    limit: int | None = None,
    background: str = "white",
    **dataset_args,
) -> tuple[np.ndarray, np.ndarray | None, str]:
    """Reads one image set as uint8 ``[N, H, W, C]``.

    Args:
      source: a folder, an ``.npz`` path, or a dataset name.
      split: the split where ``source`` is a dataset.
      limit: keep only the first ``limit`` images.
      background: colour under transparent pixels (folders, datasets).
      **dataset_args: ``data_dir``, ``download``, ``image_size`` for datasets.

    Returns:
      ``(images, labels or None, description)``.

    Raises:
      ResourceNotFoundError: the path does not exist.
      ConfigError: an empty folder, images of different sizes, an ``.npz`` without
        uint8 images.
      DataCorruptError: a file that does not decode.
    """
    if limit is not None and limit < 2:
        raise ConfigError(f"need at least 2 images per set, got a limit of {limit}")
    path = os.path.expanduser(source)
    if os.path.isdir(path):
        images, description = _read_folder(path, limit, background), f"folder {path}"
        return images, None, description
    if path.endswith(".npz"):
        images, labels = read_npz(path, limit)
        return images, labels, f"arrays {path}"
    if is_dataset_name(source) and not is_toy(source):
        loaded = load_dataset(
            source, split=split, max_examples=limit, background=background, **dataset_args
        )
        return as_arrays(loaded)[0], None, f"{source} {split} ({loaded.source})"
    raise ResourceNotFoundError(
        f"{source} is neither a folder, an .npz file nor a dataset name; give a folder of "
        "PNG/JPEG images, an .npz with uint8 'images', or a dataset such as cifar10"
    )


def _read_folder(path: str, limit: int | None, background: str) -> np.ndarray:
    files = image_files(path)[0][:limit]
    if len(files) < 2:
        raise ConfigError(
            f"{path} holds {len(files)} PNG/JPEG images; a set needs at least 2 (write "
            "samples with `gan-tf sample --png_dir=DIR`)"
        )
    decoded = [_decode(file, background) for file in files]
    sizes = {image.shape[:2] for image in decoded}
    if len(sizes) > 1:
        first, second = sorted(sizes)[:2]
        raise ConfigError(
            f"the images in {path} have different sizes ({first[0]}x{first[1]} and "
            f"{second[0]}x{second[1]}); resize them to one size first"
        )
    channels = 1 if all(image.shape[2] == 1 for image in decoded) else 3
    if channels == 3:
        decoded = [np.repeat(i, 3, axis=2) if i.shape[2] == 1 else i for i in decoded]
    return np.stack(decoded)


def _decode(file: str, background: str) -> np.ndarray:
    """One image file -> uint8 ``[H, W, 1 or 3]`` (transparency over ``background``)."""
    try:
        with Image.open(file) as image:
            if image.mode in ("L", "1", "I", "I;16"):
                return np.asarray(image.convert("L"))[..., None]
            rgba = np.asarray(image.convert("RGBA"))
    except (OSError, UnidentifiedImageError, ValueError) as error:
        raise DataCorruptError(
            f"{file} does not decode as an image ({type(error).__name__}); remove or replace it"
        ) from None
    return composite(rgba, background)


def read_npz(path: str, limit: int | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """An ``.npz``'s uint8 ``images`` (or its only array; ``[N, H, W]`` gains a channel
    axis) and its ``labels`` if it has them, the first ``limit`` of each.

    Raises:
      ResourceNotFoundError, DataCorruptError, ConfigError: missing, unreadable, or
        without uint8 images of 1 or 3 channels.
    """
    if not os.path.isfile(path):
        raise ResourceNotFoundError(f"{path} does not exist")
    try:
        with np.load(path) as arrays:
            names = list(arrays)
            key = "images" if "images" in names else (names[0] if len(names) == 1 else None)
            if key is None:
                raise ConfigError(
                    f"{path} has no 'images' array (arrays: {', '.join(names)}); save the "
                    "images under the key 'images'"
                )
            images = arrays[key][:limit]
            labels = arrays["labels"][:limit] if "labels" in names else None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        if isinstance(error, ConfigError):
            raise
        raise DataCorruptError(f"{path} is not a readable .npz ({type(error).__name__})") from None
    if images.dtype != np.uint8 or images.ndim not in (3, 4):
        raise ConfigError(
            f"{path}: '{key}' is {images.dtype} {images.shape}; need uint8 images [N, H, W, C] "
            "(or [N, H, W]) in 0..255"
        )
    images = images[..., None] if images.ndim == 3 else images
    if images.shape[-1] not in (1, 3) or len(images) < 2:
        raise ConfigError(
            f"{path}: need at least 2 images with 1 or 3 channels, got shape {images.shape}"
        )
    return images, labels
