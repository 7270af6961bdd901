"""Small file helpers shared by the run, config and evaluation writers."""

from __future__ import annotations

import json
import os

__all__ = ["write_json"]


def write_json(path: str, record, *, sort_keys: bool = False) -> None:
    """Writes ``record`` as indented JSON to ``path`` atomically (a temporary file, then
    a rename), so an interruption never leaves a half-written file."""
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(record, handle, indent=2, sort_keys=sort_keys)
        handle.write("\n")
    os.replace(tmp, path)
