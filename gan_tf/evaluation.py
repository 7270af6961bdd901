"""Evaluation: real reference features, generated samples, metrics and their protocol cards.

One implementation scores everything: :class:`Evaluator` holds a real reference set
and the feature networks; :func:`evaluate_run` scores a run's checkpoint (the CLI and
:meth:`gan_tf.run.Run.evaluate` both call it) and :func:`evaluate_sets` scores any two
image sets (folders, ``.npz`` files, datasets). The metric math lives in
:mod:`gan_tf.eval`, the networks in :mod:`gan_tf.eval.features` and the metric names in
:mod:`gan_tf.eval.names`.
"""

from __future__ import annotations

import importlib.metadata
import os
import time

import numpy as np

from gan_tf import data, rundir, sampling, visualize
from gan_tf.data import image_sets
from gan_tf.errors import ConfigError, ResourceNotFoundError, WeightsNotFoundError
from gan_tf.eval import (
    class_coverage,
    features,
    fid_inception,
    frechet_distance_from_features,
    inception_score,
    kernel_distance,
    precision_recall,
    reference_features,
    stacked_mode_metrics,
)
from gan_tf.eval.augmentation import augmentation_accuracy
from gan_tf.eval.cache import default_cache_dir
from gan_tf.eval.names import (
    CLASSIFIER_METRICS,
    DEFAULT_METRICS,
    INCEPTION_METRICS,
    KERAS_METRICS,
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
    "evaluate_sets",
    "mean_of_draws",
    "train_dataset_classifier",
]

# feature network -> the metrics it makes, by kind ("fd", "kid", "pr", "is")
FAMILIES = {
    "classifier": dict(zip(("fd", "kid", "pr", "is"), CLASSIFIER_METRICS, strict=True)),
    "fid_inception": dict(zip(("fd", "kid", "pr", "is"), INCEPTION_METRICS, strict=True)),
    "keras_inception": dict(zip(("fd", "kid", "pr", "is"), KERAS_METRICS, strict=True)),
}
SUFFIXES = {"classifier": "_classifier", "fid_inception": "", "keras_inception": "_keras"}
FID_NETWORK = (
    "Inception 2015-12-05 (the TTUR graph papers report FID with; pytorch-fid's port "
    "and weights), pool_3 2048-d features + 1008-way logits"
)


def _version() -> str:
    try:
        return importlib.metadata.version("gan_tf")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


