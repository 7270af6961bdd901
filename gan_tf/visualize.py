"""Pictures of a run: image grids, the progress GIF and loss curves."""

from __future__ import annotations

import csv
import glob
import os

import imageio.v3 as iio
import numpy as np

__all__ = [
    "epoch_grids",
    "image_grid",
    "make_gif",
    "plot_confusion_matrices",
    "plot_losses",
    "plot_metrics",
    "save_image",
    "scatter_plot",
    "to_uint8",
    "write_gif",
]


def _figure(**kwargs):
    """A matplotlib Figure outside pyplot: drawing files here never changes the user's
    backend (notebooks keep showing their own figures) and needs no display."""
    from matplotlib.figure import Figure

    return Figure(**kwargs)


def _save_figure(figure, path: str, dpi: int = 80) -> None:
    tmp = f"{path}.tmp.png"
    figure.savefig(tmp, dpi=dpi)
    os.replace(tmp, path)


def to_uint8(images) -> np.ndarray:
    """Images in ``[-1, 1]`` -> uint8 in ``[0, 255]`` (values outside are clipped)."""
    images = np.asarray(images, dtype=np.float32)
    return np.clip(np.round((images + 1.0) * 127.5), 0, 255).astype(np.uint8)


def image_grid(images, rows: int | None = None, padding: int = 2) -> np.ndarray:
    """Tiles ``[N, H, W, C]`` uint8 images into one ``[rows*(H+p)+p, cols*(W+p)+p, C]`` image.

    Images fill the grid row by row; a short last row is left blank (black).

    Args:
      images: uint8 array ``[N, H, W, C]`` with C in {1, 3}.
      rows: number of rows; default ``ceil(sqrt(N))``, columns follow.
      padding: black pixels between and around tiles.

    Raises:
      ValueError: for an empty batch or a non-NHWC array.
    """
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[0] == 0:
        raise ValueError(f"image_grid needs a non-empty [N, H, W, C] batch, got {images.shape}")
    count, height, width, channels = images.shape
    rows = rows or int(np.ceil(np.sqrt(count)))
    cols = int(np.ceil(count / rows))
    grid = np.zeros(
        (rows * (height + padding) + padding, cols * (width + padding) + padding, channels),
        dtype=images.dtype,
    )
    for index in range(count):
        row, col = divmod(index, cols)
        top, left = padding + row * (height + padding), padding + col * (width + padding)
        grid[top : top + height, left : left + width] = images[index]
    return grid


def save_image(image: np.ndarray, path: str) -> None:
    """Writes a uint8 ``[H, W, C]`` image (C in {1, 3}) to a PNG, atomically."""
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    tmp = f"{path}.tmp.png"
    iio.imwrite(tmp, image)
    os.replace(tmp, path)


def save_png_folder(images, directory: str, labels=None) -> int:
    """Writes uint8 ``[N, H, W, C]`` images as lossless PNGs ``000000.png``, ... in a new
    folder (what clean-fid, torch-fidelity and ``gan-tf evaluate --fake=DIR`` read), and
    ``labels.txt`` (one class id per line) when ``labels`` are given.

    The folder appears complete or not at all: the files are written into a temporary
    sibling that is renamed at the end.

    Raises:
      ConfigError: ``directory`` exists and is not empty.
    """
    from gan_tf.errors import ConfigError

    directory = os.path.abspath(os.path.expanduser(directory))
    if os.path.isdir(directory) and os.listdir(directory):
        raise ConfigError(f"{directory} is not empty; give a new or empty folder", "png_dir")
    tmp = f"{directory}.tmp-{os.getpid()}"
    os.makedirs(tmp, exist_ok=True)
    width = max(6, len(str(len(images) - 1)))
    for index, image in enumerate(np.asarray(images)):
        iio.imwrite(os.path.join(tmp, f"{index:0{width}d}.png"), _drop_gray_axis(image))
    if labels is not None:
        with open(os.path.join(tmp, "labels.txt"), "w", encoding="utf-8") as handle:
            handle.writelines(f"{int(label)}\n" for label in labels)
    if os.path.isdir(directory):
        os.rmdir(directory)  # empty (checked above)
    os.replace(tmp, directory)
    return len(images)


