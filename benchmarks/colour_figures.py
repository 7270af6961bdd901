"""Figures of the emoji baselines (``benchmarks/colour_baseline.py``) for the README.

    python benchmarks/colour_figures.py [--output_root=runs/colour] [--images=docs/images]

Writes ``emoji_baselines_<side>.png`` (the last epoch grid of every main-table run at
that side: one column per model, rows without / with augmentation),
``emoji_small_data.png`` (the three small-data runs side by side), and copies the
long run's last grid to ``emoji_dcgan_64.png`` and the progress of its top-left 4x4
samples to ``emoji_dcgan_64.gif``.
"""

from __future__ import annotations

import glob
import os

import _setup  # noqa: F401 - gan_tf importable from the checkout
from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_string("output_root", "runs/colour", "Where colour_baseline.py wrote the runs.")
flags.DEFINE_string("images", "docs/images", "Where the figures go.")

MODELS = ("dcgan", "cgan", "wgan_gp", "sngan")
AUGMENTS = (("none", "no augmentation"), ("flip-translation-color", "DiffAugment"))
SMALL = (
    ("small_none", "no augmentation"),
    ("small_diffaugment", "DiffAugment"),
    ("small_ada", "adaptive (ADA, target 0.6)"),
)


def last_grid(run: str):
    import imageio.v3 as iio

    grids = sorted(glob.glob(os.path.join(FLAGS.output_root, run, "samples", "epoch_*.png")))
    if not grids:
        return None, None
    return iio.imread(grids[-1]), int(os.path.basename(grids[-1])[6:10])


def panel(cells, columns, path, title):
    """cells: [(run name, caption)] in row-major order; missing runs are left blank."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = (len(cells) + columns - 1) // columns
    figure, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 3.5 * rows), squeeze=False)
    for axis in axes.flat:
        axis.axis("off")
    for axis, (run, caption) in zip(axes.flat, cells, strict=False):
        image, epoch = last_grid(run)
        if image is not None:
            axis.imshow(image, cmap="gray" if image.ndim == 2 else None)
            axis.set_title(f"{caption}\n(epoch {epoch})", fontsize=9)
    figure.suptitle(title, fontsize=11)
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    plt.close(figure)
    print(f"wrote {path}")


def main(argv):
    del argv
    os.makedirs(FLAGS.images, exist_ok=True)
    for side in (32, 64):
        cells = [
            (f"{model}_{side}_{augment}", f"{model}, {label}")
            for augment, label in AUGMENTS
            for model in MODELS
        ]
        panel(
            cells,
            len(MODELS),
            os.path.join(FLAGS.images, f"emoji_baselines_{side}.png"),
            f"emoji {side}x{side}: last epoch grids (top: no augmentation, bottom: DiffAugment)",
        )
    panel(
        [(run, label) for run, label in SMALL],
        3,
        os.path.join(FLAGS.images, "emoji_small_data.png"),
        "1,000 training emoji, 32x32, dcgan, 2,505 steps",
    )
    image, _ = last_grid("dcgan_64_long")
    if image is not None:
        import imageio.v3 as iio

        from gan_tf import visualize

        iio.imwrite(os.path.join(FLAGS.images, "emoji_dcgan_64.png"), image)
        # the GIF of the top-left 4x4 samples (the full 8x8 one is 4 MB): 4 tiles of 64 px + padding
        side = 4 * 66 + 2
        paths = sorted(
            glob.glob(os.path.join(FLAGS.output_root, "dcgan_64_long", "samples", "*.png"))
        )
        frames = [iio.imread(path)[:side, :side] for path in paths]
        visualize.write_gif(frames, os.path.join(FLAGS.images, "emoji_dcgan_64.gif"), 0.5, 4)
        print(f"wrote the long run's grid and a {len(frames)}-frame GIF to {FLAGS.images}")


if __name__ == "__main__":
    app.run(main)
