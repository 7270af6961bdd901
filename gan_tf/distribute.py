"""``tf.distribute`` strategies by name, and who writes the run's files.

``--strategy`` picks one of :data:`STRATEGIES`:

* ``default``: no distribution (one device: the GPU if there is one, else the CPU).
* ``mirrored``: ``tf.distribute.MirroredStrategy`` over every local GPU (the CPU
  when there is none): synchronous data parallelism on one machine.
* ``multi_worker``: ``tf.distribute.MultiWorkerMirroredStrategy`` across machines;
  each machine runs the same command with its own ``TF_CONFIG``.
* ``tpu``: ``tf.distribute.TPUStrategy`` on the TPU at ``--tpu`` (``local`` on a
  TPU VM, a grpc:// address or a TPU name).

The train step is written once for all of them (see :mod:`gan_tf.train_step`);
this module builds strategies, decides which worker writes files (the chief),
and holds what a replica step needs to be correct under any of them: its
random numbers (:class:`Draws`), the per-replica loss scaling
(:func:`replica_loss`) and the gradient update (:func:`apply_gradients`).
"""

from __future__ import annotations

import dataclasses
import os

import keras
import tensorflow as tf

from gan_tf.errors import ConfigError

__all__ = [
    "computes_on_host",
    "describe_devices",
    "PRECISIONS",
    "STRATEGIES",
    "Draws",
    "Hardware",
    "auto_precision",
    "detect_hardware",
    "apply_gradients",
    "distribute_dataset",
    "is_chief",
    "is_distributed",
    "make_strategy",
    "replica_loss",
    "resolve_precision",
    "task_id",
]

STRATEGIES = ("default", "mirrored", "multi_worker", "tpu")
PRECISIONS = ("auto", "float32", "mixed_bfloat16", "mixed_float16")
# /proc/cpuinfo flags of x86 CPUs that compute bfloat16 natively (oneDNN uses them)
CPU_BF16_FLAGS = ("avx512_bf16", "amx_bf16")


def make_strategy(name: str, *, tpu: str | None = None, devices=None) -> tf.distribute.Strategy:
    """Builds the strategy called ``name``.

    Args:
      name: one of :data:`STRATEGIES`.
      tpu: the TPU address for ``name="tpu"``.
      devices: the devices of a ``mirrored`` strategy (default: every local GPU,
        or the CPU when there is none), e.g. ``["/cpu:0", "/cpu:1"]``.

    Raises:
      ConfigError: an unknown name, a missing TF_CONFIG, or a TPU that cannot be reached.
    """
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy(devices)
    if name == "multi_worker":
        if "TF_CONFIG" not in os.environ:
            raise ConfigError(
                "strategy=multi_worker needs the TF_CONFIG environment variable on every "
                "machine (see docs/distribute.md); use strategy=mirrored on one machine",
                "strategy",
            )
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "tpu":
        try:
            resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu or "")
            tf.config.experimental_connect_to_cluster(resolver)
            tf.tpu.experimental.initialize_tpu_system(resolver)
        except (ValueError, RuntimeError, tf.errors.OpError) as error:
            first = str(error).strip().splitlines()[0] if str(error).strip() else type(error)
            raise ConfigError(
                f"strategy=tpu found no TPU at tpu={tpu or '(auto)'} ({first}); pass the "
                "TPU's address or name with tpu, or use strategy=default|mirrored",
                "strategy",
                "tpu",
            ) from None
        return tf.distribute.TPUStrategy(resolver)
    raise ConfigError(
        f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}", "strategy"
    )


@dataclasses.dataclass(frozen=True)
class Hardware:
    """What ``precision=auto`` decides from (see :func:`auto_precision`).

    Attributes:
      kind: ``"TPU"``, ``"GPU"`` or ``"CPU"``: the devices the run computes on.
      compute_capability: ``(major, minor)`` of the least capable GPU (GPUs only).
      cpu_flags: the CPU's feature flags (``/proc/cpuinfo``; empty where unknown).
    """

    kind: str
    compute_capability: tuple[int, int] | None = None
    cpu_flags: frozenset[str] = frozenset()


def auto_precision(hardware: Hardware) -> tuple[str, str]:
    """The fastest safe precision for ``hardware`` and the reason, e.g.
    ``("mixed_float16", "GPU compute capability 7.5: float16 tensor cores")``.

    * TPU: ``mixed_bfloat16`` (the TPU's native format).
    * GPU of compute capability >= 8.0 (Ampere, Hopper...): ``mixed_bfloat16``
      (bfloat16 tensor cores; float32's range, so no loss scaling).
    * GPU 7.x (V100, T4): ``mixed_float16`` with dynamic loss scaling (float16
      tensor cores; bfloat16 is emulated there and slower than float32).
    * CPU with native bfloat16 (AVX512_BF16 or AMX): ``mixed_bfloat16``.
    * anything else (older GPUs, CPUs without bfloat16): ``float32``.

    A pure function of the description, so every case is testable on any machine.
    """
    if hardware.kind == "TPU":
        return "mixed_bfloat16", "TPU: native bfloat16"
    if hardware.kind == "GPU" and hardware.compute_capability is not None:
        major, minor = hardware.compute_capability
        capability = f"GPU compute capability {major}.{minor}"
        if major >= 8:
            return "mixed_bfloat16", f"{capability}: bfloat16 tensor cores"
        if major == 7:
            return "mixed_float16", f"{capability}: float16 tensor cores, loss-scaled"
        return "float32", f"{capability}: no 16-bit tensor cores"
    if hardware.kind == "CPU":
        native = [flag for flag in CPU_BF16_FLAGS if flag in hardware.cpu_flags]
        if native:
            return "mixed_bfloat16", f"CPU with native bfloat16 ({', '.join(native).upper()})"
        return "float32", "CPU without native bfloat16"
    return "float32", f"{hardware.kind}: no known faster precision"


