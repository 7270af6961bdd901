"""The optimizer updates of Unrolled GAN (Metz et al., 2017) as functions of tensors.

An unrolled generator loss scores the samples with the discriminator as it will
be ``k`` updates from now: ``theta_k = theta_0 + update_1 + ... + update_k``,
each update the discriminator optimizer's own rule (Adam with its current
moments, as the authors' code unrolls it), and the generator differentiates
through all ``k`` updates. Keras' optimizers change their variables in place
(``stateless_apply`` is not available with the TensorFlow backend), so this
module restates their update rules as pure functions: :func:`optimizer_state`
reads an optimizer's slots, :func:`optimizer_update` returns the next weights
and slots. Each rule is tested to equal the Keras optimizer's own step.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from gan_tf.errors import ConfigError

__all__ = ["UPDATE_RULES", "check_optimizer", "optimizer_state", "optimizer_update"]


def _inner(optimizer):
    """The optimizer a ``LossScaleOptimizer`` wraps (the unrolled loss is not scaled)."""
    return getattr(optimizer, "inner_optimizer", optimizer)


def _slots(optimizer, name: str, variables) -> list[tf.Tensor]:
    slots = getattr(optimizer, name)
    return [tf.convert_to_tensor(slots[optimizer._get_variable_index(v)]) for v in variables]


def _adam(optimizer, gradients, weights, state, step):
    beta_1, beta_2 = float(optimizer.beta_1), float(optimizer.beta_2)
    count = tf.cast(step + 1, tf.float32)
    rate = optimizer.learning_rate * tf.sqrt(1.0 - beta_2**count) / (1.0 - beta_1**count)
    new_weights, moments, velocities = [], [], []
    for gradient, weight, moment, velocity in zip(
        gradients, weights, state["m"], state["v"], strict=True
    ):
        moment = moment + (gradient - moment) * (1.0 - beta_1)
        velocity = velocity + (tf.square(gradient) - velocity) * (1.0 - beta_2)
        new_weights.append(weight - rate * moment / (tf.sqrt(velocity) + optimizer.epsilon))
        moments.append(moment)
        velocities.append(velocity)
    return new_weights, {"m": moments, "v": velocities}


def _rmsprop(optimizer, gradients, weights, state, step):
    rho = float(optimizer.rho)
    new_weights, velocities = [], []
    for gradient, weight, velocity in zip(gradients, weights, state["v"], strict=True):
        velocity = rho * velocity + (1.0 - rho) * tf.square(gradient)
        step_size = optimizer.learning_rate * gradient / tf.sqrt(velocity + optimizer.epsilon)
        new_weights.append(weight - step_size)
        velocities.append(velocity)
    return new_weights, {"v": velocities}


def _sgd(optimizer, gradients, weights, state, step):
    momentum = float(optimizer.momentum)
    if not momentum:
        rate = optimizer.learning_rate
        return [w - rate * g for w, g in zip(weights, gradients, strict=True)], state
    new_weights, velocities = [], []
    for gradient, weight, velocity in zip(gradients, weights, state["m"], strict=True):
        velocity = momentum * velocity - optimizer.learning_rate * gradient
        if optimizer.nesterov:
            new_weights.append(weight + momentum * velocity - optimizer.learning_rate * gradient)
        else:
            new_weights.append(weight + velocity)
        velocities.append(velocity)
    return new_weights, {"m": velocities}


# optimizer class -> (its slot lists by state key, the update rule)
UPDATE_RULES = {
    keras.optimizers.Adam: ({"m": "_momentums", "v": "_velocities"}, _adam),
    keras.optimizers.RMSprop: ({"v": "_velocities"}, _rmsprop),
    keras.optimizers.SGD: ({"m": "momentums"}, _sgd),
}


def _rule(optimizer):
    optimizer = _inner(optimizer)
    rule = UPDATE_RULES.get(type(optimizer))
    variant = getattr(optimizer, "amsgrad", False) or getattr(optimizer, "centered", False)
    if type(optimizer) is keras.optimizers.RMSprop and optimizer.momentum:
        variant = True
    if rule is None or variant or getattr(optimizer, "weight_decay", None):
        names = ", ".join(kind.__name__ for kind in UPDATE_RULES)
        raise ConfigError(
            f"unroll cannot restate {type(optimizer).__name__}'s update (the amsgrad, centered, "
            f"RMSprop-momentum and weight-decay variants are left out); give the "
            f"discriminator one of: {names}",
            "unroll",
            "optimizer",
        )
    return rule


def check_optimizer(optimizer) -> None:
    """Raises :class:`ConfigError` unless :data:`UPDATE_RULES` can restate ``optimizer``."""
    _rule(optimizer)


def optimizer_state(optimizer, variables) -> dict:
    """The slots of ``optimizer`` for ``variables`` (tensors) and its step count.

    Raises:
      ConfigError: an optimizer whose rule is not in :data:`UPDATE_RULES`.
    """
    slots, _ = _rule(optimizer)
    inner = _inner(optimizer)
    state = {"step": tf.convert_to_tensor(inner.iterations)}
    if type(inner) is keras.optimizers.SGD and not inner.momentum:
        return state
    return {**state, **{key: _slots(inner, name, variables) for key, name in slots.items()}}


def optimizer_update(optimizer, gradients, weights, state) -> tuple[list, dict]:
    """One update of ``optimizer``'s rule on ``weights``, as tensors (differentiable).

    Args:
      optimizer: the Keras optimizer whose rule (and hyper-parameters, learning rate
        schedule at its current step) to apply; its variables are not changed.
      gradients, weights: lists of tensors, in the order :func:`optimizer_state` read.
      state: from :func:`optimizer_state` or a previous call.

    Returns:
      ``(new_weights, new_state)``.
    """
    _, update = _rule(optimizer)
    inner = _inner(optimizer)
    step = state["step"]
    slots = {key: value for key, value in state.items() if key != "step"}
    new_weights, slots = update(inner, gradients, weights, slots, step)
    return new_weights, {**slots, "step": step + 1}
