"""Packaging and the docs' commands: one version, declared imports, one repository address,
package-page links, and every `gan-tf`/`make`/script command in README and docs/ parsing
against the real flags and targets (no TensorFlow needed)."""

import ast
import glob
import json
import os
import re
import shlex
import sys

import pytest

import gan_tf

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYPROJECT = tomllib.load(open(os.path.join(ROOT, "pyproject.toml"), "rb"))
PROJECT = PYPROJECT["project"]
REPOSITORY = PROJECT["urls"]["Repository"]
DOCS = [os.path.join(ROOT, "README.md"), *sorted(glob.glob(os.path.join(ROOT, "docs", "*.md")))]
# import name -> distribution, where they differ
DISTRIBUTIONS = {
    "PIL": "pillow",
    "absl": "absl-py",
    "tensorflow_datasets": "tensorflow-datasets",
    "importlib_resources": "importlib_resources",
}


def _requirement_names(requirements):
    return {re.split(r"[<>=!~;\[ ]", item, maxsplit=1)[0].lower() for item in requirements}


def _third_party_imports():
    """``{module: lazy?}`` for every non-stdlib, non-gan_tf top-level import in gan_tf;
    lazy when no import of it sits at a module's top level."""
    found = {}
    for path in glob.glob(os.path.join(ROOT, "gan_tf", "**", "*.py"), recursive=True):
        tree = ast.parse(open(path, encoding="utf-8").read())
        top = {id(node) for node in tree.body}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                module = name.split(".")[0]
                if module in sys.stdlib_module_names or module in ("gan_tf", "__future__"):
                    continue
                found[module] = found.get(module, True) and id(node) not in top
    return found


def test_the_version_has_one_source():
    assert PROJECT["dynamic"] == ["version", "readme"] and "version" not in PROJECT
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "gan_tf.__version__"}
    assert "version=" not in open(os.path.join(ROOT, "setup.py"), encoding="utf-8").read()
    assert re.fullmatch(r"\d+\.\d+\.\d+", gan_tf.__version__)


def test_every_import_is_declared_and_optional_ones_are_imported_lazily():
    core = _requirement_names(PROJECT["dependencies"])
    extras = {
        name
        for extra, items in PROJECT["optional-dependencies"].items()
        if extra != "dev"
        for name in _requirement_names(items)
    }
    imports = _third_party_imports()
    assert {"tensorflow", "keras", "numpy", "PIL", "absl", "tensorflow_datasets"} <= set(imports)
    for module, lazy in imports.items():
        distribution = DISTRIBUTIONS.get(module, module).lower()
        if distribution in core:
            continue
        assert distribution in extras, f"gan_tf imports {module}: declare {distribution}"
        assert lazy, f"{module} is an optional extra but imported at a module's top level"
    assert all(re.search(r">=\d", item) for item in PROJECT["dependencies"]), "floors only"


def test_constraints_pin_every_declared_distribution():
    pinned = {}
    for line in open(os.path.join(ROOT, "constraints.txt"), encoding="utf-8"):
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            pinned[name.lower()] = version
    declared = _requirement_names(PROJECT["dependencies"]) | {
        name
        for items in PROJECT["optional-dependencies"].values()
        for name in _requirement_names(items)
        if name != "gan-tf"
    }
    assert declared <= set(pinned), declared - set(pinned)
    assert all(re.fullmatch(r"\d+(\.\d+)*", version) for version in pinned.values())


def test_the_package_page_gets_absolute_links_into_the_repository():
    sys.path.insert(0, ROOT)
    try:
        from setup import absolute_links
    finally:
        sys.path.remove(ROOT)
    text = (
        "![grid](docs/images/a.png) [docs](docs/colour.md#recipe) [web](https://x.org/a.png) "
        "[here](#set-up) [![badge](https://b/c.svg)](https://colab/x)"
    )
    raw = REPOSITORY.replace("https://github.com/", "https://raw.githubusercontent.com/")
    assert absolute_links(text, REPOSITORY) == (
        f"![grid]({raw}/main/docs/images/a.png) [docs]({REPOSITORY}/blob/main/docs/colour.md"
        "#recipe) [web](https://x.org/a.png) [here](#set-up) [![badge](https://b/c.svg)]"
        "(https://colab/x)"
    )
    readme = absolute_links(
        open(os.path.join(ROOT, "README.md"), encoding="utf-8").read(), REPOSITORY
    )
    relative = re.findall(r"\]\((?!https?://|#|mailto:)[^)]+\)", readme)
    assert not relative, relative[:3]


def test_readme_clones_and_badges_the_repository_of_pyproject():
    readme = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    assert f"git clone {REPOSITORY}.git" in readme
    slug = REPOSITORY.removeprefix("https://github.com/")
    badges = re.findall(r"colab\.research\.google\.com/github/([^)]+)/blob/main/notebooks/", readme)
    assert badges and set(badges) == {slug}


