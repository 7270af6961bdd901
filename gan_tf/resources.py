"""What a run will need in memory, estimated before anything is decoded or built, and
the check that refuses a run the machine cannot hold.

Linux does not refuse an allocation it cannot back: it lets the process grow until
the kernel's out-of-memory killer ends it, with no message at all (and on a shared
machine, sometimes ends another process instead). So ``train`` adds up, before it
decodes an image or allocates a weight:

* **data**: the decoded images kept in RAM (:func:`gan_tf.data.memory_bytes`);
* **weights**: every network weight with its gradient and optimizer slots (plus the
  EMA copy of the generator), counted from the variables' shapes;
* **activations**: what one train step keeps for its backward pass: the output of
  every layer of the generator and of the discriminator (run on real and generated
  batches), for the global batch, in the compute precision, twice (forward values and
  their gradients), plus one more discriminator pass for a gradient penalty;
* **runtime**: a fixed :data:`RUNTIME_BYTES` for TensorFlow's traced graphs, kernel
  scratch space and the input pipeline (measured 0.6-1.2 GiB above an idle process).

The networks are built inside a ``keras.StatelessScope`` whose variables are never
initialised: shapes only, no memory, so even a 8192-pixel DCGAN is measured in a
fraction of a second. The sum is compared with what the machine has free
(:func:`available_bytes`: ``MemAvailable``, and the cgroup limit of a container or
Colab runtime); on a GPU or TPU only the data must fit in host RAM, as the weights
and activations live on the device (TensorFlow reports a device out of memory itself).
The estimate is a rough upper bound (see docs/reliability.md for how it compares with
measured peaks); ``check_memory=False`` skips the refusal.
"""

from __future__ import annotations

import dataclasses
import os

import keras
import numpy as np

from gan_tf import data, models
from gan_tf.build import build_networks
from gan_tf.config import TrainConfig
from gan_tf.errors import ConfigError, GanTfError

__all__ = ["MemoryEstimate", "available_bytes", "check_memory", "estimate_memory"]

GIB = 1024**3
RUNTIME_BYTES = GIB  # traced graphs, kernel scratch, input pipeline (see the docstring)
_OPTIMIZER_SLOTS = {"adam": 2, "rmsprop": 1, "sgd": 0}  # slots per weight


@dataclasses.dataclass(frozen=True)
class MemoryEstimate:
    """Bytes a run will need, by kind (see the module docstring).

    Attributes:
      data: decoded images kept in RAM.
      weights: weights, gradients and optimizer slots of both networks.
      activations: what one train step keeps for its backward pass.
      examples: training examples counted.
      runtime: TensorFlow's own working memory (graphs, scratch, input pipeline).
      host: whether weights and activations live in host RAM (CPU training).
    """

    data: int
    weights: int
    activations: int
    examples: int
    host: bool = True
    runtime: int = RUNTIME_BYTES

    @property
    def host_bytes(self) -> int:
        """What must fit in host RAM."""
        on_device = self.weights + self.activations if self.host else 0
        return self.data + self.runtime + on_device

    def describe(self) -> str:
        """``"5.1 GiB (data 0.3, weights 0.2, activations 3.6, runtime 1.0)"``."""
        parts = f"data {_gib(self.data)}, weights {_gib(self.weights)}"
        parts += f", activations {_gib(self.activations)}, runtime {_gib(self.runtime)}"
        return f"{_gib(self.host_bytes)} GiB ({parts})"


def _gib(count: int) -> str:
    return f"{count / GIB:.1f}" if count >= GIB / 10 else f"{count / GIB:.2f}"


def _shape_only_networks(config: TrainConfig, shape, num_classes, spec=None):
    """The run's networks with variables that are never initialised (shapes only)."""
    try:
        from keras.src.backend.common import global_state
    except ImportError:  # a Keras without it: build nothing rather than allocate
        return None
    from keras.src.random.seed_generator import global_seed_generator

    global_seed_generator()  # made (and initialised) out here, not deferred inside
    pending = list(global_state.get_global_attribute("uninitialized_variables", []) or [])
    networks = None
    try:
        with keras.StatelessScope(initialize_variables=False):
            networks = build_networks(config, shape, num_classes, spec)
    except GanTfError:
        raise
    except Exception:  # noqa: BLE001 - a network that cannot be built shapes-only: skip it
        return None
    finally:  # forget the shape-only variables, or a later scope would allocate them;
        # keep any other variable made meanwhile (Keras initialises it at the next scope)
        ours = {id(v) for network in networks or () for v in network.variables}
        made = global_state.get_global_attribute("uninitialized_variables", []) or []
        kept = [v for v in made[len(pending) :] if id(v) not in ours]
        global_state.set_global_attribute("uninitialized_variables", pending + kept)
    return networks


def _outputs(network: keras.Model) -> int:
    """Values per example of every layer's output (a Sequential/functional network)."""
    total = 0
    for layer in network.layers:
        try:
            outputs = layer.output
        except (AttributeError, ValueError):  # a layer used twice, or never called
            continue
        if isinstance(outputs, dict):
            outputs = list(outputs.values())
        for tensor in outputs if isinstance(outputs, (list, tuple)) else [outputs]:
            total += int(np.prod([d or 1 for d in tensor.shape[1:]]))
    return total


