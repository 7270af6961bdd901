"""Evaluation runs: real reference features, generated samples, metrics, ``eval.json``.

The metric math lives in :mod:`gan_tf.eval`, the networks in
:mod:`gan_tf.eval.features` and the metric names in :mod:`gan_tf.eval.names`;
this module wires them to datasets and runs with a stated protocol.
"""

from __future__ import annotations

import os
import time

import numpy as np

from gan_tf import data, rundir, sampling
from gan_tf.errors import ConfigError, ResourceNotFoundError, WeightsNotFoundError
from gan_tf.eval import (
    class_coverage,
    features,
    frechet_distance_from_features,
    inception_score,
    kernel_distance,
    precision_recall,
    reference_features,
)
from gan_tf.eval.cache import default_cache_dir
from gan_tf.eval.names import (
    CLASSIFIER_METRICS,
    DEFAULT_METRICS,
    INCEPTION_METRICS,
    METRICS,
    OUTPUT_NAMES,
    parse_metrics,
)
from gan_tf.files import write_json

__all__ = [
    "DEFAULT_METRICS",
    "METRICS",
    "OUTPUT_NAMES",
    "Evaluator",
    "default_metrics",
    "evaluate_run",
    "train_dataset_classifier",
]


class Evaluator:
    """Computes metrics of generated images against a fixed real reference set.

    The reference images, their features and the feature networks are loaded
    once, so one Evaluator can score many checkpoints (``--eval_every``).

    Args:
      dataset: the dataset the generator was trained on (its name).
      metrics: names from :data:`METRICS`.
      num_real: reference images (the first ``num_real`` of ``real_split``).
      real_split: ``"test"`` (default) or ``"train"``.
      data_dir, download, image_size, background: as for :func:`gan_tf.data.load_dataset`.
      classifier_weights: domain classifier weights (default: shipped ones).
      inception_weights: ``"imagenet"``, a path, or ``None`` (random: tests only).
      seed: seeds KID subsets and CAS training.
      kid_subsets, kid_subset_size: KID subset protocol.
      pr_k: neighbourhood size of precision/recall.
      cas_epochs: epochs of the CAS classifier on generated data.
      feature_cache: keep the reference features on disk (:mod:`gan_tf.eval.cache`):
        ``True`` in the default directory, a path for another, ``False`` never.
      reference: your own real reference instead of ``num_real`` images of
        ``real_split``: uint8 images ``[N, H, W, C]``, or ``(images, labels)``.

    Raises:
      ConfigError: unknown metrics, a dataset without a classifier, or images of
        the wrong shape for the classifier.
      WeightsNotFoundError: missing classifier or Inception weights (the message
        says how to get or train them).
      gan_tf.data.DataNotFoundError: the reference split cannot be loaded.
    """

    def __init__(
        self,
        dataset: str,
        metrics=DEFAULT_METRICS,
        *,
        num_real: int = 10_000,
        real_split: str = "test",
        data_dir: str | None = None,
        download: bool = True,
        image_size: int | None = None,
        background: str = "white",
        classifier_weights: str | None = None,
        inception_weights: str | None = "imagenet",
        seed: int = 0,
        kid_subsets: int = 100,
        kid_subset_size: int = 1000,
        pr_k: int = 3,
        cas_epochs: int = 5,
        feature_cache: bool | str = True,
        reference=None,
    ):
        self.metrics = parse_metrics(metrics)
        if data.is_toy(dataset):
            raise ConfigError(
                f"'{dataset}' is a 2-D toy: its metrics (modes_covered, high_quality) are "
                "logged by training every epoch; image metrics do not apply"
            )
        for name, value, least in (
            ("num_real", num_real, 2),
            ("kid_subsets", kid_subsets, 1),
            ("kid_subset_size", kid_subset_size, 2),
            ("pr_k", pr_k, 1),
            ("cas_epochs", cas_epochs, 1),
        ):
            if not isinstance(value, int) or value < least:
                raise ConfigError(f"{name} must be an integer >= {least}, got {value}", name)
        self.dataset, self.seed = dataset, seed
        self.kid_subsets, self.kid_subset_size = kid_subsets, kid_subset_size
        self.pr_k, self.cas_epochs = pr_k, cas_epochs
        self.classifier = self.inception = None
        needs_classifier = any(m in (*CLASSIFIER_METRICS, "coverage", "cas") for m in self.metrics)
        if needs_classifier:
            alias = features.CLASSIFIER_ALIASES.get(dataset, dataset)
            weights = classifier_weights or (
                features.shipped_classifier_path(alias) if alias in features.CLASSIFIERS else None
            )
            self.classifier = features.classifier_extractor(dataset, weights)
            self.classifier_record = {
                "network": self.classifier.name,
                "weights": weights,
                **features.classifier_info(weights),
            }
            expected = data.image_shape_of(dataset, image_size, data_dir)
            accepted = self.classifier.image_shape
            if accepted is not None and tuple(expected) != accepted:
                raise ConfigError(
                    f"the {self.classifier.name} takes {self.classifier.image_shape} images but "
                    f"this run makes {tuple(expected)}; use the Inception metrics (fid, kid, pr, "
                    "is) for other sizes"
                )
        if any(m in INCEPTION_METRICS for m in self.metrics):
            self.inception = _inception(dataset, inception_weights)
            self.inception_weights = inception_weights
        if reference is not None:  # your own reference images (and labels)
            images, labels = reference if isinstance(reference, tuple) else (reference, None)
            self.real_images = np.asarray(images)
            self.real_labels = None if labels is None else np.asarray(labels, np.int32)
            if self.real_images.dtype != np.uint8 or self.real_images.ndim != 4:
                raise ConfigError("reference must be uint8 [N, H, W, C] images", "reference")
            self.num_classes = None if labels is None else int(self.real_labels.max()) + 1
            self.real_source = f"{len(self.real_images)} images passed as reference"
        else:
            loaded = self._load_reference(
                dataset, real_split, data_dir, num_real, image_size, download, background
            )
            self.real_images, self.real_labels = data.as_arrays(loaded)
            self.num_classes, self.real_source = loaded.num_classes, loaded.source
        if "cas" in self.metrics and self.real_labels is None:
            raise ConfigError(f"cas needs labelled reference images; {dataset} has no labels")
        self.real_split = real_split if reference is None else "given"
        cache_dir = None
        if feature_cache:
            cache_dir = feature_cache if isinstance(feature_cache, str) else default_cache_dir()
        self.cache_entries = {}  # feature network -> the cache file used (None: not cached)
        label = f"{dataset.rsplit('/', 1)[-1]}_{real_split}"
        self.real_classifier = self.real_inception = None
        if self.classifier:
            self.real_classifier, self.cache_entries[self.classifier.name] = reference_features(
                self.classifier, self.real_images, label=label, cache_dir=cache_dir
            )
        if self.inception:
            self.real_inception, self.cache_entries["inception_v3"] = reference_features(
                self.inception, self.real_images, label=label, cache_dir=cache_dir
            )

    @staticmethod
    def _load_reference(dataset, split, data_dir, count, image_size, download, background):
        """The first ``count`` images of ``split``, with labels when the dataset has them
        (conditional runs are sampled in their class proportions)."""
        arguments = dict(
            split=split,
            data_dir=data_dir,
            max_examples=count,
            image_size=image_size,
            download=download,
            background=background,
        )
        try:
            return data.load_dataset(dataset, with_labels=True, **arguments)
        except ConfigError:  # no labels (celeb_a, a folder without class sub-folders)
            return data.load_dataset(dataset, **arguments)

    def sample_labels(self, num: int) -> np.ndarray | None:
        """Labels for ``num`` samples of a conditional run: the reference's class mix
        (equal shares for balanced data, e.g. Fashion-MNIST's test split)."""
        if self.real_labels is None or not self.num_classes:
            return None
        return sampling.class_shares(num, np.bincount(self.real_labels, minlength=self.num_classes))

    def protocol(self, num_generated: int) -> dict:
        """How the numbers were made (what changes them), for ``eval.json``."""
        protocol = {
            "dataset": self.dataset,
            "num_generated": num_generated,
            "num_real": len(self.real_images),
            "real_split": self.real_split,
            "real_source": self.real_source,
            "seed": self.seed,
        }
        if self.real_labels is not None:
            protocol["conditional_labels"] = "in the reference's class proportions"
        if self.classifier:
            protocol["classifier"] = self.classifier_record
        if self.inception:
            protocol["inception"] = {
                "network": "keras.applications.InceptionV3 pool3 (avg_pool, 2048-d) + logits",
                "weights": self.inception_weights or "random (not comparable)",
                "resize": f"bilinear, no antialiasing, to {features.INCEPTION_SIZE}x"
                f"{features.INCEPTION_SIZE}; grayscale tiled to 3 channels; range [-1, 1]",
            }
        if any(m.startswith("kid") for m in self.metrics):
            protocol["kid"] = {
                "kernel": "(x.y/d + 1)^3",
                "subsets": self.kid_subsets,
                "subset_size": min(self.kid_subset_size, num_generated, len(self.real_images)),
            }
        if any(m.startswith("pr") for m in self.metrics):
            protocol["precision_recall"] = {"k": self.pr_k}
        if "coverage" in self.metrics:
            protocol["coverage"] = {"covered": "class gets >= 0.1 of its uniform share"}
        if "cas" in self.metrics:
            protocol["cas"] = {
                "classifier": "gan_tf.eval.features.build_classifier",
                "trained_on": f"{num_generated} generated images, the reference's class mix",
                "epochs": self.cas_epochs,
                "tested_on": f"{len(self.real_images)} real images ({self.real_split} split)",
            }
        return protocol

    def __call__(self, images, labels=None) -> dict:
        """Scores uint8 ``[N, H, W, C]`` generated images (``labels`` for ``cas``).

        Returns:
          A flat dict of metric values (``class_histogram`` is a list).
        """
        images = np.asarray(images)
        smallest = max(  # IS takes 10 splits; k-NN radii need k + 1 points
            10 if any(m.startswith("is") for m in self.metrics) else 2,
            self.pr_k + 1 if any(m.startswith("pr") for m in self.metrics) else 2,
        )
        if len(images) < smallest:
            raise ConfigError(
                f"need at least {smallest} generated images for {', '.join(self.metrics)}, got "
                f"{len(images)}; raise num_samples",
                "num_samples",
            )
        if images.dtype != np.uint8 or images.ndim != 4:
            raise ConfigError(f"need uint8 [N, H, W, C] images, got {images.dtype} {images.shape}")
        if tuple(images.shape[1:]) != tuple(self.real_images.shape[1:]):
            raise ConfigError(
                f"generated images are {images.shape[1:]} but the {self.dataset} reference is "
                f"{self.real_images.shape[1:]}"
            )
        results = {}
        if self.classifier:
            fake = self.classifier(images)
            results.update(self._feature_metrics(self.real_classifier, fake, "_classifier"))
            if "coverage" in self.metrics:
                results.update(class_coverage(fake[1]))
        if self.inception:
            results.update(self._feature_metrics(self.real_inception, self.inception(images), ""))
        if "cas" in self.metrics:
            results["cas"] = self._cas(images, labels)
        return results

    def _feature_metrics(self, real, fake, suffix: str) -> dict:
        wanted = {name[: -len(suffix)] if suffix else name for name in self.metrics}
        results = {}
        if "fd" in wanted or "fid" in wanted:
            name = "fd_classifier" if suffix else "fid"
            results[name] = frechet_distance_from_features(real[0], fake[0])
        if "kid" in wanted:
            values = kernel_distance(
                real[0],
                fake[0],
                num_subsets=self.kid_subsets,
                subset_size=self.kid_subset_size,
                seed=self.seed,
            )
            results.update({key + suffix: value for key, value in values.items()})
        if "pr" in wanted:
            values = precision_recall(real[0], fake[0], k=self.pr_k)
            results.update({key + suffix: value for key, value in values.items()})
        if "is" in wanted:
            values = inception_score(fake[1])
            results.update({key + suffix: value for key, value in values.items()})
        return results

    def _cas(self, images, labels) -> float:
        if labels is None:
            raise ConfigError("cas needs labelled samples: evaluate a run of a conditional model")
        model = features.train_classifier(
            images,
            labels,
            num_classes=self.num_classes,
            epochs=self.cas_epochs,
            seed=self.seed,
        )
        return features.accuracy(model, self.real_images, self.real_labels)