class Evaluator:
    """Computes metrics of generated images against a fixed real reference set.

    The reference images, their features and the feature networks are loaded
    once, so one Evaluator can score many checkpoints (``--eval_every``).

    Args:
      dataset: the dataset the generator was trained on (its name), or ``None`` when
        ``reference`` is given and only Inception metrics are asked for.
      metrics: names from :data:`METRICS`.
      num_real: reference images (the first ``num_real`` of ``real_split``).
      real_split: ``"test"`` (default) or ``"train"``.
      data_dir, download, image_size, background: as for :func:`gan_tf.data.load_dataset`.
      classifier_weights: domain classifier weights (default: shipped ones).
      fid_weights: pytorch-fid's ``pt_inception-2015-12-05-6726825d.pth`` for ``fid``,
        ``kid``, ``pr``, ``is`` (default: Keras' cache, downloaded once).
      fid_resize: how images reach the FID Inception's 299x299:
        ``"pytorch_fid"`` (default) or ``"ttur"`` (:data:`gan_tf.eval.fid_inception.RESIZES`).
      inception_weights: Keras InceptionV3 weights for the ``_keras`` metrics:
        ``"imagenet"``, a path, or ``None`` (random: tests only).
      seed: seeds KID subsets, CAS and augmentation training.
      kid_subsets, kid_subset_size: KID subset protocol.
      pr_k: neighbourhood size of precision/recall.
      cas_epochs: epochs of the CAS classifier on generated data.
      augmentation_real: real labelled train images of the augmentation metric.
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
        dataset: str | None,
        metrics=DEFAULT_METRICS,
        *,
        num_real: int = 10_000,
        real_split: str = "test",
        data_dir: str | None = None,
        download: bool = True,
        image_size: int | None = None,
        background: str = "white",
        classifier_weights: str | None = None,
        fid_weights: str | None = None,
        fid_resize: str = "pytorch_fid",
        inception_weights: str | None = "imagenet",
        seed: int = 0,
        kid_subsets: int = 100,
        kid_subset_size: int = 1000,
        pr_k: int = 3,
        cas_epochs: int = 5,
        augmentation_real: int = 1000,
        feature_cache: bool | str = True,
        reference=None,
    ):
        self.metrics = parse_metrics(metrics)
        if dataset is not None and data.is_toy(dataset):
            raise ConfigError(
                f"'{dataset}' is a 2-D toy: its metrics (modes_covered, high_quality, "
                "reverse_kl) are logged by training every epoch; image metrics do not apply"
            )
        _check_counts(
            num_real=num_real,
            kid_subsets=kid_subsets,
            kid_subset_size=kid_subset_size,
            pr_k=pr_k,
            cas_epochs=cas_epochs,
            augmentation_real=augmentation_real,
        )
        self.dataset, self.seed = dataset, seed
        self.kid_subsets, self.kid_subset_size = kid_subsets, kid_subset_size
        self.pr_k, self.cas_epochs, self.augmentation_real = pr_k, cas_epochs, augmentation_real
        self.data_args = dict(
            data_dir=data_dir, download=download, image_size=image_size, background=background
        )
        self.augmentation_record, self.confusion = {}, {}
        self.networks: dict[str, features.FeatureExtractor] = {}
        self.records: dict[str, dict] = {}  # network -> what it is (for the cards)
        self._load_networks(classifier_weights, fid_weights, fid_resize, inception_weights)
        self._load_reference(reference, real_split, num_real)
        if any(m in ("cas", "augmentation") for m in self.metrics) and self.real_labels is None:
            raise ConfigError(f"cas and augmentation need labelled real images; {dataset} has none")
        cache_dir = None
        if feature_cache:
            cache_dir = feature_cache if isinstance(feature_cache, str) else default_cache_dir()
        label = f"{(dataset or 'reference').rsplit('/', 1)[-1]}_{self.real_split}"
        self.real_features = {}
        for key, extractor in self.networks.items():
            self.real_features[key], entry = reference_features(
                extractor, self.real_images, label=label, cache_dir=cache_dir
            )
            self.records[key]["reference_cache"] = entry

    def _wants(self, family: str) -> bool:
        wanted = set(FAMILIES[family].values())
        if family == "classifier":
            wanted.add("coverage")
        return any(m in wanted for m in self.metrics)

    def _load_networks(self, classifier_weights, fid_weights, fid_resize, inception_weights):
        if self._wants("classifier"):
            self._load_classifier(classifier_weights)
        if "modes" in self.metrics:
            self._load_digit_classifier(classifier_weights)
        if self._wants("fid_inception"):
            try:
                extractor = features.fid_extractor(
                    fid_weights, resize=fid_resize, download=self.data_args["download"]
                )
            except WeightsNotFoundError as error:
                raise _with_offline_hint(error, self.dataset) from None
            self.networks["fid_inception"] = extractor
            self.records["fid_inception"] = {
                "network": FID_NETWORK,
                "weights": fid_weights or fid_inception.WEIGHTS_FILE,
                "weights_sha256": extractor.weights_id,
                "resize": fid_resize,
                "resize_protocol": fid_inception.RESIZES[fid_resize],
            }
        if self._wants("keras_inception"):
            try:
                self.networks["keras_inception"] = features.inception_extractor(inception_weights)
            except WeightsNotFoundError as error:
                raise _with_offline_hint(error, self.dataset) from None
            self.records["keras_inception"] = {
                "network": "keras.applications.InceptionV3 avg_pool (2048-d) + 1000 logits; "
                "not the FID network: not comparable with papers",
                "weights": inception_weights or "random (not comparable)",
                "weights_sha256": self.networks["keras_inception"].weights_id,
                "resize": f"bilinear, no antialiasing, to {features.INCEPTION_SIZE}x"
                f"{features.INCEPTION_SIZE}; grayscale tiled to 3 channels; range [-1, 1]",
            }

    def _load_classifier(self, classifier_weights):
        if self.dataset is None:
            raise ConfigError(
                "classifier metrics need a dataset with a domain classifier; score two "
                "image sets with fid, kid, pr or is",
                "metrics",
            )
        alias = features.CLASSIFIER_ALIASES.get(self.dataset, self.dataset)
        weights = classifier_weights or (
            features.shipped_classifier_path(alias) if alias in features.CLASSIFIERS else None
        )
        extractor = features.classifier_extractor(self.dataset, weights)
        expected = data.image_shape_of(
            self.dataset, self.data_args["image_size"], self.data_args["data_dir"]
        )
        if extractor.image_shape is not None and tuple(expected) != extractor.image_shape:
            raise ConfigError(
                f"the {extractor.name} takes {extractor.image_shape} images but this run "
                f"makes {tuple(expected)}; use the Inception metrics (fid, kid, pr, is) for "
                "other sizes"
            )
        self.networks["classifier"] = extractor
        self.records["classifier"] = {
            "network": extractor.name,
            "weights": weights,
            "weights_sha256": extractor.weights_id,
            **features.classifier_info(weights),
        }

    def _load_digit_classifier(self, classifier_weights):
        """The MNIST classifier that reads each channel of a Stacked-MNIST sample."""
        weights = classifier_weights or features.shipped_classifier_path("mnist")
        self.digit_classifier = features.classifier_extractor("mnist", weights)
        self.records["digits"] = {
            "network": f"{self.digit_classifier.name}, applied to each channel (argmax)",
            "weights": weights,
            "weights_sha256": self.digit_classifier.weights_id,
            **features.classifier_info(weights),
        }

    def _load_reference(self, reference, real_split, num_real):
        if reference is not None:  # your own reference images (and labels)
            images, labels = reference if isinstance(reference, tuple) else (reference, None)
            self.real_images = np.asarray(images)
            self.real_labels = None if labels is None else np.asarray(labels, np.int32)
            if self.real_images.dtype != np.uint8 or self.real_images.ndim != 4:
                raise ConfigError("reference must be uint8 [N, H, W, C] images", "reference")
            self.num_classes = None if labels is None else int(self.real_labels.max()) + 1
            self.real_source = f"{len(self.real_images)} images passed as reference"
            self.real_split = "given"
            return
        if self.dataset is None:
            raise ConfigError("give a dataset or reference images", "reference")
        loaded = _labelled_if_possible(
            self.dataset, split=real_split, max_examples=num_real, **self.data_args
        )
        self.real_images, self.real_labels = data.as_arrays(loaded)
        self.num_classes, self.real_source = loaded.num_classes, loaded.source
        self.real_split = real_split

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
            "image_shape": list(self.real_images.shape[1:]),
            "seed": self.seed,
            "gan_tf_version": _version(),
        }
        if self.real_labels is not None:
            protocol["conditional_labels"] = "in the reference's class proportions"
        protocol.update(self.records)
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
        if "modes" in self.metrics:
            protocol["modes"] = {
                "modes": "the ordered digits of the 3 channels (1,000)",
                "covered": "a mode with >= 1 sample",
                "kl": "KL(sample modes || uniform) in nats, empty modes skipped",
                "papers_num_generated": 26_000,
            }
        if "cas" in self.metrics:
            protocol["cas"] = {
                "classifier": "gan_tf.eval.features.build_classifier",
                "trained_on": f"{num_generated} generated images, the reference's class mix",
                "epochs": self.cas_epochs,
                "tested_on": f"{len(self.real_images)} real images ({self.real_split} split)",
            }
        if "augmentation" in self.metrics:
            protocol["augmentation"] = self.augmentation_record
        return protocol

    def cards(self, num_generated: int, checkpoint: dict | None = None) -> dict:
        """One protocol card per requested metric: everything that fixes its number
        (network and weights hash, resize, counts, split, image shape, version and,
        for runs, the checkpoint scored)."""
        protocol = self.protocol(num_generated)
        common = {
            key: protocol[key]
            for key in (
                "dataset",
                "real_split",
                "real_source",
                "num_real",
                "num_generated",
                "image_shape",
                "seed",
                "gan_tf_version",
            )
        }
        if checkpoint:
            common["checkpoint"] = checkpoint
        cards = {}
        for metric in self.metrics:
            network = next((n for n, m in FAMILIES.items() if metric in m.values()), None)
            network = network or {"coverage": "classifier", "modes": "digits"}.get(metric)
            card = dict(common, metric=metric)
            if network:
                card["features"] = self.records[network]
            for kind, key in (("kid", "kid"), ("pr", "precision_recall")):
                if metric.startswith(kind):
                    card[key] = protocol[key]
            if metric in ("cas", "augmentation", "coverage", "modes"):
                card[metric] = protocol[metric]
            cards[metric] = card
        return cards

    def __call__(self, images, labels=None) -> dict:
        """Scores uint8 ``[N, H, W, C]`` generated images (``labels`` for ``cas`` and
        ``augmentation``).

        Returns:
          A flat dict of metric values (``class_histogram`` is a list).
        """
        images = np.asarray(images)
        self._check_generated(images)
        results = {}
        for network, extractor in self.networks.items():
            fake = extractor(images)
            results.update(self._feature_metrics(network, self.real_features[network], fake))
            if network == "classifier" and "coverage" in self.metrics:
                results.update(class_coverage(fake[1]))
        if "modes" in self.metrics:
            results.update(self._modes(images))
        if "cas" in self.metrics:
            results["cas"] = self._cas(images, labels)
        if "augmentation" in self.metrics:
            results.update(self._augmentation(images, labels))
        return results

    def _modes(self, images) -> dict:
        """Stacked-MNIST modes: each channel of each sample classified as a digit."""
        if images.shape[1:] != (28, 28, 3):
            raise ConfigError(
                f"modes counts Stacked-MNIST modes and needs 28x28x3 images, got "
                f"{images.shape[1:]}; train on stacked_mnist at its own size",
                "metrics",
            )
        channels = np.moveaxis(images, -1, 1).reshape(-1, 28, 28, 1)  # sample-major
        _, logits = self.digit_classifier(channels)
        return stacked_mode_metrics(logits.argmax(axis=1).reshape(-1, 3))

    def _check_generated(self, images) -> None:
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
        fixed_size = "classifier" in self.networks or {"cas", "augmentation"} & set(self.metrics)
        if fixed_size and tuple(images.shape[1:]) != tuple(self.real_images.shape[1:]):
            raise ConfigError(
                f"generated images are {images.shape[1:]} but the {self.dataset or 'real'} "
                f"reference is {self.real_images.shape[1:]}"
            )

    def _feature_metrics(self, network: str, real, fake) -> dict:
        names, suffix = FAMILIES[network], SUFFIXES[network]
        wanted = {kind for kind, name in names.items() if name in self.metrics}
        results = {}
        if "fd" in wanted:
            results[names["fd"]] = frechet_distance_from_features(real[0], fake[0])
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

    def _augmentation(self, images, labels) -> dict:
        """The DCGAN article's test: does adding labelled samples to a small real
        training set help a classifier? (:func:`gan_tf.eval.augmentation.augmentation_accuracy`)"""
        if labels is None or self.dataset is None:
            raise ConfigError(
                "augmentation needs labelled samples of a conditional run of a dataset with labels"
            )
        loaded = data.load_dataset(
            self.dataset,
            split="train",
            with_labels=True,
            max_examples=self.augmentation_real,
            **self.data_args,
        )
        result = augmentation_accuracy(
            data.as_arrays(loaded),
            (images, labels),
            (self.real_images, self.real_labels),
            num_classes=self.num_classes,
            seed=self.seed,
        )
        self.confusion = {
            "real only": result["real_confusion"],
            "real + generated": result["augmented_confusion"],
        }
        self.augmentation_record = {
            "classifier": "gan_tf.eval.features.build_classifier, same steps, schedule, seed",
            "real_train": f"first {result['real_count']} of {loaded.source} (train split)",
            "generated": f"{result['generated_count']} samples, the reference's class mix",
            "tested_on": f"{result['test_count']} real images ({self.real_split} split)",
            "steps": result["steps"],
            "batch_size": result["batch_size"],
        }
        return {
            "augmentation_real": result["real_accuracy"],
            "augmentation_mixed": result["augmented_accuracy"],
            "augmentation_gain": result["accuracy_gain"],
        }

    def save_confusion(self, path: str) -> str:
        """Writes the augmentation metric's two confusion matrices side by side."""
        visualize.plot_confusion_matrices(self.confusion, path)
        return path


