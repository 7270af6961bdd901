"""Class-conditional R3GAN: the networks and training defaults of
:mod:`gan_tf.models.r3gan` (Huang, Gokaslan, Kuleshov & Tompkin, 2024,
arXiv:2501.05441) with the library's generic label conditioning
(:mod:`gan_tf.models.conditioning`).

The generator's body gets ``concat(z, one_hot(label))`` (so its
:class:`~gan_tf.models.r3gan.GenerativeBasis` maps both to the 4x4 basis' scales);
the discriminator's body gets the image with one-hot label planes as extra channels,
which its first 1x1 conv reads. The authors condition differently
(``R3GAN/Networks.py``): the generator concatenates a learned linear **embedding** of
the one-hot label (64-d for CIFAR-10, ``train.py`` ``ConditionEmbeddingDimension``) to
z, and the discriminator's basis outputs a ``width``-d vector whose dot product with a
learned embedding of the label is the logit (a **projection** discriminator, Miyato &
Koyama, 2018). Label planes keep every gan_tf loss, penalty and part unchanged; the
projection pays off with many classes (the authors' ImageNet presets).

The paper's CIFAR-10 results are class-conditional (``README.md``: ``--cond=1``):
this variant with ``--arch=width=768,min_width=768,cardinality=96`` is that setting,
up to the conditioning mechanism.
"""

from gan_tf.models import r3gan
from gan_tf.models.spec import ModelSpec

__all__ = ["SPEC"]

SPEC = ModelSpec(
    name="r3gan_conditional",
    paper=r3gan.SPEC.paper + "; class-conditional through one-hot z and label planes",
    defaults=dict(r3gan.SPEC.defaults),
    build_generator=r3gan.build_generator,
    build_discriminator=r3gan.build_discriminator,
    architecture=r3gan.ARCHITECTURE,
    conditional=True,
    fast={},
)
