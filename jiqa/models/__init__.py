"""Relational IQA models (Flax NNX).

* :class:`MapPredictor` — anti-symmetric distortion-map predictor ``f(a, b)``.
* :class:`RelationalScorer` — anti-symmetric relational score ``s(x | r)`` with
  pairwise preference and a reference-free "companions" mode.
* :mod:`jiqa.models.backbones` — the U-Net (default) and small ViT backbones.

Example:
  >>> from flax import nnx
  >>> from jiqa import models
  >>> f = models.MapPredictor(25, width=8, depth=2, rngs=nnx.Rngs(0))
  >>> scorer = models.RelationalScorer(width=8, depth=2, rngs=nnx.Rngs(1))
"""

from jiqa.models.backbones import BACKBONES, SmallViT, UNet, make_backbone, total_stride
from jiqa.models.map_predictor import MapOutput, MapPredictor
from jiqa.models.scorer import RelationalScorer

__all__ = [
    "BACKBONES", "MapOutput", "MapPredictor", "RelationalScorer", "SmallViT", "UNet",
    "make_backbone", "total_stride",
]
