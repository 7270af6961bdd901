"""Every notebook in notebooks/ runs top to bottom in smoke mode (SMOKE = True) without error.

Each notebook executes in its own Jupyter kernel (nbclient), in a fresh working
directory, concurrently with the others; a failing cell fails the test with the
cell's error.
"""

import glob
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import nbformat
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "notebooks"))
import execute  # noqa: E402  (notebooks/execute.py)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOKS = sorted(glob.glob(os.path.join(ROOT, "notebooks", "*.ipynb")))
EXECUTED = os.path.join(ROOT, "notebooks", "executed")
EXECUTE = os.path.join(ROOT, "notebooks", "execute.py")


def _kernel_env():
    """The kernel's environment: matplotlib's inline backend (so figures become outputs)."""
    env = {key: value for key, value in os.environ.items() if key != "MPLBACKEND"}
    return dict(env, TF_CPP_MIN_LOG_LEVEL="3")


def test_the_four_notebooks_exist_without_outputs():
    names = [os.path.basename(path) for path in NOTEBOOKS]
    assert names == [
        "01_quickstart.ipynb",
        "02_wgan_gp_vs_dcgan.ipynb",
        "03_conditional.ipynb",
        "04_evaluate.ipynb",
    ]
    for path in NOTEBOOKS:
        notebook = nbformat.read(path, as_version=4)
        nbformat.validate(notebook)
        code = [cell for cell in notebook.cells if cell.cell_type == "code"]
        assert all(not cell.outputs and cell.execution_count is None for cell in code), path
        parameters = [c for c in code if "parameters" in c.metadata.get("tags", [])]
        assert len(parameters) == 1 and "SMOKE = False" in parameters[0].source, path
        assert "pip" in code[0].source and "gan_tf" in code[0].source  # the Colab install cell


@pytest.mark.slow  # four Jupyter kernels: `make colab-versions` runs it in CI, at Colab's versions
def test_every_notebook_runs_in_smoke_mode(tmp_path):
    def execute(path):
        name = os.path.splitext(os.path.basename(path))[0]
        workdir = tmp_path / name
        workdir.mkdir()
        executed = workdir / "out" / os.path.basename(path)
        result = subprocess.run(
            [
                sys.executable,
                EXECUTE,
                "--smoke",
                f"--workdir={workdir}",
                str(workdir / "out"),
                path,
            ],
            capture_output=True,
            text=True,
            timeout=900,
            env=_kernel_env(),
        )
        return name, result, executed

    with ThreadPoolExecutor(max_workers=len(NOTEBOOKS)) as pool:
        results = list(pool.map(execute, NOTEBOOKS))
    failures = [
        f"{name}:\n{result.stderr[-2500:]}" for name, result, _ in results if result.returncode
    ]
    if failures:
        pytest.fail("\n\n".join(failures))
    for name, _, executed in results:
        notebook = nbformat.read(str(executed), as_version=4)
        outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs]
        assert not [o for o in outputs if o.output_type == "error"], name
        assert any(o.output_type == "display_data" for o in outputs), name  # pictures shown


def test_each_notebook_opens_in_colab_keeps_runs_on_drive_and_shows_tensorboard():
    for path in NOTEBOOKS:
        notebook = nbformat.read(path, as_version=4)
        name = os.path.basename(path)
        assert "colab.research.google.com/github/" in notebook.cells[0].source, name
        assert f"/blob/main/notebooks/{name})" in notebook.cells[0].source, name
        code = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
        assert "GAN_TF_SOURCE = os.environ.get(" in code[0], name
        assert "DRIVE = False" in code[1] and any("drive.mount(" in c for c in code), name
        assert any("%load_ext tensorboard" in c and "%tensorboard --logdir" in c for c in code)
        assert not any('"runs/' in c for c in code), name  # every run goes under RUNS


