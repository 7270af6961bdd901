"""``emoji``: the 64x64 PNGs of two npm packages (Google's Noto Emoji, Apache-2.0;
Twitter's Twemoji, CC-BY-4.0), composited over a background colour and labelled by
``emoji.json``'s category. ``make data`` or ``gan-tf download emoji`` fetches them."""

from __future__ import annotations

import json
import os
import zlib

import numpy as np

from gan_tf.data.base import corrupt, held_out, keras_cache_dir, rank_within_class, reading, reason
from gan_tf.data.images import composite
from gan_tf.data.sources.known import KnownSource, data_dirs
from gan_tf.errors import DataCorruptError, DataNotFoundError

EMOJI_VERSION = "16.0.0"
EMOJI_URL = (
    "https://registry.npmjs.org/emoji-datasource-{vendor}/-/emoji-datasource-{vendor}-{version}.tgz"
)
EMOJI_SHA256 = {  # of the npm tarballs emoji-datasource-<vendor>-16.0.0.tgz
    "google": "fb5fd131b362aab7a55542d2a147a79708cce0a8b1c1bbacd470172708b5c438",
    "twitter": "f64a530c63bca463bd8317fdc4615ce63a53a0c65018e4ce2d848aaba7a28877",
}
EMOJI_CATEGORIES = (  # the class ids; emoji.json's "Component" (skin-tone swatches) is left out
    "Smileys & Emotion",
    "People & Body",
    "Animals & Nature",
    "Food & Drink",
    "Travel & Places",
    "Activities",
    "Objects",
    "Symbols",
    "Flags",
)


def _emoji_package(directory: str, vendor: str) -> str | None:
    """The unpacked npm package of ``vendor`` under ``directory`` (unpacking its
    verified tarball there, or in Keras' cache when ``directory`` is read-only)."""
    base = f"emoji-datasource-{vendor}"
    for candidate in (f"{base}-{EMOJI_VERSION}", base, ""):
        package = os.path.join(directory, candidate, "package")
        if os.path.isfile(os.path.join(package, "emoji.json")) and os.path.isdir(
            os.path.join(package, "img", vendor, "64")
        ):
            return package
    tarball = os.path.join(directory, f"{base}-{EMOJI_VERSION}.tgz")
    if not os.path.isfile(tarball):
        return None
    return _unpack_emoji(tarball, vendor)


def _unpack_emoji(tarball: str, vendor: str) -> str:
    import hashlib
    import tarfile

    digest = hashlib.sha256()
    with open(tarball, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != EMOJI_SHA256[vendor]:
        raise DataNotFoundError(
            f"{tarball} has SHA-256 {digest.hexdigest()[:12]}..., not the pinned "
            f"{EMOJI_SHA256[vendor][:12]}... of version {EMOJI_VERSION}; delete it and run "
            "`make data` again"
        )
    name = f"emoji-datasource-{vendor}-{EMOJI_VERSION}"
    for parent in (os.path.dirname(tarball), os.path.join(keras_cache_dir(), "emoji")):
        target = os.path.join(parent, name)
        try:
            os.makedirs(parent, exist_ok=True)
            partial = target + ".partial"
            with tarfile.open(tarball) as archive:
                members = [m for m in archive.getmembers() if m.name.startswith("package/")]
                wanted = ("package/emoji.json", f"package/img/{vendor}/64/")
                members = [m for m in members if m.name.startswith(wanted)]
                archive.extractall(partial, members=members, filter="data")
            os.replace(partial, target)  # complete or absent, never half-unpacked
            return os.path.join(target, "package")
        except PermissionError:
            continue
        except (tarfile.TarError, EOFError, zlib.error, OSError) as error:
            raise corrupt(tarball, reason(error), "delete it and run `make data` again") from None
    raise DataNotFoundError(f"cannot unpack {tarball}: no writable directory")


def prepare_emoji(directory: str) -> list[str]:
    """Verifies and unpacks the emoji npm tarballs in ``directory`` (what ``make data``
    calls after ``npm pack``); returns the package directories.

    Raises:
      DataNotFoundError: a tarball is missing or not the pinned version.
      DataCorruptError: a tarball cannot be unpacked.
    """
    packages = []
    for vendor in EMOJI_SHA256:
        package = _emoji_package(os.path.expanduser(directory), vendor)
        if package is None:
            raise DataNotFoundError(
                f"no emoji-datasource-{vendor}-{EMOJI_VERSION}.tgz in {directory}; fetch it "
                f"with `npm pack emoji-datasource-{vendor}@{EMOJI_VERSION}`"
            )
        packages.append(package)
    return packages


def download(directory: str | None = None) -> list[str]:
    """Fetches dataset ``name`` for use without ``make``, npm or tfds.

    ``"emoji"``: the two pinned npm tarballs (:data:`EMOJI_URL`, version
    :data:`EMOJI_VERSION`) over HTTPS, each checked against :data:`EMOJI_SHA256`
    before it is kept, then unpacked (:func:`prepare_emoji`) and deleted. Already
    unpacked packages are not fetched again.

    Args:
      directory: where to put it (default: Keras' cache, ``~/.keras/datasets/emoji``,
        where ``dataset=emoji`` looks).

    Returns:
      The unpacked package directories.

    Raises:
      DataNotFoundError: the download failed (the message names the URL).
      DataCorruptError: a tarball is not the pinned one.
    """
    directory = os.path.expanduser(directory or os.path.join(keras_cache_dir(), "emoji"))
    os.makedirs(directory, exist_ok=True)
    for vendor in EMOJI_SHA256:
        if _emoji_package(directory, vendor) is None:
            _fetch_verified(
                EMOJI_URL.format(vendor=vendor, version=EMOJI_VERSION),
                os.path.join(directory, f"emoji-datasource-{vendor}-{EMOJI_VERSION}.tgz"),
                EMOJI_SHA256[vendor],
            )
    packages = prepare_emoji(directory)
    for vendor in EMOJI_SHA256:  # unpacked: the ~135 MB of tarballs go
        tarball = os.path.join(directory, f"emoji-datasource-{vendor}-{EMOJI_VERSION}.tgz")
        if os.path.exists(tarball):
            os.remove(tarball)
    return packages


def _fetch_verified(url: str, path: str, sha256: str) -> None:
    """Downloads ``url`` to ``path`` through a ``.partial`` file that is renamed only
    once its SHA-256 is ``sha256`` (an interrupted or wrong download leaves nothing)."""
    import hashlib
    import urllib.request

    partial, digest = path + ".partial", hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=60) as response, open(partial, "wb") as out:
            for block in iter(lambda: response.read(1 << 20), b""):
                digest.update(block)
                out.write(block)
    except OSError as error:  # URLError, HTTPError, timeouts, a full disk
        if os.path.exists(partial):
            os.remove(partial)
        raise DataNotFoundError(
            f"could not download {url} ({reason(error)}); check the connection and retry, "
            "or fetch it with `npm pack` and put it in the directory",
            "dataset",
        ) from None
    if digest.hexdigest() != sha256:
        os.remove(partial)
        raise DataCorruptError(
            f"{url} sent a file with SHA-256 {digest.hexdigest()[:12]}..., not the pinned "
            f"{sha256[:12]}...: refused; retry later",
            "dataset",
        )
    os.replace(partial, path)


