"""The benchmarks' shared arithmetic (benchmarks/_setup.py): FLOP counts from layer shapes."""

import os
import sys

import gan_tf
from gan_tf.build import build_networks

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "benchmarks"))
import _setup  # noqa: E402


def test_forward_and_train_step_flops_of_the_28px_dcgan_by_hand():
    """Paper widths: G = Dense 100->7*7*256, ConvT 5x5 256->128 on 7x7 inputs, ConvT
    128->1 on 14x14; D = Conv 5x5 1->64 to 14x14, Conv 64->128 to 7x7, Dense 6272->1.
    2 FLOPs per multiply-add."""
    config = gan_tf.make_config(recipe="paper", precision="float32")
    generator, discriminator = build_networks(config, (28, 28, 1))
    g = 2 * (100 * 12544 + 7 * 7 * 25 * 256 * 128 + 14 * 14 * 25 * 128 * 1)
    d = 2 * (14 * 14 * 25 * 1 * 64 + 7 * 7 * 25 * 64 * 128 + 6272)
    assert (g, d) == (84_044_800, 20_710_144)
    assert _setup.forward_flops(generator) == g
    assert _setup.forward_flops(discriminator) == d
    assert _setup.train_step_flops(generator, discriminator, 64, False) == 64 * (4 * g + 8 * d)
    assert _setup.train_step_flops(generator, discriminator, 64, True) == 64 * (3 * g + 7 * d)
    # R1 + R2 (R3GAN): 6D more per penalty and D update; WGAN-GP: 5 critic updates of G + 12D
    r1_r2 = _setup.train_step_flops(generator, discriminator, 64, False, penalties=2)
    assert r1_r2 == 64 * (4 * g + 8 * d + 12 * d)
    gp = _setup.train_step_flops(generator, discriminator, 64, False, penalties=1, n_critic=5)
    assert gp == 64 * (5 * (g + 12 * d) + 3 * g + 2 * d)
    # the fast recipe's base_width=32 under mixed precision (wrapped outputs): a quarter
    fast_g, fast_d = build_networks(gan_tf.make_config(precision="mixed_bfloat16"), (28, 28, 1))
    assert _setup.forward_flops(fast_g) == 2 * (
        100 * 7 * 7 * 128 + 7 * 7 * 25 * 128 * 64 + 14 * 14 * 25 * 64
    )
    assert _setup.forward_flops(fast_d) == 2 * (14 * 14 * 25 * 32 + 7 * 7 * 25 * 32 * 64 + 3136)
