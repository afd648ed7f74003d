"""The anti-symmetric distortion-map predictor alone, trained on triplets.

Same sizes as ``jiqa/configs/pipeline.py`` ("" CPU default, "smoke", "full"),
and its ``"relational"`` variant (``"relational,smoke"``, ...).
"""

import ml_collections

from jiqa.configs import pipeline


def get_config(arg: str = "") -> ml_collections.ConfigDict:
  """Returns the map-predictor config; ``arg`` as for ``pipeline.get_config``."""
  c = pipeline.get_config(arg)
  c.task = "map"
  c.train.rank_weight = 0.0
  return c