@pytest.mark.slow  # ~31 s, a fresh virtualenv: `make test-slow` (the suite budget)
def test_the_install_cell_installs_gan_tf_from_a_local_path(tmp_path):
    """The install cell, run by a fresh Python (a venv that sees this machine's packages
    but not gan_tf's editable install) with GAN_TF_SOURCE pointing at this checkout."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    cell = nbformat.read(NOTEBOOKS[0], as_version=4).cells[1].source
    env = dict(os.environ, GAN_TF_SOURCE=ROOT, PIP_DISABLE_PIP_VERSION_CHECK="1")
    result = subprocess.run(
        [python, "-c", cell], capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr[-2000:]
    where = subprocess.run(
        [python, "-c", "import gan_tf, os; print(os.path.realpath(gan_tf.__file__))"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert where.stdout.strip().startswith(os.path.realpath(str(venv))), where.stdout


def test_executed_copies_with_pictures_match_the_notebooks():
    """notebooks/executed/ (``make notebooks``): the same code trained for real (SMOKE =
    False), with outputs GitHub renders and none of TensorFlow's start-up lines."""
    for path in NOTEBOOKS:
        copy = os.path.join(EXECUTED, os.path.basename(path))
        assert os.path.exists(copy), f"{copy} missing: run `make notebooks`"
        source = nbformat.read(path, as_version=4)
        executed = nbformat.read(copy, as_version=4)
        code = [c.source for c in source.cells if c.cell_type == "code"]
        ran = [c.source for c in executed.cells if c.cell_type == "code"]
        assert ran == code, f"{copy} is stale or a smoke run: run `make notebooks`"
        outputs = [o for c in executed.cells if c.cell_type == "code" for o in c.outputs]
        assert any(
            o.output_type == "display_data" and "image/png" in o.get("data", {}) for o in outputs
        ), copy
        assert not [o for o in outputs if o.output_type == "error"], copy
        noise = [
            line
            for o in outputs
            if o.output_type == "stream"
            for line in o.text.splitlines()
            if execute.STARTUP_NOISE.match(line)
        ]
        assert not noise, (copy, noise[:2])


def test_startup_noise_is_recognised_and_only_it():
    for line in [
        "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
        "I0000 00:00:1795500927.868852   25058 port.cc:153] oneDNN custom operations are on.",
        "E0000 00:00:1795500930.803195   25058 cuda_platform.cc:52] failed call to cuInit: ...",
    ]:
        assert execute.STARTUP_NOISE.match(line), line
    for line in ["epoch 1 step 2/4: discriminator_loss 1.3", "WARNING:tensorflow:retracing"]:
        assert not execute.STARTUP_NOISE.match(line), line


def test_badges_and_install_cells_use_the_repository_of_pyproject():
    address = execute.repository()
    for path in NOTEBOOKS:
        text = open(path, encoding="utf-8").read()
        slug = address.removeprefix("https://github.com/")
        assert f"colab.research.google.com/github/{slug}/blob/main/notebooks/" in text, path
        assert f"git+{address}.git" in text, path


def test_a_saved_progress_bar_keeps_only_its_final_lines():
    assert execute.terminal_text("12/20 loss 1.5\r20/20 loss 0.9\nDone\n") == (
        "20/20 loss 0.9\nDone\n"
    )
    assert execute.terminal_text("ab\b\bcd") == "cd" and execute.terminal_text("abc\rX") == "Xbc"
    cell = nbformat.v4.new_code_cell("train()")
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="Epoch 1/1\n 1/2 a"),
        nbformat.v4.new_output("stream", name="stdout", text="\b\b\b\b\b\r 2/2 b\n"),
        nbformat.v4.new_output("stream", name="stderr", text="warning\n"),
        nbformat.v4.new_output("stream", name="stdout", text="Done\n"),
    ]
    notebook = nbformat.v4.new_notebook(cells=[cell])
    execute.collapse_progress(notebook)
    assert [(o.name, o.text) for o in notebook.cells[0].outputs] == [
        ("stdout", "Epoch 1/1\n 2/2 b\n"),
        ("stderr", "warning\n"),
        ("stdout", "Done\n"),
    ]
