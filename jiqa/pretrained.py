"""Weights that ship inside the package: export a trained run, load it back.

A run folder (``jiqa run --out W`` or ``python -m experiments.train --workdir W``)
holds orbax checkpoints with the optimizer state, a few times the size of the
weights. :func:`export` writes only what inference needs:

  DIR/config.json   the run's ml-collections config (builds the models)
  DIR/weights.npz   every variable of the models (parameters and the rest), by path

and :func:`load_models` rebuilds the NNX models from such a folder. The
default folder is ``jiqa/weights/`` inside the package, made by
``python -m experiments.make_pretrained`` (see ``jiqa/weights/MODEL_CARD.md``).

Example:
  >>> os.path.basename(default_dir())
  'weights'
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "weights.npz"


def default_dir() -> str:
  """The folder of the weights shipped with jiqa (``jiqa/weights``).

  Example:
    >>> os.path.isdir(default_dir())
    True
  """
  return os.path.join(os.path.dirname(os.path.abspath(__file__)), "weights")


def _flat(tree: Any) -> dict[str, Any]:
  """Leaves of a pytree keyed by their path string (stable across processes)."""
  import jax

  leaves = jax.tree_util.tree_flatten_with_path(tree)[0]
  return {jax.tree_util.keystr(path): leaf for path, leaf in leaves}


def export(models, config, out_dir: str | os.PathLike) -> list[str]:
  """Writes ``config.json`` and ``weights.npz`` of ``models`` into ``out_dir``.

  Args:
    models: a :class:`jiqa.training.Models` (e.g. ``training.merge(graphdef, state)``).
    config: the run's config (an ``ml_collections.ConfigDict``).
    out_dir: folder to write; created if missing.

  Returns:
    The paths written.

  Raises:
    ValueError: if ``out_dir`` exists as a file or cannot be written.

  Example:
    >>> export(models, config, "/tmp/weights")  # doctest: +SKIP
  """
  from flax import nnx

  out_dir = os.fspath(out_dir)
  if os.path.exists(out_dir) and not os.path.isdir(out_dir):
    raise ValueError(f"out_dir: {out_dir!r} exists and is not a folder.")
  os.makedirs(out_dir, exist_ok=True)
  if not os.access(out_dir, os.W_OK):
    raise ValueError(f"out_dir: {out_dir!r} is not writable.")
  arrays = {k: np.asarray(v, np.float32) if np.issubdtype(np.asarray(v).dtype, np.floating)
            else np.asarray(v) for k, v in _flat(nnx.state(models)).items()}
  weights = os.path.join(out_dir, WEIGHTS_FILE)
  np.savez_compressed(weights, **arrays)
  cfg = os.path.join(out_dir, CONFIG_FILE)
  with open(cfg, "w", encoding="utf-8") as f:
    f.write(config.to_json(indent=2))
  return [cfg, weights]


def read_config(folder: str | os.PathLike):
  """The config of an exported folder or of a run folder.

  Raises:
    ValueError: if ``folder`` holds no readable ``config.json``.

  Example:
    >>> read_config(default_dir()).task
    'pipeline'
  """
  import ml_collections

  path = os.path.join(os.fspath(folder), CONFIG_FILE)
  if not os.path.isfile(path):
    raise ValueError(f"weights: {os.fspath(folder)!r} holds no {CONFIG_FILE} "
                     "(expected a folder written by jiqa.pretrained.export or a run folder).")
  try:
    with open(path, encoding="utf-8") as f:
      return ml_collections.ConfigDict(json.load(f))
  except (OSError, json.JSONDecodeError) as e:
    raise ValueError(f"weights: cannot read {path!r}: {e}") from None


def load_models(folder: str | os.PathLike | None = None):
  """Rebuilds the models of an exported folder (default: the shipped weights).

  Returns:
    ``(config, models)``: the config and a :class:`jiqa.training.Models`.

  Raises:
    ValueError: if the folder is not an export, or its weights do not fit the
      models its config builds (names or shapes differ).

  Example:
    >>> config, models = load_models()
    >>> models.scorer is not None
    True
  """
  import jax
  from flax import nnx

  from jiqa import distortions
  from jiqa.training import state as state_lib

  folder = default_dir() if folder is None else os.fspath(folder)
  config = read_config(folder)
  path = os.path.join(folder, WEIGHTS_FILE)
  if not os.path.isfile(path):
    raise ValueError(f"weights: {folder!r} holds no {WEIGHTS_FILE}.")
  models = state_lib.build_models(config, num_types=len(distortions.names()),
                                  rngs=nnx.Rngs(jax.random.key(0, impl="rbg")))
  graphdef, state = nnx.split(models)
  with np.load(path) as saved:
    saved = dict(saved)
  expected = _flat(state)
  missing = sorted(set(expected) - set(saved))
  extra = sorted(set(saved) - set(expected))
  if missing or extra:
    raise ValueError(f"weights: {path!r} does not fit the models of its config "
                     f"(missing {missing[:3]}, unexpected {extra[:3]}).")
  for k, v in expected.items():
    if tuple(np.shape(v)) != saved[k].shape:
      raise ValueError(f"weights: {path!r}: {k} has shape {saved[k].shape}, the model "
                       f"expects {tuple(np.shape(v))}.")
  leaves, treedef = jax.tree_util.tree_flatten_with_path(state)
  new = [jax.numpy.asarray(saved[jax.tree_util.keystr(p)], dtype=np.asarray(v).dtype)
         for p, v in leaves]
  state = jax.tree_util.tree_unflatten(treedef, new)
  return config, nnx.merge(graphdef, state)
