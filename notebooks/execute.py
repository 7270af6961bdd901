"""Runs notebooks top to bottom in a Jupyter kernel (nbclient) and saves them with outputs.

    python notebooks/execute.py [--smoke] [--workdir=DIR] OUT_DIR NOTEBOOK...

Without ``--smoke`` each notebook trains for real (its few epochs: what ``make notebooks``
runs to write ``notebooks/executed/``, the copies GitHub shows); ``--smoke`` sets
``SMOKE = True`` in the parameters cell (a few training steps: what the test suite runs).
Each notebook runs in ``--workdir`` (default: a fresh temporary directory) and is written
to ``OUT_DIR/<name>.ipynb`` with its outputs, pictures included. TensorFlow's C++ start-up
lines (which come before any Python runs and say nothing about the notebook) are left
out of the saved copies, and the live progress bar is kept as its final lines.
:func:`sync_repository` writes the repository address of ``pyproject.toml`` into every
notebook's Colab badge and install cell.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile

import nbformat
from nbclient import NotebookClient

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# TensorFlow's native start-up logging (absl before InitializeLog, oneDNN, CUDA probing)
STARTUP_NOISE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\)|[IWE]\d{4} [\d:. ]+\d+ "
    r"(port|cuda_\w+|cudart_stub|cpu_feature_guard|gpu_device|cuda_platform)\.cc:\d+\])"
)
KERNEL_STARTS = 3  # attempts to start a kernel that dies before it answers


def execute(path: str, out: str, *, smoke: bool, workdir: str | None = None) -> str:
    notebook = nbformat.read(path, as_version=4)
    if smoke:
        for cell in notebook.cells:
            if "parameters" in cell.metadata.get("tags", []):
                cell.source = cell.source.replace("SMOKE = False", "SMOKE = True")
    workdir = workdir or tempfile.mkdtemp(prefix="gan_tf_notebook_")
    for attempt in range(KERNEL_STARTS):
        client = NotebookClient(
            notebook,
            timeout=900,
            startup_timeout=180,
            kernel_name="python3",
            resources={"metadata": {"path": workdir}},
        )
        try:
            client.execute()
            break
        except RuntimeError as error:
            # kernels started side by side can race for the same ports and die before
            # they answer; no cell has run then, so starting another one is safe
            started = any(cell.get("execution_count") for cell in notebook.cells)
            if started or "before replying" not in str(error) or attempt == KERNEL_STARTS - 1:
                raise
    drop_startup_noise(notebook)
    collapse_progress(notebook)
    os.makedirs(out, exist_ok=True)
    target = os.path.join(out, os.path.basename(path))
    nbformat.write(notebook, target)
    return target


def terminal_text(text: str) -> str:
    """``text`` as a terminal shows it: ``\\r`` returns to the line's start and ``\\b``
    steps back, later characters overwriting earlier ones (Keras' live progress bar
    redraws its line this way; a saved notebook keeps only the final lines)."""
    lines, line, position = [], [], 0
    for char in text:
        if char == "\n":
            lines.append("".join(line))
            line, position = [], 0
        elif char == "\r":
            position = 0
        elif char == "\b":
            position = max(0, position - 1)
        else:
            if position < len(line):
                line[position] = char
            else:
                line.append(char)
            position += 1
    return "\n".join([*lines, "".join(line)])


def collapse_progress(notebook) -> None:
    """Merges each cell's consecutive stream outputs of one name and renders them as a
    terminal would (:func:`terminal_text`), in place."""
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        merged = []
        for output in cell.outputs:
            last = merged[-1] if merged else None
            same = last is not None and last.output_type == output.output_type == "stream"
            if same and last.name == output.name:
                last.text += output.text
            else:
                merged.append(output)
        for output in merged:
            if output.output_type == "stream":
                output.text = terminal_text(output.text)
        cell.outputs = merged


def drop_startup_noise(notebook) -> None:
    """Removes TensorFlow's native start-up lines from the stderr outputs (in place)."""
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        kept = []
        for output in cell.outputs:
            if output.output_type == "stream" and output.name == "stderr":
                lines = output.text.splitlines(keepends=True)
                output.text = "".join(line for line in lines if not STARTUP_NOISE.match(line))
                if not output.text.strip():
                    continue
            kept.append(output)
        cell.outputs = kept


def repository() -> str:
    """The project's address: ``[project.urls] Repository`` of ``pyproject.toml``."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as handle:
        return tomllib.load(handle)["project"]["urls"]["Repository"]


def sync_repository(path: str) -> bool:
    """Points ``path``'s Colab badge and install cell at :func:`repository`; whether the
    file changed."""
    notebook = nbformat.read(path, as_version=4)
    address = repository()
    name = os.path.basename(path)
    slug = address.removeprefix("https://github.com/")
    badge = re.compile(r"https://colab\.research\.google\.com/github/[^)\s]+")
    install = re.compile(r'"git\+https://[^"]+"')
    changed = False
    for cell in notebook.cells:
        source = badge.sub(
            f"https://colab.research.google.com/github/{slug}/blob/main/notebooks/{name}",
            cell.source,
        )
        source = install.sub(f'"git+{address}.git"', source)
        changed |= source != cell.source
        cell.source = source
    if changed:
        nbformat.write(notebook, path)
    return changed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out")
    parser.add_argument("notebooks", nargs="+")
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--workdir", default=None)
    args = parser.parse_args()
    for path in args.notebooks:
        if sync_repository(path):
            print(f"{path}: repository address set to {repository()}")
        print(f"wrote {execute(path, args.out, smoke=args.smoke, workdir=args.workdir)}")


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    main()
