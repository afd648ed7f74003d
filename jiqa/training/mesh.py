"""Device meshes, shardings and multi-host start-up for data-parallel training.

Training is plain data parallelism: one mesh axis ``"data"`` over every device
of every process; the global batch is split along it
(``NamedSharding(mesh, P("data"))``) and parameters, optimizer state and the
image pool are replicated (``NamedSharding(mesh, P())``). The compiler inserts
the gradient all-reduce. The mesh uses ``AxisType.Auto`` so that sharding
propagates through the models and the distortion engine without per-op
annotations; enter ``with jax.set_mesh(mesh):`` around code that runs on it
(:func:`jiqa.training.loop.train_and_evaluate` does).

Multi-host (TPU pods, multi-node GPU): call :func:`initialize_distributed` once
at the top of the program in *every* process, before any other JAX call::

  # On a TPU pod slice every worker runs the same command, e.g.
  #   gcloud compute tpus tpu-vm ssh NAME --worker=all --command \\
  #     "python -m experiments.train --config configs/pipeline.py:full --workdir gs://B/run"
  # jax.distributed.initialize() needs no arguments there: the coordinator,
  # process count and process id come from the TPU metadata. On GPU clusters
  # pass them (or set JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES, JAX_PROCESS_ID).
  from jiqa.training import mesh
  mesh.initialize_distributed()          # no-op with one process
  m = mesh.make_mesh()                   # all devices of all hosts

Every process then builds the same global batch from the same ``(seed, step)``
keys inside the jitted step (the data is generated on the device), so no host
feeds data to another; only process 0 writes metrics and orbax coordinates the
checkpoint writes of all processes. The workdir must be on storage every host
sees (e.g. a GCS bucket).

Example:
  >>> m = make_mesh()
  >>> batch_sharding(m).spec
  P('data',)
"""

from __future__ import annotations

import os

import jax
from jax.sharding import AxisType, Mesh, NamedSharding, PartitionSpec as P

DATA_AXIS = "data"


def initialize_distributed(coordinator_address: str | None = None,
                           num_processes: int | None = None,
                           process_id: int | None = None) -> bool:
  """Starts multi-process JAX when asked to, else does nothing.

  Calls :func:`jax.distributed.initialize` when any argument is given, when the
  ``JAX_COORDINATOR_ADDRESS`` environment variable is set, or on a TPU VM with
  several workers (``TPU_WORKER_HOSTNAMES`` lists more than one host). Must be
  the first JAX call of the program, in every process.

  Returns:
    Whether :func:`jax.distributed.initialize` was called.

  Example:
    >>> initialize_distributed()   # single process: nothing happens
    False
  """
  tpu_hosts = os.environ.get("TPU_WORKER_HOSTNAMES", "")
  wanted = (coordinator_address is not None or num_processes is not None
            or process_id is not None or "JAX_COORDINATOR_ADDRESS" in os.environ
            or len([h for h in tpu_hosts.split(",") if h]) > 1)
  if not wanted:
    return False
  if num_processes is not None and num_processes < 1:
    raise ValueError(f"num_processes must be >= 1; got {num_processes}.")
  jax.distributed.initialize(coordinator_address=coordinator_address,
                             num_processes=num_processes, process_id=process_id)
  return True


def make_mesh(num_devices: int | None = None) -> Mesh:
  """A 1-D ``("data",)`` mesh over the first ``num_devices`` devices (all by default).

  Args:
    num_devices: how many of ``jax.devices()`` to use; all of them (of every
      process) when ``None``.

  Returns:
    A :class:`jax.sharding.Mesh` with one axis named ``"data"`` of Auto type.

  Raises:
    ValueError: if ``num_devices`` is not in ``[1, jax.device_count()]``.

  Example:
    >>> make_mesh(1).shape
    OrderedDict([('data', 1)])
  """
  total = jax.device_count()
  n = total if num_devices is None else int(num_devices)
  if not 1 <= n <= total:
    raise ValueError(f"num_devices must be in [1, {total}] (jax.device_count()); got {num_devices}.")
  devices = jax.devices()[:n]
  return jax.make_mesh((n,), (DATA_AXIS,), axis_types=(AxisType.Auto,), devices=devices)


def batch_sharding(mesh: Mesh) -> NamedSharding:
  """Sharding of arrays whose leading axis is the global batch.

  Example:
    >>> batch_sharding(make_mesh(1)).spec
    P('data',)
  """
  return NamedSharding(mesh, P(DATA_AXIS))


def replicated(mesh: Mesh) -> NamedSharding:
  """Sharding of arrays held whole on every device (parameters, the image pool).

  Example:
    >>> replicated(make_mesh(1)).spec
    P()
  """
  return NamedSharding(mesh, P())


def check_batch_size(global_batch: int, mesh: Mesh) -> int:
  """Returns the per-device batch, or raises if the batch does not split evenly.

  Example:
    >>> check_batch_size(8, make_mesh(1))
    8
  """
  n = mesh.shape[DATA_AXIS]
  if global_batch < 1 or global_batch % n:
    raise ValueError(f"batch_size must be a positive multiple of the {n} devices of the "
                     f"mesh; got {global_batch}.")
  return global_batch // n


def replicate(tree, mesh: Mesh):
  """Places every leaf of ``tree`` on every device of ``mesh``.

  Example:
    >>> replicate({"w": jax.numpy.ones(2)}, make_mesh(1))["w"].sharding.spec
    P()
  """
  return jax.device_put(tree, replicated(mesh))