def _drop_gray_axis(image: np.ndarray) -> np.ndarray:
    return image[..., 0] if image.ndim == 3 and image.shape[-1] == 1 else image


def make_gif(frame_paths: list[str], path: str, seconds_per_frame: float = 0.5) -> int:
    """Builds an endlessly looping GIF from PNG frames (e.g. the epoch grids).

    Args:
      frame_paths: PNG files of equal size, in order.
      path: where to write the GIF (written atomically).
      seconds_per_frame: display time of each frame; the last one is held 4x longer.

    Returns:
      The number of frames written.

    Raises:
      ValueError: if there are no frames.
    """
    if not frame_paths:
        raise ValueError(f"no frames to build {path} from")
    return write_gif(
        [iio.imread(frame) for frame in frame_paths], path, seconds_per_frame, hold_last=4
    )


def write_gif(frames, path: str, seconds_per_frame: float = 0.1, hold_last: int = 1) -> int:
    """Writes uint8 frames (``[H, W]``, ``[H, W, 3]`` or ``[H, W, 4]``) as an endlessly
    looping GIF, atomically; the last frame shows ``hold_last`` times longer.
    Returns the number of frames."""
    if not len(frames):
        raise ValueError(f"no frames to build {path} from")
    frames = [np.asarray(frame) for frame in frames]
    frames = [frame[..., None] if frame.ndim == 2 else frame for frame in frames]
    # RGB: widen grayscale, drop PNG alpha
    frames = [np.repeat(f, 3, -1) if f.shape[-1] == 1 else f[..., :3] for f in frames]
    durations = [int(seconds_per_frame * 1000)] * len(frames)
    durations[-1] *= hold_last
    tmp = f"{path}.tmp.gif"
    # Pillow takes a list of durations only for several frames.
    duration = durations if len(frames) > 1 else durations[0]
    iio.imwrite(tmp, np.stack(frames), extension=".gif", duration=duration, loop=0)
    os.replace(tmp, path)
    return len(frames)


def epoch_grids(run_dir: str) -> list[str]:
    """The run's per-epoch sample grids, in epoch order."""
    return sorted(glob.glob(os.path.join(run_dir, "samples", "epoch_*.png")))


