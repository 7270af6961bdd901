# gan_tf developer commands. `make demo` trains DCGAN on real data; `make test` runs the tests.
PYTHON ?= python3
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DEMO_EPOCHS ?= 3
OUTPUT_DIR ?= runs/dcgan_fashion_mnist
FASHION_MNIST_DIR := /usr/share/datasets/fashion-mnist
EMOJI_DIR ?= $(HOME)/.keras/datasets/emoji
EMOJI_VERSION := 16.0.0

.PHONY: install data emoji demo test test-cli test-slow lint format docs notebooks gif evaluate classifiers baseline

install:
	$(PYTHON) -m pip install -r requirements.txt
	$(PYTHON) -m pip install -e ".[dev]"

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
	$(PYTHON) experiments/evaluate.py --output_dir=runs/dcgan_$$dataset

test:
	$(PYTHON) -m pytest -m "not slow" -q -n 2 --dist loadfile

# The end-to-end command-line tests alone (also part of `make test`).
test-cli:
	$(PYTHON) -m pytest tests/cli -m "not slow" -q -n 2 --dist loadfile

test-slow:
	$(PYTHON) -m pytest -m slow -q -n 2 --dist loadfile

lint:
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .

format:
	$(PYTHON) -m ruff format .
	$(PYTHON) -m ruff check --fix .

# docs/flags.md and docs/models.md from the code (tests/test_docs.py checks they are current).
docs:
	$(PYTHON) docs/make_reference.py

# the notebooks run in smoke mode, saved with their outputs for GitHub readers
notebooks:
	$(PYTHON) notebooks/execute.py --smoke notebooks/executed notebooks/0*.ipynb

gif:
	$(PYTHON) experiments/make_gif.py --output_dir=$(OUTPUT_DIR)

evaluate:
	$(PYTHON) experiments/evaluate.py --output_dir=$(OUTPUT_DIR)

# Retrain the shipped domain classifiers (gan_tf/eval/weights/).
classifiers:
	$(PYTHON) experiments/train_classifier.py --dataset=fashion_mnist --epochs=5
	$(PYTHON) experiments/train_classifier.py --dataset=mnist_5k --epochs=15
	$(PYTHON) experiments/train_classifier.py --dataset=emoji --epochs=15

# The README's baseline table: every model on Fashion-MNIST, 3 epochs each, evaluated.
baseline:
	$(PYTHON) benchmarks/baseline.py --epochs=3 --output_root=runs/baseline
