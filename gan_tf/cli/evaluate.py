"""Scores a training run, or any two image sets.

``gan-tf evaluate --run_dir=RUN`` samples ``--num_samples`` images from the run's
newest checkpoint (``--checkpoint=best``, an epoch or a path for another one; or reads
``--samples=file.npz`` from ``gan-tf sample``), scores them against the first
``--num_real`` images of the dataset's ``--real_split`` and writes the metrics, each
with the protocol card that made it, to ``RUN/eval.json``.

``gan-tf evaluate --real=A --fake=B`` scores two sets (folders of PNG/JPEG images,
``.npz`` files, or dataset names with ``--real_split``/``--fake_split``; default metrics
fid,kid,pr), prints the numbers and their cards, and writes ``--out`` if given.
See docs/evaluation.md.
"""

from __future__ import annotations

from absl import flags

from gan_tf.cli import common
from gan_tf.eval import names

FLAGS = flags.FLAGS
common.define_run_dir()
flags.DEFINE_string(
    "real", None, "Score two sets instead of a run: the reference set (folder, .npz or dataset)."
)
flags.DEFINE_string("fake", None, "With --real: the set to score (folder, .npz or dataset).")
flags.DEFINE_string("fake_split", "test", "With --fake=DATASET: its split.")
flags.DEFINE_integer("num_fake", None, "With --fake: use only its first N images.")
flags.DEFINE_string(
    "metrics",
    "auto",
    "auto (runs: the domain classifier's metrics where one ships, else fid,kid,pr; two "
    f"sets: fid,kid,pr), or a comma list of: {', '.join(names.METRICS)}.",
)
flags.DEFINE_integer("num_samples", 10_000, "Generated images to score.")
flags.DEFINE_string("samples", None, "Score this .npz (from sample.py) instead of sampling.")
flags.DEFINE_integer(
    "num_real",
    None,
    "Real reference images: the first N of --real_split (default: 10000 for a run, all of "
    "--real for two sets).",
)
flags.DEFINE_string(
    "real_split", None, "Split of the real images (default: test for a run, train for --real)."
)
flags.DEFINE_string("classifier_weights", None, "Domain classifier weights (default: shipped).")
flags.DEFINE_string(
    "fid_weights",
    None,
    "pytorch-fid's pt_inception-2015-12-05-6726825d.pth for fid/kid/pr/is (default: the "
    "run's, else Keras' cache, downloaded once).",
)
flags.DEFINE_enum(
    "fid_resize",
    None,
    ["pytorch_fid", "ttur"],
    "How images reach the FID Inception's 299x299 (default: the run's, else pytorch_fid).",
)
flags.DEFINE_string(
    "inception_weights",
    "imagenet",
    "Keras InceptionV3 weights of the _keras metrics: 'imagenet' (download) or a .h5 path.",
)
flags.DEFINE_string("data_dir", None, "Raw files of the real data (default: the run's).")
flags.DEFINE_bool("download", True, "Let tfds.load download the real data if not found.")
flags.DEFINE_integer("kid_subsets", 100, "KID: number of random subsets.")
flags.DEFINE_integer("kid_subset_size", 1000, "KID: images per subset.")
flags.DEFINE_integer("pr_k", 3, "Precision/recall: k of the k-NN radii.")
flags.DEFINE_integer("cas_epochs", 5, "CAS: epochs of the classifier trained on samples.")
flags.DEFINE_integer("seed", 0, "Seed of the noise, KID subsets and CAS training.")
flags.DEFINE_integer(
    "repeats",
    1,
    "Score this many draws of --num_samples (noise seeds --seed, --seed+1, ...) and report "
    "their mean and standard deviation.",
)
flags.DEFINE_integer("augmentation_real", 1000, "augmentation: real labelled train images.")
flags.DEFINE_string("out", None, "Where to write the JSON (default RUN/eval.json; two sets: none).")
flags.DEFINE_string(
    "checkpoint",
    None,
    "Evaluate this checkpoint: best (the best --eval_every evaluation's), latest (the "
    "default), an epoch, or a path.",
)