def default_metrics(dataset: str, classifier_weights: str | None = None) -> tuple[str, ...]:
    """The metrics a dataset is scored with by default (``auto``): the domain
    classifier's where one ships (:data:`gan_tf.eval.features.CLASSIFIERS`) or
    ``classifier_weights`` are given, else the InceptionV3 ones (FID, KID,
    precision/recall), which need its ImageNet weights."""
    name = features.CLASSIFIER_ALIASES.get(dataset, dataset)
    if classifier_weights or (
        name in features.CLASSIFIERS and os.path.exists(features.shipped_classifier_path(name))
    ):
        return DEFAULT_METRICS
    return ("fid", "kid", "pr")


def _inception(dataset: str, weights):
    """The InceptionV3 extractor; where its weights are missing, the error line also
    names the offline alternative (a domain classifier trained on the data)."""
    try:
        return features.inception_extractor(weights)
    except WeightsNotFoundError as error:
        alias = features.CLASSIFIER_ALIASES.get(dataset, dataset)
        if alias in features.CLASSIFIERS and os.path.exists(
            features.shipped_classifier_path(alias)
        ):
            raise
        raise WeightsNotFoundError(
            f"{error}; or, offline, train a domain classifier: `python "
            f"experiments/train_classifier.py --dataset={dataset} --output=C.weights.h5` "
            "and score with classifier_weights=C.weights.h5 and the classifier metrics "
            f"({', '.join(DEFAULT_METRICS)})",
            *error.params,
            "classifier_weights",
        ) from None


