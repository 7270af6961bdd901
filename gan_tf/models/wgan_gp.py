"""WGAN-GP: Gulrajani et al., 2017, "Improved Training of Wasserstein GANs" (arXiv:1704.00028).

The DCGAN generator; a DCGAN critic with **layer norm instead of batch norm**
(the ``norm`` knob: batch norm makes each example's critic output depend on the
batch, which the per-example gradient penalty assumes it does not); Wasserstein
losses; the gradient penalty with weight 10 on per-example uniform
interpolates; 5 critic updates per generator update, each on a fresh real
batch; Adam(1e-4, beta_1=0, beta_2=0.9), the paper's Algorithm 1 defaults.
"""

from gan_tf.models import dcgan
from gan_tf.models.spec import ModelSpec

__all__ = ["SPEC"]

SPEC = ModelSpec(
    name="wgan_gp",
    paper="Gulrajani et al., 2017, Improved Training of Wasserstein GANs (arXiv:1704.00028)",
    defaults={
        "loss": "wasserstein",
        "learning_rate": 1e-4,
        "beta_1": 0.0,
        "beta_2": 0.9,
        "batch_size": 64,
        "n_critic": 5,
        "gp_weight": 10.0,
    },
    build_generator=dcgan.build_generator,
    build_discriminator=dcgan.build_discriminator,
    architecture={**dcgan.ARCHITECTURE, "norm": "layer"},
)