def evaluate() -> None:
    from gan_tf import evaluation
    from gan_tf.errors import ConfigError

    arguments = {
        "classifier_weights": FLAGS.classifier_weights,
        "fid_weights": FLAGS.fid_weights,
        "inception_weights": FLAGS.inception_weights,
        "download": FLAGS.download,
        "kid_subsets": FLAGS.kid_subsets,
        "kid_subset_size": FLAGS.kid_subset_size,
        "pr_k": FLAGS.pr_k,
        "cas_epochs": FLAGS.cas_epochs,
        "augmentation_real": FLAGS.augmentation_real,
    }
    for name in ("data_dir", "fid_resize"):
        if getattr(FLAGS, name):
            arguments[name] = getattr(FLAGS, name)
    if FLAGS.real or FLAGS.fake:
        if not (FLAGS.real and FLAGS.fake) or FLAGS.run_dir or FLAGS.samples:
            raise ConfigError(
                "score two sets with both --real and --fake (and no --run_dir/--samples), "
                "or a run with --run_dir"
            )
        record = evaluation.evaluate_sets(
            FLAGS.real,
            FLAGS.fake,
            "fid,kid,pr" if FLAGS.metrics == "auto" else FLAGS.metrics,
            real_split=FLAGS.real_split or "train",
            fake_split=FLAGS.fake_split,
            num_real=FLAGS.num_real,
            num_fake=FLAGS.num_fake,
            output=common.out_path(None),
            seed=FLAGS.seed,
            **arguments,
        )
        print(f"{record['fake']}\n  scored against {record['real']}:")
        _print(record)
        return
    run_dir = common.require_run_dir()
    record = evaluation.evaluate_run(
        run_dir,
        FLAGS.metrics,
        num_samples=FLAGS.num_samples,
        samples=FLAGS.samples,
        output=common.out_path(None),
        seed=FLAGS.seed,
        checkpoint=FLAGS.checkpoint,
        repeats=FLAGS.repeats,
        num_real=FLAGS.num_real or 10_000,
        real_split=FLAGS.real_split or "test",
        **arguments,
    )
    checkpoint = record["checkpoint"]
    which = f"{checkpoint['which']} checkpoint, " if "which" in checkpoint else ""
    draws = f", mean ± sd of {record['repeats']} draws" if record.get("repeats") else ""
    print(f"{record['model']} epoch {record['epoch']} ({which}{record['samples']}{draws}):")
    _print(record)
    print(f"wrote {common.out_path(run_dir + '/eval.json')} ({record['seconds']:.0f} s)")


def _print(record: dict) -> None:
    """The values, then one line per feature network: what fixes the numbers."""
    spreads = record.get("metrics_std", {})
    for name, value in record["metrics"].items():
        if not isinstance(value, list):
            spread = f" ± {spreads[name]:.2g}" if name in spreads else ""
            print(f"  {name:22s} {value:.5g}{spread}")
    shown = set()
    for card in record["cards"].values():
        network = card.get("features")
        if network and network["network"] not in shown:
            shown.add(network["network"])
            digest = (network.get("weights_sha256") or "none")[:12]
            resize = network.get("resize", "")
            print(
                f"  card: {network['network'][:60]}; weights sha256 {digest}; resize {resize[:40]}"
            )
    any_card = next(iter(record["cards"].values()), {})
    print(
        f"  card: {any_card.get('num_real')} real ({any_card.get('real_split')}) vs "
        f"{any_card.get('num_generated')} generated, images {any_card.get('image_shape')}, "
        f"gan_tf {any_card.get('gan_tf_version')}"
    )


MAIN = evaluate
FLAG_NAMES = {"output": "out", "split": "real_split"}
