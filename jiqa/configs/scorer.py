"""The relational scorer alone, trained on tiers with a ranking loss.

Same sizes as ``jiqa/configs/pipeline.py`` ("" CPU default, "smoke", "full").
``"deviation"`` (alone or before a size, ``"deviation,smoke"``) selects the
:class:`jiqa.models.DeviationScorer` (fixed perceptual deviations, positive
weights: pristine best and monotone by construction) trained on orderings that
are certain: the levels of one composition (``data.tier_mode="scaled"``),
ranked within each tier only (``train.ranking_scope="tier"``), never across
contents or types. ``"deviation_pooled"`` is the same on the 28 ``"pooled"``
deviations (:func:`jiqa.models.deviations.deviation_features`).

``"pipeline_deviation"`` (alone or before a size) is the main job instead
(``task="pipeline"``: the map predictor and the scorer) with the deviation
scorer kept at its prior (``theta = 0``, the plain mean of the 16 deviations):
``train.rank_weight = 0``, so no gradient reaches its weights and AdamW's
decoupled decay leaves ``theta = 0`` unchanged (only the temperature
``log_scale`` decays, by about 1e-4 relative, which changes no order). It is
the variant that the decision rule of ``experiments/scorer_variants`` chose on
engine data (``deviation:base:prior``).

``"certain"`` (alone or before a size) is the stats scorer alone with scaled
tiers beside the mixed ones (:func:`jiqa.configs.pipeline.certain_orders`, weight
4); ``"pipeline_certain"`` the main job with them (``pipeline:stats``, the
default until 2026-12-06; kept so older commands run). The scorer alone (``""``,
``"smoke"``, ``"full"``) is the stats scorer; the pipeline's default scorer is
:func:`jiqa.configs.pipeline.deviation_scorer` (``"deviation"`` here).
"""

import ml_collections

from jiqa.configs import pipeline
from jiqa.configs.pipeline import certain_orders, deviation_scorer  # noqa: F401  (their home)


DEVIATION_VARIANTS = {"deviation": "base", "deviation_pooled": "pooled"}
CERTAIN = {"certain": "scorer", "pipeline_certain": "pipeline"}


def get_config(arg: str = "") -> ml_collections.ConfigDict:
  """Returns the scorer config; ``arg`` is "", "smoke" or "full", optionally after "deviation,"
  or "deviation_pooled," or "certain,"; or the main job's with the prior deviation scorer
  ("pipeline_deviation", optionally ",smoke" or ",full") or with scaled tiers
  ("pipeline_certain").

  Example:
    >>> c = get_config("pipeline_certain")
    >>> c.task, c.data.scaled_tier_batch_size, c.data.scaled_pristine
    ('pipeline', 16, True)
  """
  parts = arg.split(",") if arg else []
  if parts and parts[0] in CERTAIN:
    rest = ",".join(parts[1:])
    c = get_config(rest) if CERTAIN[parts[0]] == "scorer" else pipeline.get_config(
        "stats," + rest if rest else "stats")
    return certain_orders(c)
  if parts and parts[0] == "pipeline_deviation":
    c = deviation_scorer(pipeline.get_config(",".join(parts[1:])))
    c.data.tier_mode, c.train.ranking_scope = "mixed", "batch"  # unused: no ranking gradient
    c.train.rank_weight = 0.0
    return c
  variant = parts[0] if parts and parts[0] in DEVIATION_VARIANTS else None
  if variant:
    parts = parts[1:]
  if len(parts) > 1:
    raise ValueError(f"arg must be '', 'smoke' or 'full', optionally after 'deviation,' or "
                     f"'deviation_pooled,'; got {arg!r}.")
  c = pipeline.get_config("stats," + parts[0] if parts else "stats")
  c.task = "scorer"
  c.train.map_weight = 0.0
  return deviation_scorer(c, DEVIATION_VARIANTS[variant]) if variant else c
