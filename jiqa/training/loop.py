"""The training loop: ``train_and_evaluate(config, workdir)``.

Builds the mesh, the image pool and the models, resumes from the newest orbax
checkpoint in ``workdir/checkpoints`` if there is one, and runs the jitted
step of :mod:`jiqa.training.steps` to ``config.train.steps`` under a tqdm bar
(rate and ETA). Every ``log_every`` steps the step's metrics go to
``workdir/metrics.jsonl`` and TensorBoard; every ``eval_every`` steps the
losses on the held-out images (seen types) are logged as split ``"eval"``;
every ``checkpoint_every`` steps, and at the end, the state is saved.

Because every key is ``fold_in(key(seed), step)`` and the data is made from
it on the device, a run killed after any step and restarted in the same
workdir reaches the same parameters as a run that was never interrupted.

Example:
  >>> from configs import pipeline
  >>> result = train_and_evaluate(pipeline.get_config("smoke"), "/tmp/run")  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import ml_collections
from tqdm.auto import tqdm

from jiqa.training import checkpoints as ckpt_lib
from jiqa.training import data as data_lib
from jiqa.training import mesh as mesh_lib
from jiqa.training import state as state_lib
from jiqa.training import steps as steps_lib
from jiqa.training import writers as writers_lib

CONFIG_FILE = "config.json"


class TrainResult(NamedTuple):
  """What a finished (or resumed-and-finished) run leaves in memory.

  Attributes:
    graphdef: the static NNX graph of the models.
    state: the final train state (replicated over ``mesh``).
    pool: the image pool (host arrays), with its held-out part.
    mesh: the mesh the run used.
    history: the metric rows logged by this call.
    seconds: wall time of this call's training steps.
  """

  graphdef: Any
  state: dict
  pool: data_lib.ImagePool
  mesh: Any
  history: list
  seconds: float


def save_config(config: ml_collections.ConfigDict, workdir: str) -> str:
  """Writes ``config`` as ``workdir/config.json`` (read back by :func:`load_config`)."""
  os.makedirs(workdir, exist_ok=True)
  path = os.path.join(workdir, CONFIG_FILE)
  if jax.process_index() == 0:
    with open(path, "w", encoding="utf-8") as f:
      f.write(config.to_json(indent=2))
  return path


def load_config(workdir: str) -> ml_collections.ConfigDict:
  """Reads the config a run saved in ``workdir``.

  Raises:
    ValueError: if ``workdir`` holds no ``config.json``.
  """
  path = os.path.join(workdir, CONFIG_FILE)
  if not os.path.isfile(path):
    raise ValueError(f"workdir: {workdir!r} holds no {CONFIG_FILE} (not a training run).")
  with open(path, encoding="utf-8") as f:
    return ml_collections.ConfigDict(json.load(f))


def load_pool(config: ml_collections.ConfigDict, folder: str | None = None) -> data_lib.ImagePool:
  """The run's image pool: ``folder`` if given, else ``config.data.folder`` or the bundled photos."""
  d = config.data
  names = tuple(d.names) if d.get("names") else None
  holdout = d.holdout_images
  holdout = int(holdout) if isinstance(holdout, int) else tuple(holdout)
  folder = folder or d.get("folder") or None
  if folder and not isinstance(holdout, int):
    holdout = len(holdout)  # Named hold-outs refer to the bundled photos.
  return data_lib.load_pool(pool_size=d.pool_size, holdout=holdout, folder=folder, names=names)


