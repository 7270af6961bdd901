"""The one piece of packaging pyproject.toml cannot say statically: the package page's
README, whose relative links and images are made absolute from the repository address in
``[project.urls]`` (on GitHub and in a clone the relative ones work as they are)."""

import re
import sys

from setuptools import setup

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the build requires tomli there
    import tomli as tomllib

_LINK = re.compile(r"(!?)\[([^\]]*)\]\((?!https?://|#|mailto:)([^)\s]+)\)")


def absolute_links(markdown: str, repository: str, ref: str = "main") -> str:
    """``markdown`` with each relative ``[text](path)`` pointing into ``repository`` at
    ``ref``: images to their raw files, other links to GitHub's page of the file."""

    def absolute(match: re.Match) -> str:
        bang, text, path = match.groups()
        path = path.removeprefix("./")
        if bang:
            raw = repository.replace("https://github.com/", "https://raw.githubusercontent.com/")
            return f"![{text}]({raw}/{ref}/{path})"
        return f"[{text}]({repository}/blob/{ref}/{path})"

    return _LINK.sub(absolute, markdown)


if __name__ == "__main__":
    with open("pyproject.toml", "rb") as handle:
        repository = tomllib.load(handle)["project"]["urls"]["Repository"]
    with open("README.md", encoding="utf-8") as handle:
        readme = absolute_links(handle.read(), repository)
    setup(long_description=readme, long_description_content_type="text/markdown")