def evaluate_run(
    run_dir: str,
    metrics=DEFAULT_METRICS,
    *,
    num_samples: int = 10_000,
    samples: str | None = None,
    output: str | None = None,
    seed: int = 0,
    generator=None,
    checkpoint: int | str | None = None,
    **evaluator_args,
) -> dict:
    """Evaluates a training run's checkpoint (or a samples file) and writes ``eval.json``.

    Args:
      run_dir: a training run's ``--output_dir``.
      metrics: names from :data:`METRICS`, or ``"auto"`` for :func:`default_metrics`.
      num_samples: generated images to score (conditional runs: in the reference's class
        proportions, equal shares on balanced data).
      samples: an ``.npz`` from ``experiments/sample.py`` (``images``, optional
        ``labels``) to score instead of sampling the checkpoint.
      output: where to write the JSON (default ``run_dir/eval.json``).
      seed: seeds the generator's noise, KID subsets and CAS.
      generator: score this network instead of the latest checkpoint's generator
        (a live generator, or one for a run trained with your own networks).
      checkpoint: which checkpoint: ``None`` (the newest), ``"best"``, an epoch or a
        path (see :func:`gan_tf.rundir.find_checkpoint`).
      **evaluator_args: passed to :class:`Evaluator` (``num_real``, ``real_split``,
        ``classifier_weights``, ``inception_weights``, ``data_dir``, ``download``...).

    Returns:
      The record written: ``metrics``, ``protocol``, ``run_dir``, ``epoch``,
      ``samples``, ``seconds``.
    """
    started = time.time()
    run_dir = os.path.expanduser(run_dir)
    samples = os.path.expanduser(samples) if samples else samples
    output = os.path.expanduser(output) if output else output
    if metrics == "auto":
        run_config = rundir.load_config(run_dir)
        metrics = default_metrics(
            run_config.dataset,
            evaluator_args.get("classifier_weights") or run_config.classifier_weights,
        )
    metrics = parse_metrics(metrics)  # fail on a typo before loading anything
    path = None  # the checkpoint sampled (None: the newest)
    if samples is None and num_samples < 2:
        raise ConfigError(f"num_samples must be at least 2, got {num_samples}", "num_samples")
    if generator is None and samples is None:
        generator, config = rundir.restore_generator(run_dir, checkpoint=checkpoint)
        path = rundir.find_checkpoint(run_dir, checkpoint)
    else:  # a samples file needs no generator
        config = rundir.load_config(run_dir)
    evaluator_args.setdefault("data_dir", config.data_dir)
    evaluator_args.setdefault("image_size", config.image_size)
    evaluator_args.setdefault("background", config.background)
    if not evaluator_args.get("classifier_weights"):  # the run's own (folder runs need it)
        evaluator_args["classifier_weights"] = config.classifier_weights
    evaluator = Evaluator(config.dataset, metrics, seed=seed, **evaluator_args)
    if samples is not None:
        images, labels, source = _read_samples(samples)
    else:
        num_classes = rundir.run_info(run_dir)["num_classes"]
        labels = None
        if num_classes:  # the reference's class mix (equal shares when it is balanced)
            labels = evaluator.sample_labels(num_samples)
            if labels is None:
                labels = sampling.class_cycle(num_samples, num_classes)
        images = sampling.generate_images(
            generator, num_samples, config.latent_dim, seed=seed, labels=labels
        )
        source = "ema generator" if config.ema else "generator"
    values = evaluator(images, labels)
    record = {
        "run_dir": run_dir,
        "model": config.model,
        "epoch": rundir.checkpoint_epoch(run_dir, path),
        "samples": source,
        "metrics": values,
        "protocol": evaluator.protocol(len(images)),
        "seconds": round(time.time() - started, 1),
    }
    write_json(output or os.path.join(run_dir, "eval.json"), record)
    return record