def _check_counts(**counts) -> None:
    least = {"num_real": 2, "kid_subset_size": 2}
    for name, value in counts.items():
        if not isinstance(value, int) or value < least.get(name, 1):
            raise ConfigError(
                f"{name} must be an integer >= {least.get(name, 1)}, got {value}", name
            )


def _labelled_if_possible(dataset: str, **arguments):
    """The dataset with labels when it has them (conditional runs are sampled in the
    reference's class proportions), else without."""
    try:
        return data.load_dataset(dataset, with_labels=True, **arguments)
    except ConfigError:  # no labels (celeb_a, a folder without class sub-folders)
        return data.load_dataset(dataset, **arguments)


def _with_offline_hint(error: WeightsNotFoundError, dataset: str | None) -> WeightsNotFoundError:
    """Where Inception weights are missing, the error line also names the offline
    alternative (a domain classifier trained on the data) unless one ships."""
    alias = features.CLASSIFIER_ALIASES.get(dataset, dataset)
    if dataset is None or (
        alias in features.CLASSIFIERS and os.path.exists(features.shipped_classifier_path(alias))
    ):
        return error
    return WeightsNotFoundError(
        f"{error}; or, offline, train a domain classifier: `gan-tf "
        f"train-classifier --dataset={dataset} --out=C.weights.h5` "
        "and score with classifier_weights=C.weights.h5 and the classifier metrics "
        f"({', '.join(DEFAULT_METRICS)})",
        *error.params,
        "classifier_weights",
    )


