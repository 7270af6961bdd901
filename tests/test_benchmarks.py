"""The benchmarks' shared arithmetic (benchmarks/_setup.py): FLOP counts from layer shapes."""

import json
import os
import signal
import subprocess
import sys

import pytest
from real_data import requires_fashion_mnist

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
    assert _setup.train_step_flops(generator, discriminator, 64) == 64 * (4 * g + 8 * d)
    assert _setup.train_step_flops(generator, discriminator, 64, "simultaneous") == 64 * (
        3 * g + 7 * d
    )
    assert _setup.train_step_flops(generator, discriminator, 64, "reuse") == 64 * (3 * g + 8 * d)
    # R1 + R2 (R3GAN): 6D more per penalty and D update; WGAN-GP: 5 critic updates of G + 12D
    r1_r2 = _setup.train_step_flops(generator, discriminator, 64, penalties=2)
    assert r1_r2 == 64 * (4 * g + 8 * d + 12 * d)
    gp = _setup.train_step_flops(generator, discriminator, 64, penalties=1, n_critic=5)
    assert gp == 64 * (5 * (g + 12 * d) + 3 * g + 2 * d)
    lazy = _setup.train_step_flops(generator, discriminator, 64, penalties=1 / 16)
    assert lazy == 64 * (4 * g + 8 * d) + 64 * 6 * d // 16  # R1 every 16th step
    # the fast recipe's base_width=32 under mixed precision (wrapped outputs): a quarter
    fast_g, fast_d = build_networks(gan_tf.make_config(precision="mixed_bfloat16"), (28, 28, 1))
    assert _setup.forward_flops(fast_g) == 2 * (
        100 * 7 * 7 * 128 + 7 * 7 * 25 * 128 * 64 + 14 * 14 * 25 * 64
    )
    assert _setup.forward_flops(fast_d) == 2 * (14 * 14 * 25 * 32 + 7 * 7 * 25 * 32 * 64 + 3136)


def test_stopping_time_to_quality_stops_the_arms_it_started():
    """A SIGTERM of the benchmark while it waits for an arm (as it does most of the time)
    terminates the arm subprocess (an orphaned arm would share the CPU with the next run)
    and exits with 128 + 15, without hanging in the handler."""
    code = (
        "import os, signal, subprocess, sys, threading\n"
        "sys.path.insert(0, 'benchmarks')\n"
        "import time_to_quality\n"
        "arm = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
        "threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGTERM)).start()\n"
        "try:\n"
        "    with time_to_quality._arms_stopped_on_exit([arm]):\n"
        "        arm.wait()\n"
        "except SystemExit as stopped:\n"
        "    print(stopped.code, arm.poll())\n"
    )
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=root, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["143", str(-signal.SIGTERM)]


@requires_fashion_mnist
def test_time_to_quality_rescore_adds_the_mean_of_draws_to_the_table(tmp_path):
    """--rescore scores an arm's last checkpoint --final_draws times and the table shows
    the mean ± sd of those draws beside the single in-training evaluation."""
    run_dir = str(tmp_path / "default")
    config = gan_tf.make_config(
        dataset="fashion_mnist", download=False, max_examples=256, steps_per_epoch=2, epochs=1
    )
    gan_tf.train(config, run_dir, verbose=0)
    saved = {
        "precision": "float32",
        "batch_size": 32,
        "flops_per_step": 1e9,
        "matmul_peak_flops": 1e11,
        "peak_memory_mb": 100.0,
        "evaluations": [{"step": 2, "seconds": 1.0, "fd": 50.0, "classes_covered": 3}],
    }
    with open(tmp_path / "default.json", "w", encoding="utf-8") as handle:
        json.dump(saved, handle)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    done = subprocess.run(
        [
            sys.executable,
            "benchmarks/time_to_quality.py",
            "--task=fashion_mnist",
            "--arms=default",
            "--rescore",
            "--final_draws=2",
            "--eval_samples=300",
            f"--output_root={tmp_path}",
            "--nodownload",
        ],
        capture_output=True,
        text=True,
        cwd=root,
        timeout=300,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
    )
    assert done.returncode == 0, done.stderr[-2000:]
    with open(tmp_path / "default" / "final_eval.json", encoding="utf-8") as handle:
        draws = [draw["fd_classifier"] for draw in json.load(handle)["draws"]]
    with open(tmp_path / "default.json", encoding="utf-8") as handle:
        final = json.load(handle)["final"]["fd_classifier"]
    assert len(draws) == 2 and draws[0] != draws[1]
    assert final[0] == pytest.approx(sum(draws) / 2, rel=1e-9)
    assert final[1] == pytest.approx(abs(draws[0] - draws[1]) / 2**0.5, rel=1e-6)
    table = (tmp_path / "table.md").read_text(encoding="utf-8")
    assert "end FD, mean ± sd of 2 draws" in table
    assert f"| {final[0]:.2f} ± {final[1]:.2f} |" in table
