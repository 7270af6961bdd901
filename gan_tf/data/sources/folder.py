"""``folder:PATH``: every PNG/JPEG under ``PATH`` (class ids from the top-level
sub-folders, when there are two or more), resized to ``image_size`` (64 by default);
1 in 10 files (by a hash of its path below ``PATH``) is the held-out ``test`` split.

A folder whose decoded images fit in :data:`CACHE_BYTES` is cached in RAM after the
first epoch; a larger one is streamed: each epoch shuffles the file paths, then decodes
in parallel, so memory holds paths, not images."""

from __future__ import annotations

import os

import numpy as np

from gan_tf.data import images
from gan_tf.data.base import ImageDataset, Request, Source, held_out
from gan_tf.errors import ConfigError, DataNotFoundError

# A folder whose decoded images would take more RAM than this is streamed from disk every
# epoch (decoded in parallel) instead of cached after the first.
CACHE_BYTES = 2 * 1024**3
DEFAULT_SIZE = 64


def _root(argument: str) -> str:
    return os.path.expanduser(argument)


class FolderSource(Source):
    name, usage, parametrised = "folder", "folder:PATH", True

    def image_shape(self, argument, image_size, data_dir=None):
        return (image_size or DEFAULT_SIZE, image_size or DEFAULT_SIZE, 3)

    def memory_bytes(self, argument, image_size, max_examples, split, data_dir=None):
        root = _root(argument)
        files = images.image_files(root)[0] if os.path.isdir(root) else []
        count = sum(held_out(os.path.relpath(path, root)) == (split == "test") for path in files)
        count = min(count, max_examples or count)
        cached = count * int(np.prod(self.image_shape(argument, image_size)))
        return (cached if cached <= CACHE_BYTES else 0), count

    def load(self, argument, request: Request) -> ImageDataset:
        name, root, split = f"folder:{argument}", _root(argument), request.split
        if not os.path.isdir(root):
            raise DataNotFoundError(
                f"dataset '{name}': {root} is not a directory; pass dataset=folder:/path/to/images",
                "dataset",
            )
        files, labels, num_classes = images.image_files(root)
        if not files:
            raise DataNotFoundError(f"dataset '{name}': no PNG/JPEG images under {root}")
        keep = [i for i, path in enumerate(files) if held_out(os.path.relpath(path, root))]
        keep = set(keep) if split == "test" else set(range(len(files))) - set(keep)
        files = [path for i, path in enumerate(files) if i in keep]
        labels = [label for i, label in enumerate(labels) if i in keep]
        if not files:
            raise DataNotFoundError(
                f"dataset '{name}': none of the images under {root} falls in the held-out "
                "tenth (too few images); evaluate against split=train",
                "split",
            )
        if request.with_labels and num_classes < 2:
            raise ConfigError(
                f"dataset '{name}' has no class sub-folders, so it has no labels", "dataset"
            )
        size, background = request.image_size or DEFAULT_SIZE, request.background
        files, labels = images.keep_decodable(
            files,
            labels,
            request.max_examples,
            (3, None, size, background),
            name=name,
            root=root,
            fix="replace them with PNG/JPEG images, or pass another dataset=folder:PATH",
            params=("dataset",),
        )
        kept = labels if request.with_labels else None
        examples = images.files_dataset(files, kept, 3, None, size, background)
        in_memory = len(files) * size * size * 3 <= CACHE_BYTES

        def reorder(seed):
            return images.files_dataset(files, kept, 3, None, size, background, order_seed=seed)

        return ImageDataset(
            name,
            examples.cache() if in_memory else examples,
            (size, size, 3),
            len(files),
            num_classes if num_classes >= 2 else None,
            request.with_labels,
            root,
            in_memory,
            None if in_memory else reorder,
        )


SOURCE = FolderSource()