def default_metrics(dataset: str, classifier_weights: str | None = None) -> tuple[str, ...]:
    """The metrics a dataset is scored with by default (``auto``): its source's own
    (Stacked MNIST: ``modes``), else the domain classifier's where one ships
    (:data:`gan_tf.eval.features.CLASSIFIERS`) or ``classifier_weights`` are given, else
    the InceptionV3 ones (FID, KID, precision/recall), which need its ImageNet weights."""
    if data.dataset_metrics(dataset):
        return data.dataset_metrics(dataset)
    name = features.CLASSIFIER_ALIASES.get(dataset, dataset)
    if classifier_weights or (
        name in features.CLASSIFIERS and os.path.exists(features.shipped_classifier_path(name))
    ):
        return DEFAULT_METRICS
    return ("fid", "kid", "pr")


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
    repeats: int = 1,
    **evaluator_args,
) -> dict:
    """Evaluates a training run's checkpoint (or a samples file) and writes ``eval.json``:
    the one implementation behind ``gan-tf evaluate`` and :meth:`gan_tf.run.Run.evaluate`.

    Args:
      run_dir: a training run's ``--output_dir``.
      metrics: names from :data:`METRICS`, or ``"auto"`` for :func:`default_metrics`.
      num_samples: generated images to score (conditional runs: in the reference's class
        proportions, equal shares on balanced data).
      samples: an ``.npz`` from ``gan-tf sample`` to score instead of sampling.
      output: where to write the JSON (default ``run_dir/eval.json``).
      seed: seeds the noise, KID subsets and CAS.
      generator: the network already restored from ``checkpoint`` (what a
        :class:`~gan_tf.run.Run` holds); default: restored here.
      checkpoint: ``None`` (the newest), ``"best"``, an epoch or a path
        (:func:`gan_tf.rundir.find_checkpoint`): the one scored and named in the cards.
      repeats: score this many draws of ``num_samples`` images (noise seeds ``seed``,
        ``seed + 1``, ...) and report their mean, with the standard deviation in
        ``metrics_std`` and each draw in ``draws``: with a few thousand samples one
        draw's FD moves by about 10 % from seed to seed (docs/evaluation.md).
      **evaluator_args: passed to :class:`Evaluator` (``num_real``, ``real_split``,
        ``fid_weights``, ``resize``, ``classifier_weights``, ``data_dir``...).

    Returns:
      The record written: ``metrics``, ``cards`` (per metric), ``protocol``,
      ``checkpoint``, ``run_dir``, ``epoch``, ``samples``, ``seconds`` (and with
      ``repeats > 1``: ``repeats``, ``metrics_std``, ``draws``).
    """
    started, run_dir = time.time(), os.path.expanduser(run_dir)
    samples, output = (os.path.expanduser(p) if p else p for p in (samples, output))
    if metrics != "auto":
        metrics = parse_metrics(metrics)  # fail on a typo before loading anything
    rundir.require_run(run_dir)
    config = rundir.load_config(run_dir)
    if metrics == "auto":
        metrics = default_metrics(
            config.dataset, evaluator_args.get("classifier_weights") or config.classifier_weights
        )
    _check_request(samples, num_samples, repeats)
    scored = None
    if samples is None:
        scored = rundir.find_checkpoint(run_dir, checkpoint)
        if generator is None:
            generator, config = rundir.restore_generator(run_dir, checkpoint=scored)
    evaluator = Evaluator(
        config.dataset, metrics, seed=seed, **_run_defaults(config, evaluator_args)
    )
    if samples is not None:
        images, labels, source = _read_samples(samples)
        card, draws, count = {"samples": source}, [evaluator(images, labels)], len(images)
    else:
        seeds = range(seed, seed + repeats)
        draws = [_score_draw(evaluator, generator, config, run_dir, num_samples, s) for s in seeds]
        source = "ema generator" if config.ema else "generator"
        card = dict(rundir.checkpoint_record(run_dir, scored), generator=source)
        count = num_samples
    record = dict(run_dir=run_dir, model=config.model, epoch=card.get("epoch"), samples=source)
    record.update(checkpoint=card, metrics=draws[0], cards=evaluator.cards(count, card))
    if repeats > 1:
        means, spreads = mean_of_draws(draws)
        record.update(metrics=means, metrics_std=spreads, repeats=repeats, draws=draws)
    record.update(protocol=evaluator.protocol(count), seconds=round(time.time() - started, 1))
    output = output or os.path.join(run_dir, "eval.json")
    write_json(output, record)
    if "augmentation" in evaluator.metrics:
        evaluator.save_confusion(_beside(output))
    return record


