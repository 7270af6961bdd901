"""CelebA: the aligned JPEGs (``img_align_celeba/``, split by
``list_eval_partition.txt``) in ``data_dir``, then tfds; the centre 140x140 square of
the 178x218 faces, resized to 64 px (or ``image_size``)."""

from __future__ import annotations

import glob
import os

from gan_tf.data.sources.known import KnownSource, data_dirs

CROP = 140  # square centre crop of the 178x218 aligned faces, then resize to 64


def celeb_a_files(directory: str, split: str):
    image_dir = os.path.join(directory, "img_align_celeba")
    if not os.path.isdir(image_dir):
        return None
    files = sorted(glob.glob(os.path.join(image_dir, "*.jpg")))
    partition = os.path.join(directory, "list_eval_partition.txt")
    if os.path.isfile(partition):
        wanted = {"train": "0", "validation": "1", "test": "2"}.get(split, "0")
        with open(partition, encoding="utf-8") as handle:
            keep = {line.split()[0] for line in handle if line.split()[1:2] == [wanted]}
        files = [path for path in files if os.path.basename(path) in keep]
    if not files:
        return None
    return files, None, image_dir


def candidates(data_dir, background):
    for directory in data_dirs("celeb_a", data_dir):
        yield f"{directory}/img_align_celeba", lambda split, d=directory: celeb_a_files(d, split)


SOURCE = KnownSource(
    "celeb_a", (64, 64, 3), None, 162_770, candidates, tfds_name="celeb_a", crop=CROP
)