def _fenced_commands():
    """``(file, line)`` of each command line in the docs' fenced sh blocks (comments cut,
    continuation lines joined)."""
    for path in DOCS:
        text = open(path, encoding="utf-8").read()
        for block in re.findall(r"```(?:sh|bash)\n(.*?)```", text, flags=re.S):
            joined = re.sub(r"\\\n\s*", " ", block)
            for line in joined.splitlines():
                line = re.split(r"\s#\s|\s+#", " " + line, maxsplit=1)[0].strip()
                if line:
                    yield os.path.relpath(path, ROOT), line


def _flags_of(command_help: str) -> set[str]:
    return {
        name.replace("[no]", "")
        for name in re.findall(r"^\s+--(\[no\][\w]+|[\w]+):", command_help, flags=re.M)
    }


SCRIPT_COMMANDS = {
    "train.py": "train",
    "sample.py": "sample",
    "evaluate.py": "evaluate",
    "export.py": "export",
    "animate.py": "animate",
    "make_gif.py": "gif",
    "train_classifier.py": "train-classifier",
    "download.py": "download",
}


def _command_and_args(words):
    """``(gan-tf command, its arguments)`` for a command line, or ``None``."""
    if words[:1] == ["gan-tf"] and len(words) > 1:
        return words[1], words[2:]
    if len(words) > 1 and words[0] in ("python", "python3") and words[1].startswith("experiments/"):
        return SCRIPT_COMMANDS[os.path.basename(words[1])], words[2:]
    return None


def test_every_documented_command_parses_against_the_real_flags_and_targets():
    helps = json.load(open(os.path.join(ROOT, "gan_tf", "cli", "help.json"), encoding="utf-8"))
    targets = set(re.findall(r"^([\w-]+):", open(os.path.join(ROOT, "Makefile")).read(), re.M))
    checked, wrong = 0, []
    for path, line in _fenced_commands():
        for part in re.split(r"\s*(?:&&|;|\|)\s*", line):
            try:
                words = shlex.split(part)
            except ValueError:
                continue
            if words[:1] == ["make"]:
                checked += 1
                named = [w for w in words[1:] if "=" not in w]
                wrong += [f"{path}: {part} (no target {w})" for w in named if w not in targets]
                continue
            if (
                len(words) > 1
                and words[0].startswith("python")
                and words[1].startswith("benchmarks/")
            ):
                checked += 1
                if not os.path.exists(os.path.join(ROOT, words[1])):
                    wrong.append(f"{path}: {part} (no such script)")
                continue
            parsed = _command_and_args(words)
            if parsed is None:
                continue
            command, args = parsed
            if command not in helps:
                wrong.append(f"{path}: {part} (no command {command})")
                continue
            checked += 1
            known = _flags_of(helps[command])
            for arg in args:
                if not arg.startswith("-"):
                    ok = command == "download" and arg == args[0]  # gan-tf download emoji
                    wrong += [] if ok else [f"{path}: {part} (positional {arg})"]
                    continue
                name = arg.lstrip("-").split("=")[0]
                name = name[2:] if name.startswith("no") and name[2:] in known else name
                if name not in known:
                    wrong.append(f"{path}: {part} (--{name} is not a flag of {command})")
                elif f"--{name}" in (f"--{old}" for old in _renamed(helps[command])):
                    wrong.append(f"{path}: {part} (--{name} is an old spelling)")
    assert checked > 40
    assert not wrong, "\n".join(wrong)


def _renamed(command_help: str) -> set[str]:
    return set(re.findall(r"^\s+--(\w+): The old spelling of --", command_help, flags=re.M))


@pytest.mark.parametrize("word", ["--output_dir", "--num", "--epoch", "--seconds_per_frame"])
def test_old_spellings_are_marked_in_help(word):
    helps = json.load(open(os.path.join(ROOT, "gan_tf", "cli", "help.json"), encoding="utf-8"))
    marked = [name for name, text in helps.items() if word[2:] in _renamed(text)]
    assert marked, word


def test_every_gan_tf_attribute_the_docs_use_resolves_after_import_gan_tf():
    """``gan_tf.eval.x`` in a doc works after a bare ``import gan_tf`` (a fresh process)."""
    import subprocess

    texts = DOCS + glob.glob(os.path.join(ROOT, "notebooks", "0*.ipynb"))
    texts += glob.glob(os.path.join(ROOT, "examples", "*.py"))
    names = set()
    for path in texts:
        names |= set(re.findall(r"\bgan_tf\.([a-z_]+)\.", open(path, encoding="utf-8").read()))
    assert {"eval", "visualize", "models"} <= names
    code = f"import gan_tf\nfor name in {sorted(names)!r}:\n    getattr(gan_tf, name)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr[-1500:]
