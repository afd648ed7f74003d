"""jiqa: relational image quality assessment in JAX.

Subpackages:
  jiqa.images       the image convention and loaders (bundled photos, folders).
  jiqa.gmc          Granularity-Modulated Correlation (arXiv 2601.21738).
  jiqa.metrics      full-reference metrics and correlation statistics.
  jiqa.distortions  the synthetic distortion engine (triplets and tiers).
  jiqa.models       anti-symmetric distortion-map predictor and relational scorer.
  jiqa.losses       map, ranking and Norm-in-Norm losses.
  jiqa.training     meshes, train state, steps, loop, checkpoints, writers.

One call from weights to numbers (``jiqa.api``)::

  model = jiqa.load()                         # the weights shipped with jiqa
  model.score(distorted, reference)           # higher is better, 0 = identical
  model.preference(a, b, reference=ref)       # P(a better than b)
  model.maps(reference, distorted).describe() # which distortion, how strong, where

Subpackages are imported lazily (``jiqa.gmc`` etc. load on first access) so
that ``import jiqa`` stays cheap and starts no JAX backend.
"""

import importlib

__version__ = "0.1.0"

_SUBPACKAGES = ("images", "gmc", "metrics", "distortions", "models", "losses", "training",
                "evaluation", "configs", "api", "pretrained", "maps_report")
_API = ("load", "Model")


def __getattr__(name: str):
  if name in _SUBPACKAGES:
    return importlib.import_module(f"jiqa.{name}")
  if name in _API:
    return getattr(importlib.import_module("jiqa.api"), name)
  raise AttributeError(f"module 'jiqa' has no attribute {name!r}")


def __dir__():
  return sorted(list(globals()) + list(_SUBPACKAGES) + list(_API))