def _check_request(samples: str | None, num_samples: int, repeats: int) -> None:
    if samples is None and num_samples < 2:
        raise ConfigError(f"num_samples must be at least 2, got {num_samples}", "num_samples")
    if repeats < 1 or (samples is not None and repeats != 1):
        raise ConfigError(
            f"repeats must be >= 1 and 1 with a samples file, got {repeats}", "repeats"
        )


def _score_draw(evaluator, generator, config, run_dir: str, num: int, seed: int) -> dict:
    """The metrics of ``num`` images of ``generator`` drawn with noise seed ``seed``."""
    labels = _sample_labels(evaluator, run_dir, num)
    images = sampling.generate_images(
        generator,
        num,
        config.latent_dim,
        seed=seed,
        labels=labels,
        distribution=config.latent_distribution,
    )
    return evaluator(images, labels)


def mean_of_draws(draws: list[dict]) -> tuple[dict, dict]:
    """The mean of each metric over ``draws`` (one metrics dict per draw; list values
    such as ``class_histogram`` element-wise) and each scalar's sample standard
    deviation (0 for one draw)."""
    means, spreads = {}, {}
    for name in draws[0]:
        values = np.asarray([draw[name] for draw in draws], dtype=np.float64)
        means[name] = values.mean(axis=0).tolist()
        if values.ndim == 1:
            spreads[name] = float(values.std(ddof=1)) if len(draws) > 1 else 0.0
    return means, spreads


