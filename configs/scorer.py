"""The relational scorer alone, trained on tiers with a ranking loss.

Same sizes as ``configs/pipeline.py`` ("" CPU default, "smoke", "full").
"""

import importlib.util
import os

import ml_collections


def _pipeline():
  path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pipeline.py")
  spec = importlib.util.spec_from_file_location("jiqa_configs_pipeline", path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def get_config(arg: str = "") -> ml_collections.ConfigDict:
  """Returns the scorer config; ``arg`` is "", "smoke" or "full"."""
  c = _pipeline().get_config(arg)
  c.task = "scorer"
  c.train.map_weight = 0.0
  return c
