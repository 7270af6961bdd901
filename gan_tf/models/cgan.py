"""Conditional GAN: Mirza & Osindero, 2014 (arXiv:1411.1784), on DCGAN networks.

The DCGAN generator and discriminator wrapped by :mod:`gan_tf.models.conditioning`:
the generator gets ``concat(z, one_hot(label))``, the discriminator the image
with one-hot label planes as extra channels. Any other variant becomes
conditional the same way: a spec with ``conditional=True``.
"""

from gan_tf.models import dcgan
from gan_tf.models.spec import ModelSpec

__all__ = ["SPEC"]

SPEC = ModelSpec(
    name="cgan",
    paper="Mirza & Osindero, 2014, Conditional Generative Adversarial Nets (arXiv:1411.1784); "
    "DCGAN networks and defaults (Radford et al., 2015)",
    defaults={"batch_size": 64, "learning_rate": 2e-4, "beta_1": 0.5},
    build_generator=dcgan.build_generator,
    build_discriminator=dcgan.build_discriminator,
    architecture=dcgan.ARCHITECTURE,
    conditional=True,
    # colour images: dcgan's colour recipe with its EMA generator
    fast_colour={side: {**recipe, "ema": 0.999} for side, recipe in dcgan.FAST_COLOUR.items()},
)