def _run_defaults(config, evaluator_args: dict) -> dict:
    """The Evaluator's data and weights settings: the run's unless given."""
    arguments = dict(evaluator_args)
    for key in ("data_dir", "image_size", "background", "fid_resize"):
        arguments.setdefault(key, getattr(config, key))
    for key in ("classifier_weights", "fid_weights"):
        arguments[key] = arguments.get(key) or getattr(config, key)
    return arguments


def _beside(json_path: str) -> str:
    return json_path[: -len(".json")] + "_augmentation.png"


def _sample_labels(evaluator: Evaluator, run_dir: str, num: int) -> np.ndarray | None:
    """A conditional run's labels: the reference's class mix (equal shares when it is
    balanced), else every class in turn; ``None`` for unconditional runs."""
    num_classes = rundir.run_info(run_dir)["num_classes"]
    if not num_classes:
        return None
    labels = evaluator.sample_labels(num)
    return sampling.class_cycle(num, num_classes) if labels is None else labels


def evaluate_sets(
    real: str,
    fake: str,
    metrics=("fid", "kid", "pr"),
    *,
    real_split: str = "train",
    fake_split: str = "test",
    num_real: int | None = None,
    num_fake: int | None = None,
    output: str | None = None,
    seed: int = 0,
    **evaluator_args,
) -> dict:
    """Scores one image set against another: no run needed.

    Each side is a folder of PNG/JPEG images (all the same size), an ``.npz`` whose
    ``images`` (or only array) is uint8 ``[N, H, W, C]``, or a dataset name that
    :func:`gan_tf.data.load_dataset` knows (its ``real_split``/``fake_split``). This is
    how to check the FID network against published figures (CIFAR-10 train vs test)
    or to score samples written by any tool.

    Args:
      real, fake: the two sets (``real`` is the reference: KID subsets, precision and
        recall are asymmetric).
      metrics: names from :data:`METRICS` (classifier metrics need ``real`` to be a
        dataset with a domain classifier).
      real_split, fake_split: splits used where a side is a dataset.
      num_real, num_fake: use only the first N images of each side.
      output: also write the record as JSON here.
      seed: seeds KID subsets.
      **evaluator_args: passed to :class:`Evaluator` (``fid_weights``, ``resize``, ...).

    Returns:
      The record: ``metrics``, ``cards``, ``protocol``, ``real``, ``fake``, ``seconds``.
    """
    started = time.time()
    metrics = parse_metrics(metrics)
    real_images, real_labels, real_source = data.read_image_set(
        real, split=real_split, limit=num_real, **_data_args(evaluator_args)
    )
    fake_images, fake_labels, fake_source = data.read_image_set(
        fake, split=fake_split, limit=num_fake, **_data_args(evaluator_args)
    )
    dataset = real if data.is_dataset_name(real) else None
    evaluator = Evaluator(
        dataset,
        metrics,
        seed=seed,
        reference=(real_images, real_labels) if real_labels is not None else real_images,
        **evaluator_args,
    )
    evaluator.real_source = real_source
    evaluator.real_split = real_split if dataset else "all"
    values = evaluator(fake_images, fake_labels)
    sides = {"real": real_source, "fake": fake_source}
    record = {
        **sides,
        "metrics": values,
        "cards": evaluator.cards(len(fake_images), None),
        "protocol": evaluator.protocol(len(fake_images)),
        "seconds": round(time.time() - started, 1),
    }
    for card in record["cards"].values():
        card.update(real_source=real_source, fake_source=fake_source)
    if output:
        write_json(os.path.expanduser(output), record)
    return record


