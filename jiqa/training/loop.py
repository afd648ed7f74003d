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

Everything that can be checked is checked before the first step: the config's
values (:func:`check_config`), the workdir's record (a resume must use the
config saved in ``config.json``, which is never overwritten) and the images.
A resume drops the metric rows logged after the restored checkpoint, so
``metrics.jsonl`` holds each step once.

Example:
  >>> from jiqa import configs
  >>> check_config(configs.load_config_file("pipeline:smoke"))
  >>> result = train_and_evaluate(configs.load_config_file("pipeline:smoke"), "/tmp/run")  # doctest: +SKIP
"""

from __future__ import annotations

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

CONFIG_FILE = ckpt_lib.CONFIG_FILE
save_config = ckpt_lib.save_config
load_config = ckpt_lib.load_config


class TrainResult(NamedTuple):
  """What a finished (or resumed-and-finished) run leaves in memory.

  Attributes:
    graphdef: the static NNX graph of the models.
    state: the final train state (replicated over ``mesh``).
    pool: the image pool (host arrays), with its held-out part.
    mesh: the mesh the run used.
    history: the metric rows logged by this call.
    seconds: wall time of this call's training steps.
    config: the config the run used (with ``data.folder`` set from ``images``),
      as saved in ``config.json``.
    start_step: the step this call resumed from (0 for a fresh run).
  """

  graphdef: Any
  state: dict
  pool: data_lib.ImagePool
  mesh: Any
  history: list
  seconds: float
  config: ml_collections.ConfigDict | None = None
  start_step: int = 0


# (dotted key, lowest value) of the integer fields a run needs; absent keys are not checked.
_INT_BOUNDS = (
    ("seed", None), ("num_devices", 0),
    ("train.steps", 1), ("train.log_every", 1), ("train.eval_every", 0),
    ("train.checkpoint_every", 1), ("train.max_to_keep", 1),
    ("data.pool_size", 8), ("data.crop_size", 1), ("data.batch_size", 0),
    ("data.tier_batch_size", 0), ("data.tier_size", 2), ("optim.warmup_steps", 0),
)
_EVAL_INT_BOUNDS = (
    ("eval.crop_size", 1), ("eval.crops_per_image", 1), ("eval.tier_size", 2),
    ("eval.gmc_samples", 2), ("eval.num_pictures", 0),
)
MS_SSIM_MIN_SIZE = 161  # MS-SSIM's five scales need crops of at least this side


def _get(config, dotted: str):
  node = config
  for part in dotted.split("."):
    if not hasattr(node, "get") or part not in node:
      return None
    node = node[part]
  return node


def check_config(config: ml_collections.ConfigDict, *, evaluation: bool = False) -> None:
  """Checks a run's config before any work: every count in range, sizes that fit.

  Args:
    config: the run's config.
    evaluation: also check ``config.eval`` (the report's evaluation on the
      held-out images, :func:`jiqa.evaluation.evaluate`).

  Raises:
    ValueError: naming the first bad key, its value and what was expected.

  Example:
    >>> c = ml_collections.ConfigDict({"train": {"steps": 0}})
    >>> check_config(c)
    Traceback (most recent call last):
    ...
    ValueError: config.train.steps: expected an integer >= 1; got 0.
  """
  for key, low in _INT_BOUNDS + (_EVAL_INT_BOUNDS if evaluation else ()):
    value = _get(config, key)
    if value is None:
      continue
    if isinstance(value, bool) or not isinstance(value, int) or (low is not None and value < low):
      want = "an integer" + ("" if low is None else f" >= {low}")
      raise ValueError(f"config.{key}: expected {want}; got {value!r}.")
  lr = _get(config, "optim.learning_rate")
  if lr is not None and not (isinstance(lr, (int, float)) and 0 < lr < float("inf")):
    raise ValueError(f"config.optim.learning_rate: expected a finite number > 0; got {lr!r}.")
  if config.get("task") not in (None, "pipeline", "map", "scorer"):
    raise ValueError(f"config.task: expected 'pipeline', 'map' or 'scorer'; got {config.task!r}.")
  pool = _get(config, "data.pool_size")
  for key in ("data.crop_size",) + (("eval.crop_size",) if evaluation else ()):
    size = _get(config, key)
    if pool is not None and size is not None and size > pool:
      raise ValueError(f"config.{key}: expected at most data.pool_size ({pool}); got {size}.")
  eval_crop = _get(config, "eval.crop_size")
  if evaluation and eval_crop is not None and eval_crop < MS_SSIM_MIN_SIZE:
    raise ValueError(f"config.eval.crop_size: expected >= {MS_SSIM_MIN_SIZE} (MS-SSIM, one of "
                     f"the evaluation's metrics, needs it); got {eval_crop}.")
  if "eval" in config and "engine" in config:
    steps_lib.engine_config(config)  # unknown engine fields or held-out types
    if tuple(config.eval.holdout_types):
      steps_lib.engine_config(config, heldout=True)


def with_images(config: ml_collections.ConfigDict, images: str | os.PathLike | None):
  """A copy of ``config`` whose ``data.folder`` is ``images`` (made absolute), so
  the run's record says what it trained on; ``config`` itself when ``images`` is None."""
  if not images:
    return config
  config = ml_collections.ConfigDict(config.to_dict())
  config.data.folder = os.path.abspath(os.fspath(images))
  return config


