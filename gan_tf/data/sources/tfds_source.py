"""``tfds:NAME[:SPLIT]``: any TensorFlow Datasets dataset with an image feature (and its
class-label feature, if it has one, for conditional models), centre-cropped and resized
to ``image_size``; also the tfds fallback of the fixed-name datasets.

``NAME`` is what ``tfds.load`` takes (``oxford_flowers102``, ``lsun/bedroom``,
``cats_vs_dogs:4.0.1``); ``SPLIT`` is the training split (default ``train``; slices such
as ``train[:90%]`` work). The held-out split that evaluation scores against is the
dataset's ``test`` split, else its ``validation`` split, else the training split."""

from __future__ import annotations

import re

import numpy as np
import tensorflow as tf

from gan_tf.data import images
from gan_tf.data.base import ImageDataset, Request, Source
from gan_tf.errors import ConfigError, DataNotFoundError

TFDS_HOST = ("storage.googleapis.com", 443)  # where tfds downloads (and mirrors) datasets
CACHE_BYTES = 2 * 1024**3  # decoded data above this streams from tfds' files every epoch
STREAM_SHUFFLE = 1_024  # examples a streamed epoch's shuffle holds (files are shuffled too)
DEFAULT_SIZE = 64
_VERSION = re.compile(r"\d+(\.\d+){0,2}|\d+\.\d+\.\*|\d+\.\*\.\*")


INSTALL = 'pip install "gan-tf[tfds]" (or pip install tensorflow-datasets)'


def tfds_module():
    """``tensorflow_datasets``, or ``None`` where it is not installed (it is an extra)."""
    try:
        import tensorflow_datasets
    except ImportError:
        return None
    return tensorflow_datasets


def require_tfds(what: str):
    """``tensorflow_datasets``; ``DataNotFoundError`` naming ``what`` needs it otherwise."""
    tfds = tfds_module()
    if tfds is None:
        raise DataNotFoundError(
            f"{what} needs TensorFlow Datasets, which is not installed. Fix: {INSTALL}",
            "dataset",
        )
    return tfds


def reachable(address: tuple[str, int], timeout: float = 3.0) -> bool:
    """Whether a TCP connection to ``address`` opens within ``timeout`` seconds."""
    import socket

    try:
        socket.create_connection(address, timeout=timeout).close()
        return True
    except OSError:
        return False


def _check_online(builder, download: bool) -> None:
    # offline, tfds.load retries for minutes before it fails: ask the network first
    if download and not builder.is_prepared() and not reachable(TFDS_HOST):
        raise ConnectionError(f"{TFDS_HOST[0]} is not reachable (offline?)")


def tfds_dataset(tfds_name: str, split: str, data_dir: str | None, download: bool):
    """``(examples, count)`` of ``tfds.load(tfds_name, split=split)``."""
    tfds = require_tfds(f"dataset '{tfds_name}' from tfds")

    _check_online(tfds.builder(tfds_name, data_dir=data_dir), download)
    dataset, info = tfds.load(
        tfds_name, split=split, data_dir=data_dir, download=download, with_info=True
    )
    return dataset, info.splits[split].num_examples


def short(error: BaseException, limit: int = 160) -> str:
    text = " ".join(str(error).split())
    text = text if len(text) <= limit else text[: limit - 3] + "..."
    return f"{type(error).__name__}: {text}"


def parse(argument: str) -> tuple[str, str | None]:
    """``NAME[:VERSION][:SPLIT]`` -> ``(NAME[:VERSION], SPLIT or None)``."""
    name, _, rest = argument.partition(":")
    if rest:
        version, _, split = rest.partition(":")
        if _VERSION.fullmatch(version):
            name, rest = f"{name}:{version}", split
    if not name:
        raise ConfigError("dataset=tfds: needs a name, e.g. tfds:oxford_flowers102", "dataset")
    return name, rest or None


def _features(info, name: str) -> tuple[str, str | None]:
    """The keys of the image feature and of the class-label feature (or ``None``)."""
    tfds = require_tfds(f"dataset 'tfds:{name}'")

    flat = info.features
    image = [key for key, value in flat.items() if isinstance(value, tfds.features.Image)]
    label = [key for key, value in flat.items() if isinstance(value, tfds.features.ClassLabel)]
    if not image:
        raise ConfigError(
            f"tfds dataset '{name}' has no image feature (it has: {', '.join(flat)}); "
            "choose an image dataset",
            "dataset",
        )
    prefer = [key for key in label if key == "label"]
    return image[0], (prefer or label or [None])[0]