def estimate_memory(
    config: TrainConfig, host: bool = True, networks=None, spec=None
) -> MemoryEstimate:
    """Estimates the memory training ``config`` needs, without loading data or
    allocating weights.

    Args:
      config: the run's config (``image_size``, ``batch_size``, ``precision``...).
      host: whether the networks run on the host (CPU) rather than an accelerator.
      networks: your own ``(generator, discriminator)`` to count instead of the
        variant's (layers of a subclassed network whose outputs Keras does not
        record add no activations: the estimate is then low).
      spec: the resolved variant (default: looked up from ``config.model``).

    Raises:
      ConfigError: an unknown dataset or a shape the model cannot build.
    """
    data_bytes, examples = data.memory_bytes(
        config.dataset, config.image_size, config.max_examples, data_dir=config.data_dir
    )
    shape = data.image_shape_of(config.dataset, config.image_size, config.data_dir)
    spec = spec or models.get_model(config.model)
    classes = 10 if spec.needs_labels else None  # barely changes sizes
    if networks is None or None in networks:
        networks = _shape_only_networks(config, shape, classes, spec)
    if networks is None:
        return MemoryEstimate(data_bytes, 0, 0, examples, host)
    generator, discriminator = networks
    params_g = sum(int(np.prod(w.shape)) for w in generator.weights)
    params_d = sum(int(np.prod(w.shape)) for w in discriminator.weights)
    copies = 2 + _OPTIMIZER_SLOTS.get(config.optimizer, 2)  # weight, gradient, slots
    weights = 4 * (copies * (params_g + params_d) + (params_g if config.ema else 0))
    value_bytes = 2 if config.precision.startswith("mixed") else 4  # auto: the upper bound
    penalties = int(bool(config.gp_weight or config.r1_weight)) + int(bool(config.r2_weight))
    passes = 2 + penalties  # real, fake (+ the penalties' own)
    per_example = _outputs(generator) + passes * _outputs(discriminator)
    activations = 2 * value_bytes * per_example * config.batch_size
    return MemoryEstimate(data_bytes, weights, activations, examples, host)


def available_bytes() -> int | None:
    """Memory this process may still take: the smaller of ``MemAvailable`` and what
    the cgroup (container, Colab runtime) has left; the physical memory where
    neither is known; ``None`` when even that is unknown."""
    limits = []
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    limits.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    for limit_file, usage_file in (
        ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
        (
            "/sys/fs/cgroup/memory/memory.limit_in_bytes",
            "/sys/fs/cgroup/memory/memory.usage_in_bytes",
        ),  # noqa: E501  (cgroup v1)
    ):
        try:
            with open(limit_file, encoding="ascii") as handle:
                limit = handle.read().strip()
            with open(usage_file, encoding="ascii") as handle:
                usage = int(handle.read().strip())
        except (OSError, ValueError):
            continue
        usage -= _reclaimable(os.path.dirname(usage_file))  # page cache the kernel can drop
        if limit.isdigit() and int(limit) < 1 << 60:  # "max" or a huge number: no limit
            limits.append(max(int(limit) - usage, 0))
    if limits:
        return min(limits)
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def _reclaimable(cgroup_dir: str) -> int:
    """Page cache a cgroup counts as used that the kernel frees on demand (inactive
    files), as ``docker stats`` and the kubelet subtract it."""
    try:
        with open(os.path.join(cgroup_dir, "memory.stat"), encoding="ascii") as handle:
            for line in handle:
                name, _, value = line.partition(" ")
                if name in ("inactive_file", "total_inactive_file"):
                    return int(value)
    except (OSError, ValueError):
        pass
    return 0


def check_memory(
    config: TrainConfig, host: bool = True, available: int | None = None, networks=None, spec=None
):
    """Refuses ``config`` when its estimate exceeds the free memory.

    Args:
      config: the run's config.
      host: whether the networks run on the host (CPU).
      available: bytes free (default :func:`available_bytes`).
      networks: your own ``(generator, discriminator)``, if any.
      spec: the resolved variant (default: looked up from ``config.model``).

    Returns:
      ``(estimate, available)`` (``available`` ``None`` when unknown).

    Raises:
      ConfigError: the estimate is larger than what is free; the message names both
        and the flags that lower it.
    """
    estimate = estimate_memory(config, host, networks, spec)
    available = available_bytes() if available is None else available
    if not config.check_memory or available is None or estimate.host_bytes <= available:
        return estimate, available
    fixes = ["a smaller image_size or batch_size"]
    if estimate.data > available / 2:
        fixes.append(f"max_examples (now {estimate.examples} examples)")
    raise ConfigError(
        f"this run needs about {estimate.describe()} of memory and the machine has "
        f"{_gib(available)} GiB free; pass {' or '.join(fixes)}, or check_memory=False "
        "if you know better",
        "image_size",
        "batch_size",
        "max_examples",
        "check_memory",
    )