def setup(config: ml_collections.ConfigDict, mesh, *, total_steps: int | None = None):
  """Builds ``(graphdef, state, engine, tx)`` replicated over ``mesh``."""
  from jiqa import distortions

  total = int(total_steps or config.train.steps)
  num_types = len(distortions.names())
  graphdef, state = state_lib.create(config, num_types=num_types, total_steps=total)
  state = mesh_lib.replicate(state, mesh)
  engine = steps_lib.engine_config(config)
  tx = state_lib.make_optimizer(config, total_steps=total)
  return graphdef, state, engine, tx


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str | os.PathLike, *,
                       images: str | None = None, mesh=None,
                       callbacks: Sequence[Callable[[int, dict], None]] = (),
                       progress: bool = True) -> TrainResult:
  """Trains ``config.task`` in ``workdir``, resuming from its newest checkpoint.

  Args:
    config: a config from ``configs/`` (see ``configs/pipeline.py``).
    workdir: folder of the run: ``config.json``, ``checkpoints/``,
      ``metrics.jsonl``, ``tensorboard/``.
    images: a folder of images to train on instead of ``config.data.folder``.
    mesh: the mesh to use; all devices (or ``config.num_devices``) by default.
    callbacks: called as ``cb(step, metrics)`` after every step (metrics are
      device arrays); an exception raised there stops the run (checkpoints
      already started are finished first).
    progress: show the tqdm bar (process 0 only).

  Returns:
    A :class:`TrainResult`.

  Example:
    >>> res = train_and_evaluate(get_config("smoke"), "/tmp/w")  # doctest: +SKIP
  """
  workdir = os.path.abspath(os.fspath(workdir))
  if mesh is None:
    mesh = mesh_lib.make_mesh(config.get("num_devices") or None)
  save_config(config, workdir)
  t = config.train
  pool = load_pool(config, images)
  history = []
  with jax.set_mesh(mesh):
    graphdef, state, engine, tx = setup(config, mesh)
    pool_dev = mesh_lib.replicate(pool.train, mesh)
    key = mesh_lib.replicate(jax.random.key(int(config.seed)), mesh)
    step_fn = steps_lib.make_train_step(graphdef, config, engine, tx, mesh=mesh)
    eval_fn = None
    if t.get("eval_every", 0) and len(pool.heldout):
      eval_fn = steps_lib.make_eval_step(graphdef, config, engine, mesh=mesh)
      heldout_dev = mesh_lib.replicate(pool.heldout, mesh)
      eval_key = jax.random.fold_in(jax.random.key(int(config.seed)), 2**31 - 1)
    ckpt = ckpt_lib.Checkpointer(os.path.join(workdir, "checkpoints"),
                                 save_interval_steps=t.checkpoint_every,
                                 max_to_keep=t.get("max_to_keep", 2))
    writer = writers_lib.MetricWriter(workdir)
    start = ckpt.latest_step() or 0
    if start:
      state = ckpt.restore(state, start)
    bar = tqdm(total=t.steps, initial=start, unit="step", dynamic_ncols=True,
               disable=not progress or jax.process_index() != 0, desc=f"train {config.task}")
    t0 = time.perf_counter()
    try:
      for step in range(start + 1, t.steps + 1):
        state, metrics = step_fn(state, pool_dev, key)
        if step % t.log_every == 0 or step == t.steps:
          row = writer.write(step, jax.device_get(metrics))
          history.append(row)
          bar.set_postfix(loss=f"{row['loss']:.4f}")
        if eval_fn is not None and (step % t.eval_every == 0 or step == t.steps):
          history.append(writer.write(step, jax.device_get(eval_fn(state, heldout_dev, eval_key)),
                                      split="eval"))
        ckpt.save(step, state, force=step == t.steps)
        bar.update(1)
        for cb in callbacks:
          cb(step, metrics)
      jax.block_until_ready(state)
    finally:
      seconds = time.perf_counter() - t0
      bar.close()
      ckpt.close()
      writer.close()
  return TrainResult(graphdef, state, pool, mesh, history, seconds)


def restore(workdir: str | os.PathLike, *, mesh=None, step: int | None = None):
  """Rebuilds ``(config, graphdef, state, mesh)`` of a run from its workdir.

  Raises:
    ValueError: if the workdir has no config or no checkpoint.

  Example:
    >>> config, graphdef, state, mesh = restore("/tmp/w")  # doctest: +SKIP
  """
  workdir = os.path.abspath(os.fspath(workdir))
  config = load_config(workdir)
  if mesh is None:
    mesh = mesh_lib.make_mesh(config.get("num_devices") or None)
  with jax.set_mesh(mesh):
    graphdef, state, _, _ = setup(config, mesh)
    ckpt = ckpt_lib.Checkpointer(os.path.join(workdir, "checkpoints"))
    try:
      state = ckpt.restore(state, step)
    finally:
      ckpt.close()
  return config, graphdef, state, mesh