def _cpu_flags(path: str = "/proc/cpuinfo") -> frozenset[str]:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.startswith(("flags", "Features")):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def detect_hardware(strategy: tf.distribute.Strategy | None = None) -> Hardware:
    """Describes the devices ``strategy`` (default: the current one) computes on."""
    strategy = strategy or tf.distribute.get_strategy()
    if isinstance(strategy, tf.distribute.TPUStrategy) or tf.config.list_logical_devices("TPU"):
        return Hardware("TPU")
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        details = [tf.config.experimental.get_device_details(gpu) for gpu in gpus]
        capabilities = [d["compute_capability"] for d in details if d.get("compute_capability")]
        return Hardware("GPU", tuple(min(capabilities)) if capabilities else None)
    return Hardware("CPU", cpu_flags=_cpu_flags())


def resolve_precision(
    precision: str, strategy: tf.distribute.Strategy | None = None
) -> tuple[str, str]:
    """``(precision, reason)``: ``precision`` itself unless it is ``"auto"``, which
    becomes :func:`auto_precision` of :func:`detect_hardware`."""
    if precision != "auto":
        return precision, "set explicitly"
    return auto_precision(detect_hardware(strategy))


def _task(strategy: tf.distribute.Strategy) -> tuple[str | None, int | None, list[str]]:
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return None, None, []
    jobs = list(resolver.cluster_spec().as_dict())
    return resolver.task_type, resolver.task_id, jobs


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Whether this process writes the run's files: always, except under
    ``multi_worker`` where only the chief does (the ``chief`` task if the cluster
    has one, else worker 0)."""
    task_type, index, jobs = _task(strategy)
    if task_type is None:
        return True
    if task_type == "chief":
        return True
    return task_type == "worker" and index == 0 and "chief" not in jobs


def task_id(strategy: tf.distribute.Strategy) -> str:
    """``"worker_1"``-style name of this process under ``multi_worker``, else ``""``."""
    task_type, index, _ = _task(strategy)
    return f"{task_type}_{index}" if task_type is not None else ""


def distribute_dataset(strategy: tf.distribute.Strategy, dataset: tf.data.Dataset, chunks: int = 1):
    """``dataset`` of global batches, split across the replicas of ``strategy``
    (returned unchanged under the default strategy).

    Every worker builds the same batches in the same order and each replica takes
    a contiguous share of every batch (on one machine, share ``i`` goes to replica
    ``i``; across workers ``tf.data`` interleaves the shares by worker). A batch
    of ``chunks`` consecutive sub-batches (``n_critic`` critic batches) is first
    reordered so that every replica's share again holds ``chunks`` consecutive
    pieces, piece ``j`` being its part of sub-batch ``j``: each critic update then
    sees, over all replicas, exactly the examples it sees on one device.
    """
    if not is_distributed(strategy):
        return dataset
    replicas = strategy.num_replicas_in_sync
    if chunks > 1 and replicas > 1:

        def reorder(tensor):  # [chunks * replicas * n, ...] -> replica-major order
            shape = tf.shape(tensor)
            grouped = tf.reshape(tensor, tf.concat([[chunks, replicas, -1], shape[1:]], 0))
            swapped = tf.transpose(grouped, tf.concat([[1, 0], tf.range(2, tf.rank(grouped))], 0))
            return tf.reshape(swapped, shape)

        dataset = dataset.map(
            lambda *parts: (
                tuple(reorder(part) for part in parts) if len(parts) > 1 else reorder(parts[0])
            )
        )
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return strategy.experimental_distribute_dataset(dataset.with_options(options))


_DISTRIBUTED = (
    tf.distribute.MirroredStrategy,
    tf.distribute.MultiWorkerMirroredStrategy,
    tf.distribute.TPUStrategy,
)


def computes_on_host(strategy: tf.distribute.Strategy) -> bool:
    """Whether the replicas compute on CPUs, whose memory is the host's RAM (not a
    GPU's or TPU's own)."""
    try:
        devices = strategy.extended.worker_devices
    except (AttributeError, RuntimeError):  # the default strategy: TensorFlow's placement
        devices = ()
    if not devices:
        return not (tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("TPU"))
    return all(tf.DeviceSpec.from_string(device).device_type in (None, "CPU") for device in devices)


def describe_devices(strategy: tf.distribute.Strategy, precision: str = "float32") -> str:
    """One line saying what a run computes on: the accelerators (GPU names, TPU cores)
    or the CPU and its threads, the strategy and its replicas, and the precision."""
    import os

    gpus = tf.config.list_physical_devices("GPU")
    tpus = tf.config.list_logical_devices("TPU")
    if tpus:
        where = f"{len(tpus)} TPU core{'s' * (len(tpus) > 1)}"
    elif gpus:
        names = [
            tf.config.experimental.get_device_details(gpu).get("device_name", gpu.name)
            for gpu in gpus
        ]
        where = f"{len(gpus)} GPU{'s' * (len(gpus) > 1)} ({', '.join(names)})"
    else:
        threads = tf.config.threading.get_intra_op_parallelism_threads() or os.cpu_count()
        where = f"CPU ({threads} threads)"
    replicas = strategy.num_replicas_in_sync
    name = type(strategy).__name__ if is_distributed(strategy) else "default (one device)"
    return (
        f"Devices: {where}; strategy {name}, {replicas} replica{'s' * (replicas > 1)}; "
        f"precision {precision}"
    )


def is_distributed(strategy: tf.distribute.Strategy) -> bool:
    """Whether ``strategy`` is a real distribution strategy (not the default one)."""
    return isinstance(strategy, _DISTRIBUTED)


def replica_loss(optimizer: keras.optimizers.Optimizer, loss: tf.Tensor) -> tf.Tensor:
    """The loss a replica differentiates: divided by the number of replicas (Keras'
    optimizer sums the replicas' gradients, so the update follows the mean over the
    global batch) and loss-scaled for float16 (``LossScaleOptimizer.scale_loss``)."""
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    if replicas > 1:
        loss = loss / replicas
    return optimizer.scale_loss(loss)


def apply_gradients(optimizer: keras.optimizers.Optimizer, gradients, variables) -> None:
    """``optimizer.apply_gradients`` in a replica, with the float16 skip decision
    shared by all replicas (see :func:`_agree_on_finiteness`)."""
    if tf.distribute.get_strategy().num_replicas_in_sync > 1 and isinstance(
        optimizer, keras.optimizers.LossScaleOptimizer
    ):
        gradients = _agree_on_finiteness(gradients)
    optimizer.apply_gradients(zip(gradients, variables, strict=True))


def _agree_on_finiteness(gradients):
    """Makes every replica's gradients non-finite when any replica's are.

    Keras' ``LossScaleOptimizer`` decides whether to skip a step (float16
    overflow) from the first replica's gradients *before* they are summed over
    replicas, so an overflow on another replica would slip into the update and
    turn the weights into NaN. One scalar all-reduce makes the replicas agree.
    """
    context = tf.distribute.get_replica_context()
    bad = [
        tf.reduce_sum(tf.cast(tf.logical_not(tf.math.is_finite(g)), tf.float32))
        for g in gradients
        if g is not None
    ]
    bad = context.all_reduce(tf.distribute.ReduceOp.SUM, tf.add_n(bad))
    poison = tf.where(bad > 0, float("nan"), 1.0)
    return [None if g is None else g * tf.cast(poison, g.dtype) for g in gradients]


class Draws:
    """The random numbers of one train step, from stateless ops.

    Every replica draws the same *global* tensor (first dimension times the
    number of replicas) from the step's seed and keeps slice number
    ``replica_id_in_sync_group``. On one machine (MirroredStrategy, TPU) and with
    one replica per worker that is the slice matching the replica's share of the
    global data batch, so a step uses exactly the noise the single-device step
    would use on the same global batch. With several workers of several replicas
    each, ``tf.data`` deals the shares out worker-interleaved, so noise meets
    other examples than on one device (statistically the same step). Nothing
    depends on thread scheduling.
    """

    def __init__(self, seed: tf.Tensor):
        self.seed, self.count = seed, 0

    def _draw(self, sample, shape):
        self.count += 1  # trace-time counter: the n-th draw of the step
        seed = tf.random.experimental.stateless_fold_in(self.seed, self.count)
        context = tf.distribute.get_replica_context()
        replicas = context.num_replicas_in_sync
        if replicas == 1:
            return sample(shape, seed=seed)
        shape = tf.convert_to_tensor(shape)
        local = shape[0]
        full = sample(tf.concat([[local * replicas], shape[1:]], 0), seed=seed)
        start = tf.cast(context.replica_id_in_sync_group, local.dtype) * local
        return full[start : start + local]

    def normal(self, shape) -> tf.Tensor:
        """Standard normal float32 of this replica's ``shape``."""
        return self._draw(tf.random.stateless_normal, shape)

    def uniform(self, shape) -> tf.Tensor:
        """Uniform [0, 1) float32 of this replica's ``shape``."""
        return self._draw(tf.random.stateless_uniform, shape)
