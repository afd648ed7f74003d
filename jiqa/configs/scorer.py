"""The relational scorer alone, trained on tiers with a ranking loss.

Same sizes as ``jiqa/configs/pipeline.py`` ("" CPU default, "smoke", "full").
``"deviation"`` (alone or before a size, ``"deviation,smoke"``) selects the
:class:`jiqa.models.DeviationScorer` (fixed perceptual deviations, positive
weights: pristine best and monotone by construction) trained on orderings that
are certain: the levels of one composition (``data.tier_mode="scaled"``),
ranked within each tier only (``train.ranking_scope="tier"``), never across
contents or types.
"""

import ml_collections

from jiqa.configs import pipeline


def deviation_scorer(c: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """Sets ``c`` (a pipeline or scorer config) to the deviation scorer on certain orderings."""
  c.model.scorer = ml_collections.ConfigDict(dict(backbone="deviation", depth=4,
                                                  antisymmetric=False))
  c.data.tier_mode = "scaled"
  c.train.ranking_scope = "tier"
  return c


def get_config(arg: str = "") -> ml_collections.ConfigDict:
  """Returns the scorer config; ``arg`` is "", "smoke" or "full", optionally after "deviation,"."""
  parts = arg.split(",") if arg else []
  deviation = bool(parts) and parts[0] == "deviation"
  if deviation:
    parts = parts[1:]
  if len(parts) > 1:
    raise ValueError(f"arg must be '', 'smoke' or 'full', optionally after 'deviation,'; got "
                     f"{arg!r}.")
  c = pipeline.get_config(parts[0] if parts else "")
  c.task = "scorer"
  c.train.map_weight = 0.0
  return deviation_scorer(c) if deviation else c