def _split_for(info, wanted: str | None, request_split: str) -> str:
    if request_split == "train":
        return wanted or "train"
    for candidate in (request_split, "validation"):
        if candidate in info.splits:
            return candidate
    return wanted or "train"


class TfdsSource(Source):
    name, usage, parametrised = "tfds", "tfds:NAME[:SPLIT]", True

    def _builder(self, tfds_name: str, data_dir: str | None):
        tfds = require_tfds(f"dataset 'tfds:{tfds_name}'")
        try:
            return tfds.builder(tfds_name, data_dir=data_dir)
        except Exception as error:  # noqa: BLE001 - unknown names, missing files
            raise DataNotFoundError(
                f"dataset 'tfds:{tfds_name}' not found ({short(error)}). Fix: check the name "
                "in the tfds catalog, or pass the data_dir where it was prepared",
                "dataset",
                "data_dir",
            ) from None

    def image_shape(self, argument, image_size, data_dir=None):
        channels, side = 3, image_size or DEFAULT_SIZE
        try:
            info = self._builder(parse(argument)[0], data_dir).info
            shape = info.features[_features(info, argument)[0]].shape
        except (ConfigError, DataNotFoundError):
            return (side, side, channels)
        channels = 1 if shape[-1] == 1 else 3
        if image_size is None and shape[0] and shape[0] == shape[1]:
            side = shape[0]
        return (side, side, channels)

    def load(self, argument, request: Request) -> ImageDataset:
        tfds_name, wanted = parse(argument)
        tfds = require_tfds(f"dataset 'tfds:{argument}'")
        builder = self._builder(tfds_name, request.data_dir)
        info = builder.info
        image_key, label_key = _features(info, tfds_name)
        if request.with_labels and label_key is None:
            raise self.unknown_labels(f"tfds:{argument}")
        shape = self.image_shape(argument, request.image_size, request.data_dir)
        split = _split_for(info, wanted, request.split)
        try:
            _check_online(builder, request.download)
            if request.download:
                builder.download_and_prepare()
            count = info.splits[split].num_examples
        except Exception as error:  # noqa: BLE001 - any tfds failure means "not available here"
            raise DataNotFoundError(
                f"dataset 'tfds:{argument}' not available ({short(error)}). Fix: run once where "
                "the internet is reachable (tfds caches it), or pass the data_dir where it was "
                "prepared",
                "data_dir",
                "download",
            ) from None
        if request.max_examples is not None:
            count = min(count, request.max_examples)
        convert = _converter(image_key, label_key, shape, request.background)

        def read(seed=None):
            config = tfds.ReadConfig(shuffle_seed=seed) if seed is not None else None
            raw = builder.as_dataset(
                split=split, shuffle_files=seed is not None, read_config=config
            )
            if request.max_examples is not None:
                raw = raw.take(request.max_examples)
            if seed is not None:
                raw = raw.shuffle(STREAM_SHUFFLE, seed=seed, reshuffle_each_iteration=False)
            examples = raw.map(convert, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
            return examples if request.with_labels else examples.map(lambda x, y: x)

        in_memory = count * int(np.prod(shape)) <= CACHE_BYTES
        return ImageDataset(
            f"tfds:{argument}",
            read().cache() if in_memory else read(),
            shape,
            count,
            info.features[label_key].num_classes if label_key else None,
            request.with_labels,
            f"tfds:{tfds_name} split {split} ({builder.data_dir})",
            in_memory,
            None if in_memory else read,
        )


def _converter(image_key: str, label_key: str | None, shape, background: str):
    side, channels = shape[0], shape[-1]

    def convert(example):
        image = images.as_channels(example[image_key], channels, background)
        image = images.center_crop_resize(image, None, side)
        label = example[label_key] if label_key else tf.constant(-1)
        return image, tf.cast(label, tf.int32)

    return convert


SOURCE = TfdsSource()