def _emoji_entries(package: str, vendor: str) -> list[tuple[str, int]]:
    """``(png path, category id)`` for every image of ``vendor`` in emoji.json,
    skin-tone variations included, Components left out."""
    table_path = os.path.join(package, "emoji.json")
    entries = []
    with reading(table_path, _emoji_fix(package), extra=(AttributeError,)):
        with open(table_path, encoding="utf-8") as handle:
            table = json.load(handle)
        for emoji in table:
            if emoji["category"] not in EMOJI_CATEGORIES:
                continue
            label = EMOJI_CATEGORIES.index(emoji["category"])
            for variant in (emoji, *emoji.get("skin_variations", {}).values()):
                if variant.get(f"has_img_{vendor}"):
                    path = os.path.join(package, "img", vendor, "64", variant["image"])
                    entries.append((path, label))
    return entries


def _emoji_fix(package: str) -> str:
    return f"delete {os.path.dirname(package)} and run `make data` again"


def _emoji_arrays(directory: str, split: str, background: str = "white"):
    """Both vendors' 64x64 emoji over ``background``: a deterministic 10 % (by a hash
    of the file name, the same emoji for both vendors) is the test split."""
    from PIL import Image

    packages = {vendor: _emoji_package(directory, vendor) for vendor in EMOJI_SHA256}
    packages = {vendor: package for vendor, package in packages.items() if package}
    if not packages:
        return None
    images, labels = [], []
    for vendor, package in sorted(packages.items()):
        for path, label in _emoji_entries(package, vendor):
            if held_out(os.path.basename(path)) == (split == "test") and os.path.isfile(path):
                with reading(path, _emoji_fix(package), extra=(Image.DecompressionBombError,)):
                    with Image.open(path) as image:
                        images.append(np.asarray(image.convert("RGBA")))
                    if images[-1].shape != (64, 64, 4):
                        size = f"{images[-1].shape[1]}x{images[-1].shape[0]}"
                        raise corrupt(path, f"{size}, not 64x64", _emoji_fix(package))
                labels.append(label)
    images = composite(np.stack(images), background)
    # interleave classes so that any prefix (max_examples) holds every category
    order = np.argsort(rank_within_class(np.asarray(labels)), kind="stable")
    return images[order], np.asarray(labels, np.int32)[order], ", ".join(packages.values())


def candidates(data_dir, background):
    for directory in [*data_dirs("emoji", data_dir), os.path.join(keras_cache_dir(), "emoji")]:
        yield (
            f"emoji-datasource packages in {directory}",
            lambda split, d=directory: _emoji_arrays(d, split, background),
        )


class EmojiSource(KnownSource):
    def download(self, argument, directory):
        return download(directory)


SOURCE = EmojiSource(
    "emoji",
    (64, 64, 3),
    len(EMOJI_CATEGORIES),
    6_822,
    candidates,
    fix="run `gan-tf download emoji` (or `make data`), or pass data_dir",
)
