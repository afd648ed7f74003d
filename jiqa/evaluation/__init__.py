"""Evaluation of relational models: map and tier figures, FR metrics and GMC on the
same tiers, and pictures of predicted maps.

Example:
  >>> from jiqa import evaluation
  >>> report = evaluation.evaluate(config, graphdef, state, images)  # doctest: +SKIP
"""

from jiqa.evaluation.evaluate import (FR_METRICS, evaluate, evaluate_split, fr_scores,
                                      make_eval_data, predict, save_surfaces, to_json_ready)
from jiqa.evaluation.pictures import save_maps_png
from jiqa.evaluation.stats import map_figures, tier_kendall_tau, tier_pairwise_accuracy

__all__ = [
    "FR_METRICS", "evaluate", "evaluate_split", "fr_scores", "make_eval_data", "map_figures",
    "predict", "save_maps_png", "save_surfaces", "tier_kendall_tau", "tier_pairwise_accuracy",
    "to_json_ready",
]
