"""Helpers for tests that check what a command left in a run directory."""

import os


def snapshot(directory):
    """Every file under ``directory`` (relative path -> bytes)."""
    files = {}
    for root, _, names in os.walk(directory):
        for name in names:
            path = os.path.join(root, name)
            with open(path, "rb") as handle:
                files[os.path.relpath(path, directory)] = handle.read()
    return files
