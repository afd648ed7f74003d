"""The relational scorer alone, trained on tiers with a ranking loss.

Same sizes as ``jiqa/configs/pipeline.py`` ("" CPU default, "smoke", "full").
"""

import ml_collections

from jiqa.configs import pipeline


def get_config(arg: str = "") -> ml_collections.ConfigDict:
  """Returns the scorer config; ``arg`` is "", "smoke" or "full"."""
  c = pipeline.get_config(arg)
  c.task = "scorer"
  c.train.map_weight = 0.0
  return c