def load_pool(config: ml_collections.ConfigDict, folder: str | None = None) -> data_lib.ImagePool:
  """The run's image pool: ``folder`` if given, else ``config.data.folder`` or the bundled photos."""
  d = config.data
  names = tuple(d.names) if d.get("names") else None
  holdout = d.holdout_images
  holdout = int(holdout) if isinstance(holdout, int) else tuple(holdout)
  folder = folder or d.get("folder") or None
  if folder and not isinstance(holdout, int):
    holdout = len(holdout)  # Named hold-outs refer to the bundled photos.
  return data_lib.load_pool(pool_size=d.pool_size, holdout=holdout, folder=folder, names=names,
                            min_size=int(d.get("crop_size", 8)))


def _check_batches(config: ml_collections.ConfigDict, mesh) -> None:
  for key in ("data.batch_size", "data.tier_batch_size"):
    value = _get(config, key)
    if value and value % mesh.size:
      raise ValueError(f"config.{key}: expected a multiple of the {mesh.size} devices of the "
                       f"mesh; got {value}.")


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
    images: a folder of images to train on instead of ``config.data.folder``
      (recorded in the saved config as ``data.folder``).
    mesh: the mesh to use; all devices (or ``config.num_devices``) by default.
    callbacks: called as ``cb(step, metrics)`` after every step (metrics are
      device arrays); an exception raised there stops the run (checkpoints
      already started are finished first).
    progress: show the tqdm bar (process 0 only).

  Returns:
    A :class:`TrainResult`.

  Raises:
    ValueError: before any step, for a bad config (:func:`check_config`), a
      workdir recording a run with another config, a batch the mesh cannot
      split, or unusable images.

  Example:
    >>> res = train_and_evaluate(get_config("smoke"), "/tmp/w")  # doctest: +SKIP
  """
  workdir = os.path.abspath(os.fspath(workdir))
  config = with_images(config, images)
  check_config(config)
  ckpt_lib.check_resume(config, workdir)  # before anything is written
  if mesh is None:
    mesh = mesh_lib.make_mesh(config.get("num_devices") or None)
  _check_batches(config, mesh)
  t = config.train
  pool = load_pool(config)
  save_config(config, workdir)
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
    start = ckpt.latest_step() or 0
    if start:
      state = ckpt.restore(state, start)
    writer = writers_lib.MetricWriter(workdir, resume_step=start)
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
  return TrainResult(graphdef, state, pool, mesh, history, seconds, config, start)


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
