"""GAN variants, chosen by name.

Every variant is one module here exposing ``SPEC``, a :class:`ModelSpec`: its
paper, its default hyper-parameters and two builders. The train loop only ever
sees a ``ModelSpec``; it never imports a variant by name.
"""

from __future__ import annotations

import importlib

from gan_tf.models.spec import ModelSpec

__all__ = ["MODEL_NAMES", "ModelSpec", "get_model"]

# Adding a variant: write gan_tf/models/<name>.py with a SPEC, then list it here.
MODEL_NAMES = ("gan", "dcgan", "cgan", "wgan", "wgan_gp")


def get_model(name: str) -> ModelSpec:
    """Returns the :class:`ModelSpec` of the variant called ``name``.

    Raises:
      ValueError: for an unknown name; the message lists the valid ones.
    """
    if name not in MODEL_NAMES:
        raise ValueError(f"unknown model '{name}'; choose one of: {', '.join(MODEL_NAMES)}")
    return importlib.import_module(f"gan_tf.models.{name}").SPEC
