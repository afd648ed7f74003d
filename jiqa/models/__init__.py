"""Relational IQA models (Flax NNX).

* :class:`MapPredictor` — anti-symmetric distortion-map predictor ``f(a, b)``.
* :class:`RelationalScorer` — the interface of the relational scorers,
  ``scorer(reference, images) = s(images | reference)`` with a pairwise
  preference and a reference-free "companions" mode; its five models are
  :class:`DeviationScorer` (the shipped default: monotone in fixed perceptual
  deviations, symmetric, so without the reference-free mode),
  :class:`ReferenceAnchoredScorer` (the default until 2026-12-06, not
  anti-symmetric), :class:`AntisymmetricStatsScorer`, :class:`EncoderScorer` and
  :class:`MapFeatureScorer` (anti-symmetric); :func:`make_scorer` builds one
  from ``config.model.scorer``'s keys.
* :mod:`jiqa.models.backbones` — the U-Net (default) and small ViT backbones.

Example:
  >>> from flax import nnx
  >>> from jiqa import models
  >>> f = models.MapPredictor(25, width=8, depth=2, rngs=nnx.Rngs(0))
  >>> scorer = models.make_scorer(backbone="stats", antisymmetric=False, width=8, depth=2,
  ...                             rngs=nnx.Rngs(1))
  >>> scorer.antisymmetric
  False
"""

from jiqa.models.backbones import BACKBONES, SmallViT, UNet, make_backbone, total_stride
from jiqa.models.feature_scorers import EncoderScorer, MapFeatureScorer
from jiqa.models.map_predictor import MapOutput, MapPredictor
from jiqa.models.scorer import (AntisymmetricStatsScorer, ConstantOnIdenticalPairs,
                                DeviationScorer, ReferenceAnchoredScorer, RelationalScorer,
                                make_scorer, tier_scores)

__all__ = [
    "AntisymmetricStatsScorer", "BACKBONES", "ConstantOnIdenticalPairs", "DeviationScorer",
    "EncoderScorer",
    "MapFeatureScorer", "MapOutput", "MapPredictor", "ReferenceAnchoredScorer",
    "RelationalScorer", "SmallViT", "UNet", "make_backbone", "make_scorer", "tier_scores",
    "total_stride",
]
