"""Runs notebooks top to bottom in a Jupyter kernel (nbclient) and saves them with outputs.

    python notebooks/execute.py [--smoke] [--workdir=DIR] OUT_DIR NOTEBOOK...

``--smoke`` sets ``SMOKE = True`` in each notebook's parameters cell (a few training
steps: what the test suite runs). Each notebook runs in ``--workdir`` (default: a
fresh temporary directory) and is written to ``OUT_DIR/<name>.ipynb`` with its
outputs (pictures included), so GitHub shows them without running anything.
``make notebooks`` writes ``notebooks/executed/`` this way.
"""

from __future__ import annotations

import argparse
import os
import tempfile

import nbformat
from nbclient import NotebookClient

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
    os.makedirs(out, exist_ok=True)
    target = os.path.join(out, os.path.basename(path))
    nbformat.write(notebook, target)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out")
    parser.add_argument("notebooks", nargs="+")
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--workdir", default=None)
    args = parser.parse_args()
    for path in args.notebooks:
        print(f"wrote {execute(path, args.out, smoke=args.smoke, workdir=args.workdir)}")


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    main()
