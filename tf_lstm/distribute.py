"""Training under `tf.distribute`: one strategy by name, one batch split, one train step.

Every training loop of the reproductions goes through `make_train_step`, so
the same code runs on one device, under `MirroredStrategy` (several devices of
one machine) and under `MultiWorkerMirroredStrategy` (several machines, the
cluster read from ``TF_CONFIG``). The rule that makes the results agree with a
single device is the loss scaling: gradients are *summed* over replicas by the
optimizer, so each replica contributes

- ``reduction="sum"``: the sum of its examples' losses (articles B and C sum
  over the batch, and so does the whole of their global batch), and
- ``reduction="mean"``: the sum of its examples' losses divided by the
  *global* batch size (`tf.nn.compute_average_loss`), not by its own.

Each replica takes a contiguous slice of the global batch (`distribute_batch`),
so a global batch of B examples is the same B examples on any number of
replicas.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence

import numpy as np
import tensorflow as tf

from tf_lstm import checks

STRATEGIES = ("default", "mirrored", "multi_worker")
REDUCTIONS = ("sum", "mean")


def cluster_from_environment() -> dict:
    """``TF_CONFIG`` parsed and checked: it must name a cluster and this process's task in it."""
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        raise ValueError(
            'strategy=\'multi_worker\' needs TF_CONFIG, e.g. TF_CONFIG=\'{"cluster": {"worker": '
            '["host1:12345", "host2:12345"]}, "task": {"type": "worker", "index": 0}}\'; '
            "TF_CONFIG is not set."
        )
    try:
        config = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ValueError(f"TF_CONFIG is not valid JSON ({error}): TF_CONFIG={raw!r}.") from None
    cluster = config.get("cluster") if isinstance(config, dict) else None
    task = config.get("task") if isinstance(config, dict) else None
    if not isinstance(cluster, dict) or not cluster or not isinstance(task, dict):
        raise ValueError(f"TF_CONFIG must hold a 'cluster' and a 'task': TF_CONFIG={raw!r}.")
    task_type, index = task.get("type"), task.get("index")
    members = cluster.get(task_type)
    if not isinstance(members, list) or not isinstance(index, int) or not 0 <= index < len(members):
        raise ValueError(f"TF_CONFIG's task {task!r} is not one of its cluster's tasks {cluster!r}.")
    return config


def split_cpu(count: int) -> None:
    """Splits the CPU into `count` logical devices, so `MirroredStrategy` has replicas without GPUs.

    Must run before TensorFlow initialises its devices (before the first op).
    """
    checks.positive_int("count", count)
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)


def make_strategy(name: str = "default", devices: Sequence[str] | None = None) -> tf.distribute.Strategy:
    """The `tf.distribute` strategy called `name` (one of `STRATEGIES`).

    ``"mirrored"`` uses `devices`, or every GPU, or else every logical CPU
    (see `split_cpu`); ``"multi_worker"`` reads the cluster from ``TF_CONFIG``
    and must be made before any other TensorFlow op runs.
    """
    checks.one_of("strategy", name, STRATEGIES)
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        if devices is None and not tf.config.list_logical_devices("GPU"):
            devices = [device.name for device in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices)
    cluster_from_environment()
    return tf.distribute.MultiWorkerMirroredStrategy()


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Whether this process writes the reports and exports (worker 0 when the cluster names no chief)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    if resolver.task_type == "chief":
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return resolver.task_type == "worker" and resolver.task_id == 0 and not has_chief


def task_name(strategy: tf.distribute.Strategy) -> str:
    """``worker_1`` and the like for a task of a cluster; ``""`` for a single process."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return ""
    return f"{resolver.task_type}_{resolver.task_id}"


def distribute_batch(strategy: tf.distribute.Strategy, *arrays):
    """A global batch split into contiguous per-replica slices (the first rows go to replica 0).

    Returns the arrays as they are when there is one replica, else
    distributed values for `strategy.run`. Sizes need not divide evenly.
    """
    sizes = {len(array) for array in arrays}
    if len(sizes) != 1:
        raise ValueError(f"the arrays of a batch must have the same length, got lengths {[len(a) for a in arrays]}.")
    replicas = strategy.num_replicas_in_sync
    if replicas == 1:
        return arrays
    bounds = np.linspace(0, sizes.pop(), replicas + 1).astype(int)

    def replica_slice(context):
        k = context.replica_id_in_sync_group
        return tuple(array[bounds[k] : bounds[k + 1]] for array in arrays)

    return strategy.experimental_distribute_values_from_function(replica_slice)


def replica_loss(per_example_losses: tf.Tensor, reduction: str) -> tf.Tensor:
    """This replica's share of the global loss (see the module docstring); call it inside `strategy.run`."""
    if checks.one_of("reduction", reduction, REDUCTIONS) == "sum":
        return tf.reduce_sum(per_example_losses)
    local = tf.shape(per_example_losses)[0]
    global_batch = tf.distribute.get_replica_context().all_reduce(tf.distribute.ReduceOp.SUM, local)
    return tf.nn.compute_average_loss(per_example_losses, global_batch_size=global_batch)


def make_train_step(
    strategy: tf.distribute.Strategy,
    per_example_loss: Callable[..., tf.Tensor],
    variables,
    optimizer,
    reduction: str = "mean",
) -> Callable:
    """One update of `variables` from a (distributed) batch; returns the global loss.

    Args:
        per_example_loss: ``(*batch) -> losses [local batch]``, run on each
            replica with its slice of the batch.
        reduction: ``"sum"`` or ``"mean"`` over the global batch.

    The result is a plain function: wrap it in `tf.function` (or call it
    inside one, e.g. in a `tf.range` loop).
    """
    checks.one_of("reduction", reduction, REDUCTIONS)
    variables = list(variables)

    def replica_step(*batch):
        with tf.GradientTape() as tape:
            loss = replica_loss(per_example_loss(*batch), reduction)
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    def step(*batch):
        losses = strategy.run(replica_step, args=batch)
        return strategy.reduce(tf.distribute.ReduceOp.SUM, losses, axis=None)

    return step
