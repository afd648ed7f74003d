"""The anti-symmetric distortion-map predictor alone, trained on triplets.

Same sizes as ``configs/pipeline.py`` ("" CPU default, "smoke", "full").
"""

import os

import ml_collections

from jiqa.pipeline import load_config_file

_PIPELINE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pipeline.py")


def get_config(arg: str = "") -> ml_collections.ConfigDict:
  """Returns the map-predictor config; ``arg`` is "", "smoke" or "full"."""
  c = load_config_file(f"{_PIPELINE}:{arg}")
  c.task = "map"
  c.train.rank_weight = 0.0
  return c
