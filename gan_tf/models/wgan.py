"""WGAN with weight clipping: Arjovsky, Chintala & Bottou, 2017 (arXiv:1701.07875).

The DCGAN generator and critic (the critic's output is an unbounded score: no
sigmoid, Wasserstein losses), ``n_critic`` = 5 critic updates per generator
update, every critic weight clipped to ``[-0.01, 0.01]`` after every critic
update, and RMSProp with learning rate 5e-5, as in the paper's Algorithm 1.
"""

from gan_tf.models import dcgan
from gan_tf.models.spec import ModelSpec

__all__ = ["SPEC"]

SPEC = ModelSpec(
    name="wgan",
    paper="Arjovsky, Chintala & Bottou, 2017, Wasserstein GAN (arXiv:1701.07875)",
    defaults={
        "loss": "wasserstein",
        "optimizer": "rmsprop",
        "learning_rate": 5e-5,
        "batch_size": 64,
        "n_critic": 5,
        "clip_value": 0.01,
    },
    build_generator=dcgan.build_generator,
    build_discriminator=dcgan.build_discriminator,
    architecture=dcgan.ARCHITECTURE,
)
