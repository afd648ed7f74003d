"""The data side of the map figures: single-distortion pairs, the predictor's maps on them.

The figures of :mod:`jiqa.evaluation.maps` are measured on **single-distortion
pairs under partial masks**: one type per pair, mask kinds other than
``"full"``, no pristine pairs (:func:`single_engine`, a variant of the split's
engine config). This module makes those pairs from random crops of held-out
images (:func:`make_single_pairs`), runs a
:class:`~jiqa.models.MapPredictor` on them in chunks under one jitted function
(:func:`predict_maps`), and joins the two with the split's multi-distortion
triplets into :func:`jiqa.evaluation.maps.map_report` (:func:`evaluate_maps`,
what :func:`jiqa.evaluation.evaluate` calls per split). Arrays come back to
the host as numpy, ready for the numpy metrics.

Example:
  >>> from jiqa import distortions
  >>> e = single_engine(distortions.EngineConfig())
  >>> (e.min_distortions, e.max_distortions, e.pristine_prob, "full" in e.mask_kinds)
  (1, 1, 0.0, False)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import jax
import numpy as np
from flax import nnx

from jiqa import distortions
from jiqa.evaluation import maps
from jiqa.training import data as data_lib

def single_engine(engine):
  """The split's engine config with one distortion per pair, partial masks, no pristine pairs.

  Example:
    >>> from jiqa import distortions
    >>> single_engine(distortions.EngineConfig()).max_distortions
    1
  """
  kinds = tuple(k for k in engine.mask_kinds if k != "full") or ("smooth", "blobs", "rectangle",
                                                                 "gradient")
  probs = tuple(p for k, p in zip(engine.mask_kinds, engine.mask_probs) if k != "full")
  if len(probs) != len(kinds) or sum(probs) <= 0:
    probs = (1.0,) * len(kinds)
  total = float(sum(probs))
  return dataclasses.replace(engine, min_distortions=1, max_distortions=1, pristine_prob=0.0,
                             mask_kinds=kinds, mask_probs=tuple(p / total for p in probs))



def make_single_pairs(key, images: np.ndarray, *, engine, crop_size: int,
                      pairs_per_image: int) -> dict[str, np.ndarray]:
  """Single-distortion pairs (:func:`single_engine`) from random crops of each image (host arrays).

  Example:
    >>> d = make_single_pairs(jax.random.key(0), imgs, engine=eng, crop_size=64,
    ...                       pairs_per_image=4)  # doctest: +SKIP
  """
  images = np.asarray(images)
  if images.ndim != 4 or images.shape[0] < 1:
    raise ValueError(f"images must be a non-empty (N, S, S, 3) array; got {images.shape}.")
  single = single_engine(engine)

  @jax.jit
  def one_image(k, image):
    keys = data_lib.example_keys(k, pairs_per_image)
    crops = jax.vmap(lambda kk: data_lib.random_crop(
        jax.random.fold_in(kk, 5), image[None], crop_size=crop_size, flip=False))(keys)
    return distortions.make_triplets(jax.random.fold_in(k, 6), crops, config=single)

  parts = [jax.device_get(one_image(jax.random.fold_in(key, i), images[i]))
           for i in range(images.shape[0])]
  return {name: np.concatenate([p[j] for p in parts])
          for j, name in enumerate(("reference", "distorted", "maps"))}


_jitted_forward = None  # jax.jit(_forward), made on the first predict_maps call


def _forward(graphdef, state, reference, distorted):
  out = nnx.merge(graphdef, state)(reference, distorted)
  strength = out.maps if out.strength is None else out.strength
  return out.maps, out.presence_logits, out.pixel_presence_logits, strength


def predict_maps(map_predictor, reference: np.ndarray, distorted: np.ndarray, *,
                 chunk: int = 16) -> dict[str, np.ndarray]:
  """``maps``, ``presence_logits``, ``pixel_presence_logits``, ``strength`` of ``distorted``
  relative to ``reference`` (``strength`` is ``maps`` for a model without that output).

  The weights are arguments of one module-level jitted function (one compile
  per chunk shape, whatever the weights).

  Example:
    >>> p = predict_maps(model, refs, dists)  # doctest: +SKIP
  """
  global _jitted_forward
  if _jitted_forward is None:
    _jitted_forward = jax.jit(_forward, static_argnums=0)
  graphdef, state = nnx.split(map_predictor)
  parts = [jax.device_get(_jitted_forward(graphdef, state, reference[i:i + chunk],
                                          distorted[i:i + chunk]))
           for i in range(0, reference.shape[0], chunk)]
  return {name: np.concatenate([p[j] for p in parts])
          for j, name in enumerate(("maps", "presence_logits", "pixel_presence_logits",
                                    "strength"))}



def evaluate_maps(map_predictor, key, images: np.ndarray, *, engine, crop_size: int,
                  pairs_per_image: int, multi: dict, multi_preds: dict, names: Sequence[str],
                  signed: Sequence[bool]) -> tuple[dict, dict, dict]:
  """Single pairs made and predicted, then :func:`jiqa.evaluation.maps.map_report` of the split.

  Returns:
    ``(figures, single_pairs, single_preds)``.

  Example:
    >>> figs, pairs, preds = evaluate_maps(model, key, imgs, engine=eng, crop_size=176,
    ...     pairs_per_image=8, multi=data, multi_preds=preds, names=n, signed=s)  # doctest: +SKIP
  """
  pairs = make_single_pairs(key, images, engine=engine, crop_size=crop_size,
                            pairs_per_image=pairs_per_image)
  preds = predict_maps(map_predictor, pairs["reference"], pairs["distorted"])
  figs = maps.map_report(pairs, preds, multi, multi_preds, names=names, types=engine.types,
                         signed=signed)
  return figs, pairs, preds
