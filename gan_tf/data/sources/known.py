"""The flow every fixed-name dataset shares: its raw files in their standard format,
looked for in ``data_dir``, Keras' cache and system places (the source module lists
them), then ``tfds.load``; then the resize to ``image_size``."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterator

import numpy as np
import tensorflow as tf

from gan_tf.data import images
from gan_tf.data.base import ImageDataset, Request, Source, from_arrays, pack
from gan_tf.data.sources import tfds_source
from gan_tf.errors import DataNotFoundError

# A loader takes the split and returns (images, labels, where) or None when its files
# are absent; images are a uint8 array [N, H, W, C], or a list of image files.
Loader = Callable[[str], tuple | None]


class KnownSource(Source):
    """A dataset with a fixed name, shape and classes.

    Args:
      name: the dataset name.
      shape: ``(H, W, C)`` of its images as stored (as loaded for ``crop`` sources).
      num_classes: label classes, or ``None``.
      train_examples: the train split's size (for estimates made before loading).
      candidates: ``(data_dir or None, background) -> (description, loader)`` pairs,
        tried in order.
      tfds_name: the tfds dataset tried when no local files are found, or ``None``.
      fix: what the not-found error tells to do when there is no ``tfds_name``.
      crop: image-file sources: the centre square cropped before the resize.
      extra_fix: appended to the fix of the tfds failure.
    """

    def __init__(
        self,
        name: str,
        shape: tuple[int, int, int],
        num_classes: int | None,
        train_examples: int,
        candidates: Callable[[str | None, str], Iterator[tuple[str, Loader]]],
        *,
        tfds_name: str | None = None,
        fix: str = "",
        crop: int | None = None,
        extra_fix: str = "",
    ):
        self.name = self.usage = name
        self.shape, self.num_classes, self.train_examples = shape, num_classes, train_examples
        self.candidates, self.tfds_name, self.fix = candidates, tfds_name, fix
        self.crop, self.extra_fix = crop, extra_fix

    def image_shape(self, argument, image_size, data_dir=None):
        return (image_size, image_size, self.shape[-1]) if image_size else self.shape

    def memory_bytes(self, argument, image_size, max_examples, split, data_dir=None):
        shape = self.image_shape(argument, image_size)
        count = min(self.train_examples, max_examples or self.train_examples)
        if self.crop is not None:  # decoded straight to the chosen size and cached
            return count * int(np.prod(shape)), count
        source = self.train_examples * int(np.prod(self.shape))  # the arrays as read
        resized = count * int(np.prod(shape)) if shape != self.shape else 0
        return source + resized, count

    def load(self, argument, request: Request) -> ImageDataset:
        if request.with_labels and self.num_classes is None:
            raise self.unknown_labels(self.name)
        images.background_rgb(request.background)  # a bad colour fails before anything loads
        data_dir = os.path.expanduser(request.data_dir) if request.data_dir else None
        if data_dir and not os.path.isdir(data_dir):  # a typo, not a place to download into
            raise DataNotFoundError(
                f"data_dir={data_dir} does not exist; pass the directory that holds the "
                f"'{self.name}' files, or leave data_dir unset to use the default locations",
                "data_dir",
            )
        # cropped and resized once, straight from the file
        side = request.image_size if self.crop and request.image_size else self.shape[0]
        dataset, tried = self._local(data_dir, request, side)
        if dataset is None:
            dataset = self._tfds(data_dir, request, side, "; ".join(tried))
        size = request.image_size
        if size is not None and size != dataset.image_shape[0]:
            if request.with_labels:
                examples = dataset.examples.map(lambda x, y: (images.resize_uint8(x, size), y))
            else:
                examples = dataset.examples.map(lambda x: images.resize_uint8(x, size))
            shape = (size, size, dataset.image_shape[-1])
            dataset = dataclasses.replace(
                dataset, examples=examples.cache(), image_shape=shape, arrays=None
            )  # resized one by one, cached: shuffled from a buffer
        return dataset

    def _local(self, data_dir, request: Request, side: int):
        """``(dataset, [])`` from the first candidate with files, or ``(None, what was
        tried)``."""
        tried = []
        for description, loader in self.candidates(data_dir, request.background):
            found = loader(request.split)
            if found is None:
                tried.append(description)
                continue
            files_or_images, labels, where = found
            if self.crop is not None:
                files, _ = images.keep_decodable(
                    files_or_images,
                    None,
                    request.max_examples,
                    (3, self.crop, side, "white"),
                    name=self.name,
                    root=where,
                    fix=f"delete {where} and fetch {self.name} again, or pass another data_dir",
                    params=("data_dir",),
                )
                examples = images.files_dataset(files, None, 3, self.crop, side).cache()
                count, arrays = len(files), None
            else:
                examples, arrays = from_arrays(
                    files_or_images, labels, request.max_examples, request.with_labels
                )
                count = min(len(files_or_images), request.max_examples or len(files_or_images))
            shape = (side, side, self.shape[-1])
            labelled = request.with_labels
            return ImageDataset(
                self.name, examples, shape, count, self.num_classes, labelled, where, arrays=arrays
            ), []
        return None, tried

    def _tfds(self, data_dir, request: Request, side: int, tried: str) -> ImageDataset:
        if self.tfds_name is None:
            raise DataNotFoundError(
                f"dataset '{self.name}' not found ({tried}). Fix: {self.fix}", "data_dir"
            )
        if tfds_source.tfds_module() is None:
            raise DataNotFoundError(
                f"dataset '{self.name}' not found: no local files ({tried or 'no data_dir'}), "
                "and TensorFlow Datasets, which would download it, is not installed. Fix: "
                f"put the raw files in data_dir, or {tfds_source.INSTALL}{self.extra_fix}",
                "data_dir",
            )
        try:
            raw, count = tfds_source.tfds_dataset(
                self.tfds_name, request.split, data_dir, request.download
            )
        except Exception as error:  # noqa: BLE001 - any tfds failure means "not available here"
            raise DataNotFoundError(
                f"dataset '{self.name}' not found: no local files ({tried or 'no data_dir'}) "
                f"and tfds.load('{self.tfds_name}') "
                f"{'failed' if request.download else 'found no cached copy'} "
                f"({tfds_source.short(error)}). Fix: run once where the internet is reachable "
                "(tfds caches it), or put the raw files in data_dir and pass download=False "
                f"(then tfds is not tried){self.extra_fix}",
                "data_dir",
                "download",
            ) from None
        if request.max_examples is not None:
            raw = raw.take(request.max_examples)
            count = min(count, request.max_examples)
        crop = self.crop

        def convert(example):
            image = example["image"]
            if crop is not None:
                return images.center_crop_resize(image, crop, side), tf.constant(0, tf.int32)
            return image, tf.cast(example["label"], tf.int32)

        parallel = {"num_parallel_calls": tf.data.AUTOTUNE, "deterministic": True}
        examples = raw.map(convert, **parallel).cache()
        return ImageDataset(
            self.name,
            pack(examples, request.with_labels),
            (side, side, self.shape[-1]),
            count,
            self.num_classes,
            request.with_labels,
            f"tfds:{self.tfds_name}",
        )


def data_dirs(name: str, data_dir: str | None) -> list[str]:
    """``data_dir`` and ``data_dir/<name>`` (none without a ``data_dir``)."""
    return [data_dir, os.path.join(data_dir, name)] if data_dir else []
