"""The package's shape: no import cycles, imports only downward, one home per error type."""

import ast
import os

import pytest

import gan_tf

PACKAGE = os.path.dirname(gan_tf.__file__)

# The code map of README.md, bottom-up: a module may import only modules of earlier layers.
LAYERS = [
    {"errors", "files"},
    {"losses", "regularizers", "eval", "visualize", "augment", "watchdog", "runlock"},
    {"packing", "unroll"},  # PacGAN and Unrolled GAN as functions of tensors
    {"data", "distribute"},
    {"models"},  # a variant's training plug may read data
    {"eval.features"},  # the networks behind the metrics (the math stays in layer 2)
    {"eval.augmentation"},  # a metric that trains classifiers on those networks
    {"config"},
    {"parts"},  # the step's tricks
    {"gan"},  # the keras.Model and its step
    {"build"},
    {"sampling", "resources", "summaries", "budget"},
    {"rundir"},
    {"evaluation"},
    {"run"},
    {"animation"},
    {"training"},
    {"cli"},  # the gan-tf command and experiments/*.py
]


NETWORK_MODULES = ("features", "augmentation")  # eval modules that run networks


def _imports_of(path):
    """The top-level gan_tf modules a file imports (``gan_tf.eval.fid`` -> ``eval``)."""
    tree = ast.parse(open(path, encoding="utf-8").read())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("gan_tf"):
            parts = node.module.split(".")
            if parts[1:2] == ["eval"] and parts[2:3] and parts[2] in NETWORK_MODULES:
                found.add(f"eval.{parts[2]}")
            elif parts[1:] == ["eval"]:
                names = {a.name for a in node.names}
                found.update(f"eval.{name}" for name in names & set(NETWORK_MODULES))
                if names - set(NETWORK_MODULES):
                    found.add("eval")
            elif len(parts) > 1:
                found.add(parts[1])
            elif len(parts) == 1:
                found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("gan_tf."):
                    found.add(alias.name.split(".")[1])
    return found


def _modules():
    for root, _, files in os.walk(PACKAGE):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(root, name)
                relative = os.path.relpath(path, PACKAGE).split(os.sep)
                top = relative[0][:-3] if len(relative) == 1 else relative[0]
                if relative[0] == "eval" and relative[-1][:-3] in NETWORK_MODULES:
                    top = f"eval.{relative[-1][:-3]}"
                if top != "__init__":
                    yield top, path


def test_every_module_has_a_layer():
    layered = set().union(*LAYERS)
    assert {top for top, _ in _modules()} <= layered


@pytest.mark.parametrize("top, path", list(_modules()), ids=lambda v: str(v).split("gan_tf/")[-1])
def test_imports_point_down(top, path):
    level = next(i for i, layer in enumerate(LAYERS) if top in layer)
    allowed = set().union(*LAYERS[:level]) | {top}
    assert _imports_of(path) <= allowed, f"{path} imports {sorted(_imports_of(path) - allowed)}"


def test_no_import_cycles_between_modules():
    graph = {}
    for top, path in _modules():
        graph.setdefault(top, set()).update(_imports_of(path) - {top})
    seen, stack = set(), []

    def visit(node):
        assert node not in stack, f"import cycle: {' -> '.join(stack + [node])}"
        if node in seen:
            return
        stack.append(node)
        for child in graph.get(node, ()):
            visit(child)
        stack.pop()
        seen.add(node)

    for node in graph:
        visit(node)


def test_library_raises_only_typed_errors_for_user_input():
    """Bare ValueError/FileNotFoundError raises are allowed only in the pure math and
    drawing modules (a bad array there is a programming error and keeps its traceback)."""
    allowed = {"eval", "visualize"}
    offenders = []
    for top, path in _modules():
        if top in allowed:
            continue
        for node in ast.walk(ast.parse(open(path, encoding="utf-8").read())):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                name = getattr(node.exc.func, "id", "")
                if name in ("ValueError", "FileNotFoundError", "RuntimeError", "OSError"):
                    offenders.append(f"{path}:{node.lineno} raises {name}")
    assert not offenders, offenders