def _read_samples(path: str):
    if not os.path.exists(path):
        raise ResourceNotFoundError(
            f"samples={path} does not exist; write one with experiments/sample.py", "samples"
        )
    try:
        with np.load(path) as arrays:
            if "images" not in arrays:
                raise ConfigError(
                    f"samples={path} has no 'images' array (keys: {list(arrays)})", "samples"
                )
            labels = arrays["labels"] if "labels" in arrays else None
            return arrays["images"], labels, path
    except (OSError, ValueError, EOFError) as error:
        if isinstance(error, ConfigError):
            raise
        raise ConfigError(
            f"samples={path} is not a readable .npz ({type(error).__name__}); write one with "
            "experiments/sample.py",
            "samples",
        ) from None


def train_dataset_classifier(
    dataset: str,
    output: str,
    *,
    data_dir: str | None = None,
    download: bool = True,
    epochs: int = 5,
    batch_size: int = 128,
    learning_rate: float = 1e-3,
    max_examples: int | None = None,
    seed: int = 0,
    verbose: int = 1,
) -> dict:
    """Trains the domain classifier of ``dataset`` on its train split, tests it on the
    test split and writes ``output`` (``.weights.h5``) plus a ``.json`` record beside it.

    ``dataset`` is one with a classifier shape in :data:`gan_tf.eval.features.CLASSIFIERS`
    or ``folder:PATH`` with one sub-folder per class (trained at 32x32 on its
    held-out-split train part; the record stores the shape and class count, so
    ``classifier_weights=output`` scores runs on that folder at any size).

    Returns:
      The record: dataset, sources, example counts, epochs, test accuracy, seconds.
    """
    known = (*features.CLASSIFIER_DATASETS, *features.CLASSIFIER_ALIASES)
    if dataset not in known and not features.is_folder(dataset):
        raise ConfigError(
            f"dataset={dataset} has no classifier; choose one of {', '.join(known)} or "
            "folder:PATH (a folder with one sub-folder per class)",
            "dataset",
        )
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        if not isinstance(value, int) or value < 1:
            raise ConfigError(f"{name} must be a positive integer, got {value}", name)
    if not output.endswith(".weights.h5"):
        raise ConfigError(f"output must end in .weights.h5, got {output}", "output")
    started = time.time()
    if features.is_folder(dataset):  # its sub-folders are the classes
        side = features.FOLDER_CLASSIFIER_SIDE
        shape, num_classes = (side, side, 3), None
    else:
        shape, num_classes = features.classifier_spec(dataset)
    splits = {}
    for split in ("train", "test"):
        loaded = data.load_dataset(
            dataset,
            split=split,
            data_dir=data_dir,
            with_labels=True,
            download=download,
            max_examples=max_examples if split == "train" else None,
            image_size=shape[0],  # the classifier's own size (emoji, folders: 32x32)
        )
        num_classes = num_classes or loaded.num_classes
        splits[split] = (*data.as_arrays(loaded), loaded.source)
    images, labels, train_source = splits["train"]
    model = features.train_classifier(
        images,
        labels,
        num_classes=num_classes,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        seed=seed,
        verbose=verbose,
    )
    test_images, test_labels, test_source = splits["test"]
    record = {
        "dataset": dataset,
        "image_shape": list(shape),
        "num_classes": num_classes,
        "train_source": train_source,
        "train_examples": len(images),
        "test_source": test_source,
        "test_examples": len(test_images),
        "epochs": epochs,
        "batch_size": batch_size,
        "learning_rate": learning_rate,
        "seed": seed,
        "test_accuracy": features.accuracy(model, test_images, test_labels),
        "seconds": round(time.time() - started, 1),
    }
    os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    tmp = output[: -len(".weights.h5")] + ".tmp.weights.h5"
    weights_only = features.build_classifier(shape, num_classes)  # no optimizer state
    weights_only.set_weights(model.get_weights())
    weights_only.save_weights(tmp)
    os.replace(tmp, output)
    write_json(output[: -len(".weights.h5")] + ".json", record)
    return record
