"""``python:<kind>:<H>x<W>x<C>:<digest>``: the name a run gets for data handed in from
Python (:mod:`gan_tf.data.user`). It records what the data was, so a resume with other
data is refused; it cannot be reopened by name (the data lives in your program)."""

from __future__ import annotations

from gan_tf.data.base import ImageDataset, Request, Source
from gan_tf.errors import ConfigError


class HandedInSource(Source):
    name, usage, parametrised = "python", "python:... (data handed in from Python)", True

    def image_shape(self, argument, image_size, data_dir=None):
        try:
            shape = tuple(int(side) for side in argument.split(":")[1].split("x"))
        except (IndexError, ValueError):
            shape = (image_size or 64, image_size or 64, 3)
        return (image_size, image_size, shape[-1]) if image_size else shape

    def load(self, argument, request: Request) -> ImageDataset:
        raise ConfigError(
            f"dataset 'python:{argument}' was handed in from Python and cannot be reopened "
            "by name; pass the same data again: gan_tf.train(config, run_dir, dataset=...)",
            "dataset",
        )


SOURCE = HandedInSource()