def _data_args(evaluator_args: dict) -> dict:
    return {
        key: evaluator_args[key]
        for key in ("data_dir", "download", "image_size", "background")
        if key in evaluator_args
    }


def _read_samples(path: str):
    """``(images, labels or None, path)`` of a samples file written by ``gan-tf sample``."""
    if not os.path.exists(path):
        raise ResourceNotFoundError(
            f"samples={path} does not exist; write one with experiments/sample.py", "samples"
        )
    return (*image_sets.read_npz(path), path)


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
    _check_classifier_request(dataset, output, epochs=epochs, batch_size=batch_size)
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
    _save_classifier(model, shape, num_classes, output)
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
    write_json(output[: -len(".weights.h5")] + ".json", record)
    return record


def _check_classifier_request(dataset: str, output: str, **counts) -> None:
    known = (*features.CLASSIFIER_DATASETS, *features.CLASSIFIER_ALIASES)
    if dataset not in known and not features.is_folder(dataset):
        raise ConfigError(
            f"dataset={dataset} has no classifier; choose one of {', '.join(known)} or "
            "folder:PATH (a folder with one sub-folder per class)",
            "dataset",
        )
    for name, value in counts.items():
        if not isinstance(value, int) or value < 1:
            raise ConfigError(f"{name} must be a positive integer, got {value}", name)
    if not output.endswith(".weights.h5"):
        raise ConfigError(f"output must end in .weights.h5, got {output}", "output")


def _save_classifier(model, shape, num_classes: int, output: str) -> None:
    """Writes the trained weights without optimizer state, atomically."""
    os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    tmp = output[: -len(".weights.h5")] + ".tmp.weights.h5"
    weights_only = features.build_classifier(shape, num_classes)
    weights_only.set_weights(model.get_weights())
    weights_only.save_weights(tmp)
    os.replace(tmp, output)