def plot_losses(csv_path: str, path: str, x: str = "step") -> None:
    """Plots every loss/score column of a CSV written by the train loop against ``x``."""
    with open(csv_path, encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        return
    xs = [float(row[x]) for row in rows]
    figure = _figure(figsize=(10, 3.5))
    loss_axes, score_axes = figure.subplots(1, 2)
    for column in ("discriminator_loss", "generator_loss", "gradient_penalty"):
        if column in rows[0]:
            loss_axes.plot(xs, [float(row[column]) for row in rows], label=column)
    for column in ("d_real", "d_fake"):
        score_axes.plot(xs, [float(row[column]) for row in rows], label=column)
    loss_axes.set_title("losses")
    score_axes.set_title("mean D(x) and D(G(z))")
    for axes in (loss_axes, score_axes):
        axes.set_xlabel(x)
        axes.legend()
        axes.grid(alpha=0.3)
    figure.tight_layout()
    _save_figure(figure, path)


def plot_metrics(csv_path: str, path: str, columns) -> bool:
    """Plots each of ``columns`` present in a per-epoch CSV against ``epoch``, one panel
    each (empty cells, i.e. epochs without that metric, are skipped).

    Returns:
      Whether a plot was written (False when no column has a value).
    """
    with open(csv_path, encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    series = {}
    for column in columns:
        points = [(int(r["epoch"]), float(r[column])) for r in rows if r.get(column, "") != ""]
        if points:
            series[column] = points
    if not series:
        return False
    figure = _figure(figsize=(3.2 * len(series), 3))
    axes = figure.subplots(1, len(series), squeeze=False)
    for panel, (column, points) in zip(axes[0], series.items(), strict=True):
        panel.plot(*zip(*points, strict=True), marker="o")
        panel.set_title(column, fontsize=9)
        panel.set_xlabel("epoch")
        panel.grid(alpha=0.3)
    figure.tight_layout()
    _save_figure(figure, path)
    return True


def scatter_plot(real, fake, path: str, *, limit: float, title: str = "") -> None:
    """Scatter of real (grey) and generated (red) 2-D points on fixed axes
    ``[-limit, limit]^2``, so every epoch's picture has the same frame (for the GIF)."""
    figure = _figure(figsize=(4, 4))
    axes = figure.subplots()
    real, fake = np.asarray(real), np.asarray(fake)
    axes.scatter(real[:, 0], real[:, 1], s=2, c="0.6", label="real")
    axes.scatter(fake[:, 0], fake[:, 1], s=2, c="tab:red", alpha=0.6, label="generated")
    axes.set_xlim(-limit, limit)
    axes.set_ylim(-limit, limit)
    axes.set_aspect("equal")
    axes.set_title(title, fontsize=9)
    axes.legend(loc="upper right", fontsize=7, markerscale=4)
    figure.tight_layout()
    _save_figure(figure, path)


def plot_confusion_matrices(matrices: dict[str, np.ndarray], path: str, class_names=None) -> None:
    """Side-by-side heatmaps of confusion matrices, each row normalised to sum to 1.

    Args:
      matrices: title -> int ``[K, K]`` confusion matrix (rows = true class, columns
        = predicted), e.g. ``{"real": ..., "real + generated": ...}``; every
        matrix has the same K. Each panel's title adds its accuracy (trace / total).
      path: PNG to write (atomically).
      class_names: K tick labels (default ``0 .. K-1``).

    Raises:
      ValueError: for no matrices, a non-square or empty matrix, unequal K, or a
        ``class_names`` of the wrong length.
    """
    if not matrices:
        raise ValueError("plot_confusion_matrices needs at least one matrix")
    arrays = {title: np.asarray(matrix, dtype=np.float64) for title, matrix in matrices.items()}
    sizes = {matrix.shape for matrix in arrays.values()}
    size = next(iter(sizes))[0] if len(sizes) == 1 else 0
    if len(sizes) != 1 or next(iter(sizes)) != (size, size) or size == 0:
        raise ValueError(f"confusion matrices must all be [K, K], got shapes {sorted(sizes)}")
    names = [str(index) for index in range(size)] if class_names is None else list(class_names)
    if len(names) != size:
        raise ValueError(f"class_names has {len(names)} names for {size} classes")
    figure = _figure(figsize=(0.5 * size * len(arrays) + 1.5, 0.5 * size + 1.4))
    panels = figure.subplots(1, len(arrays), squeeze=False)[0]
    for panel, (title, matrix) in zip(panels, arrays.items(), strict=True):
        rows = matrix.sum(axis=1, keepdims=True)
        normalised = np.divide(matrix, rows, out=np.zeros_like(matrix), where=rows > 0)
        panel.imshow(normalised, vmin=0.0, vmax=1.0, cmap="Blues")
        for (row, column), value in np.ndenumerate(normalised):
            if value >= 0.005:
                colour = "white" if value > 0.6 else "black"
                panel.text(
                    column,
                    row,
                    f"{value:.2f}"[1:] if value < 1 else "1",
                    ha="center",
                    va="center",
                    fontsize=6,
                    color=colour,
                )
        accuracy = np.trace(matrix) / max(matrix.sum(), 1.0)
        panel.set_title(f"{title}: accuracy {accuracy:.3f}", fontsize=9)
        panel.set_xticks(range(size), names, rotation=90, fontsize=7)
        panel.set_yticks(range(size), names, fontsize=7)
        panel.set_xlabel("predicted")
        panel.set_ylabel("true")
    figure.tight_layout()
    _save_figure(figure, path)
