"""The engine's tiers for the scorer experiments, drawn once and cached with the engine's fingerprint.

``experiments.scorer_variants``, ``deviation_landscape``, ``certain_orders`` and
``pixelate_order`` fit and score on the same engine data: training tiers of the
training photos (:func:`training_tiers`) and, per type split, the held-out
photos' tiers, scaled tiers and nested images (:func:`eval_data`). Drawing them
takes minutes, so each is cached as an ``.npz`` in a folder the caller names.

Each cache file carries a fingerprint (:func:`fingerprint`) of what made it:
the source of the engine (``jiqa/distortions``) and of the code that crops and
composes (``jiqa/images.py``, ``jiqa/training/data.py``,
``jiqa/evaluation/evaluate.py``), and the config's ``data``, ``engine`` and
``eval`` sections. A file whose fingerprint differs, or that has none, is drawn
again (with a line saying so) instead of being read: tiers cached before the
engine's KADID-fidelity changes of 2026-12-05 22:39 UTC were otherwise read for
a day after them, and every engine figure made from them was of the old engine.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import pathlib

import jax
import numpy as np

_SOURCES = ("distortions", "images.py", "training/data.py", "evaluation/evaluate.py")


def chunks(fn, *arrays, chunk: int = 32) -> np.ndarray:
  """``fn`` over the leading axis of ``arrays`` in chunks of ``chunk``, concatenated on the host.

  Example:
    >>> chunks(lambda x: x * 2, np.arange(5), chunk=2).tolist()
    [0, 2, 4, 6, 8]
  """
  outs = [jax.device_get(fn(*(a[i:i + chunk] for a in arrays)))
          for i in range(0, arrays[0].shape[0], chunk)]
  return np.concatenate(outs)


def fingerprint(config) -> str:
  """A 16-hex digest of the engine's and the data code's source and of ``config``'s
  ``data``, ``engine`` and ``eval`` sections.

  Example:
    >>> from jiqa.configs import pipeline
    >>> a, b = fingerprint(pipeline.get_config("")), fingerprint(pipeline.get_config("full"))
    >>> len(a), a == fingerprint(pipeline.get_config("")), a == b
    (16, True, False)
  """
  import jiqa

  root = pathlib.Path(jiqa.__file__).parent
  h = hashlib.sha256()
  for name in _SOURCES:
    path = root / name
    for f in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
      h.update(f.relative_to(root).as_posix().encode() + b"\0" + f.read_bytes() + b"\0")
  for section in ("data", "engine", "eval"):
    h.update(section.encode() + config[section].to_json(sort_keys=True).encode())
  return h.hexdigest()[:16]


def _cached(path: str, tag: str) -> dict | None:
  """The arrays of ``path`` when it exists and carries fingerprint ``tag``, else ``None``."""
  if not os.path.isfile(path):
    return None
  with np.load(path) as z:
    found = str(z["fingerprint"]) if "fingerprint" in z.files else "none"
    if found == tag:
      return {k: z[k] for k in z.files if k != "fingerprint"}
  print(f"engine_tiers: {path} was made by another engine or config (fingerprint {found}, "
        f"now {tag}); drawing it again.", flush=True)
  return None


def draw_tiers(key, pool, *, engine, n_tiers, tier_size, crop_size, mode, chunk=64):
  """Training tiers ``(B, n, S, S, 3)`` and their references, nested images ``B(x)``."""
  from jiqa import distortions
  from jiqa.training import data as data_lib

  @jax.jit
  def one(k):
    refs = data_lib.random_crops(jax.random.fold_in(k, 0), pool, chunk, crop_size=crop_size)
    t = distortions.make_tiers(jax.random.fold_in(k, 1), refs, n=tier_size, config=engine,
                               mode=mode)
    flat = t.images.reshape((-1,) + t.images.shape[2:])
    nested = distortions.make_triplets(jax.random.fold_in(k, 2), flat, config=engine)[1]
    return refs, t.images, t.severity, nested.reshape(t.images.shape)

  parts = [jax.device_get(one(jax.random.fold_in(key, i))) for i in range(n_tiers // chunk)]
  return [np.concatenate([p[j] for p in parts]) for j in range(4)]


def training_tiers(config, pool, n_tiers: int, out: str, *, size: str = "") -> dict:
  """``{"scaled", "mixed": (refs, images, severity, nested)}``: the training tiers of the
  pipeline ``config`` on its training photos (``pool.train``), cached in ``out``.

  ``n_tiers`` is drawn in chunks of 64: a positive multiple of 64.
  """
  if n_tiers < 64 or n_tiers % 64:
    raise ValueError(f"n_tiers: expected a positive multiple of 64; got {n_tiers}.")
  from jiqa.distortions import compose

  tag = fingerprint(config)
  cache = os.path.join(out, f"train_tiers_{n_tiers}{'_' + size if size else ''}.npz")
  z = _cached(cache, tag)
  if z is not None:
    return {m: [z[f"{m}_{j}"] for j in range(4)] for m in ("scaled", "mixed")}
  engine, d, drawn = compose.run_engine_config(config), config.data, {}
  for i, mode in enumerate(("scaled", "mixed")):
    drawn[mode] = draw_tiers(jax.random.fold_in(jax.random.key(0), i), pool.train,
                             engine=engine, n_tiers=n_tiers, tier_size=d.tier_size,
                             crop_size=d.crop_size, mode=mode)
  os.makedirs(out, exist_ok=True)
  np.savez(cache, fingerprint=tag,
           **{f"{m}_{j}": v[j] for m, v in drawn.items() for j in range(4)})
  return drawn


def eval_data(config, pool, i, eval_crops, out):
  """Held-out tiers, scaled tiers and nested images of split ``i`` (0 seen, 1 held-out types),
  cached in ``out``."""
  from jiqa import distortions
  from jiqa.distortions import compose

  eval_lib = importlib.import_module("jiqa.evaluation.evaluate")
  e = config.eval
  eng = compose.run_engine_config(config, heldout=bool(i))
  crops = eval_crops or e.crops_per_image
  os.makedirs(out, exist_ok=True)  # before the work, not after it
  tag = fingerprint(config)
  ecache = os.path.join(out, f"eval_data_{i}_{crops}.npz")
  cached = _cached(ecache, tag)
  if cached is not None:
    return cached
  keep = ("crops", "tier_images", "tier_severity", "scaled_tier_images",
          "scaled_tier_severity", "nested")
  parts = []
  for j in range(pool.heldout.shape[0]):  # one photo at a time: the maps are not kept
    key = jax.random.fold_in(jax.random.fold_in(jax.random.key(int(e.seed)), i), j)
    data = eval_lib.make_eval_data(key, pool.heldout[j:j + 1], engine=eng,
                                   crop_size=e.crop_size, crops_per_image=crops,
                                   tier_size=e.tier_size, scaled_tiers=True)
    flat = data["tier_images"].reshape((-1,) + data["tier_images"].shape[2:])
    data["nested"] = np.asarray(chunks(lambda x: distortions.make_triplets(
        jax.random.fold_in(jax.random.key(7 + i), j), x, config=eng)[1], flat)).reshape(
            data["tier_images"].shape)
    parts.append({k: data[k] for k in keep})
    del data
  data = {k: np.concatenate([p[k] for p in parts]) for k in keep}
  np.savez(ecache, fingerprint=tag, **data)
  return data
