"""The generated reference (docs/flags.md, docs/models.md, the commands' stored --help)
matches the code."""

import importlib.util
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_generated_reference_is_up_to_date():
    spec = importlib.util.spec_from_file_location(
        "make_reference", os.path.join(ROOT, "docs", "make_reference.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name, make in module.OUTPUTS.items():
        with open(os.path.join(ROOT, name), encoding="utf-8") as handle:
            assert handle.read() == make(), f"{name} is stale: run `make docs`"
    flags = module.flags_markdown()
    assert "| `--r1_weight` |" in flags and "| `relativistic` |" in flags
    assert "| `--latent_dim` |" in flags and "fixed |" in flags


def test_readme_names_every_model_and_loss():
    from gan_tf import losses, models

    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as handle:
        readme = handle.read()
    for name in (*models.model_names(), *losses.LOSSES):
        assert f"`{name}`" in readme, f"README.md does not mention `{name}`"


def _anchors(path):
    """GitHub's heading anchors of a markdown file."""
    import re

    anchors = set()
    for line in open(path, encoding="utf-8"):
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            title = re.sub(r"[^\w\- ]", "", title).replace(" ", "-")
            anchors.add(title)
    return anchors


def test_every_relative_link_and_image_in_readme_and_docs_exists():
    import glob
    import re

    pages = [os.path.join(ROOT, "README.md"), *glob.glob(os.path.join(ROOT, "docs", "*.md"))]
    for page in pages:
        text = open(page, encoding="utf-8").read()
        text = re.sub(r"```.*?```", "", text, flags=re.S)  # code blocks hold no links
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            path, _, anchor = target.partition("#")
            resolved = os.path.normpath(os.path.join(os.path.dirname(page), path)) if path else page
            where = f"{os.path.relpath(page, ROOT)} links {target}"
            assert os.path.exists(resolved), where
            if anchor and resolved.endswith(".md"):
                assert anchor in _anchors(resolved), where
