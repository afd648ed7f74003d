"""Every config builds for every size, and (slow) its smoke variant trains."""

import importlib.util
import pathlib

import jax
import numpy as np
import pytest

from jiqa.training import loop, steps

REPO = pathlib.Path(__file__).resolve().parents[2]
CONFIGS = ("pipeline", "map_predictor", "scorer")


def get_config(name, arg):
  spec = importlib.util.spec_from_file_location(f"cfg_{name}", REPO / "configs" / f"{name}.py")
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config(arg)


@pytest.mark.parametrize("name", CONFIGS)
@pytest.mark.parametrize("arg", ["", "smoke", "full", "relational", "relational,full"])
def test_config_is_consistent(name, arg):
  if name == "scorer" and arg.startswith("relational"):
    pytest.skip("relational is a map-predictor variant (pipeline and map_predictor configs)")
  c = get_config(name, arg)
  assert c.task == {"pipeline": "pipeline", "map_predictor": "map", "scorer": "scorer"}[name]
  assert c.data.batch_size % 8 == 0 and c.data.tier_batch_size % 8 == 0  # 8-device meshes
  assert c.data.crop_size <= c.data.pool_size and c.eval.crop_size <= c.data.pool_size
  assert c.eval.crop_size >= 161  # MS-SSIM's minimum size
  stride = 2 ** c.model.map.depth
  assert c.data.crop_size % stride == 0 and c.eval.crop_size % stride == 0
  assert c.eval.map_crop_size % stride == 0 and 0 <= c.data.single_size <= c.data.batch_size
  seen = steps.engine_config(c)
  held = steps.engine_config(c, heldout=True)
  assert set(held.types) == set(c.eval.holdout_types)
  assert not set(seen.types) & set(held.types)


@pytest.mark.parametrize("arg", ["huge", "relational,huge", "smoke,relational",
                                 "relational,smoke,full", "typehead", "stats,relational",
                                 "smoke,stats"])
def test_unknown_arg_rejected(arg):
  with pytest.raises(ValueError, match="arg"):
    get_config("pipeline", arg)


def test_relational_variant_changes_only_the_map_predictor_and_its_data():
  stats, former = get_config("pipeline", "stats"), get_config("pipeline", "relational")
  assert (stats.model.map.inputs, former.model.map.inputs) == ("context", "relational")
  assert stats.train.map_smooth is False and "map_smooth" not in former.train
  for c in (stats, former, get_config("pipeline", "stats,full")):  # certain orders for the scorer
    assert c.data.scaled_tier_batch_size == c.data.tier_batch_size and c.train.scaled_weight == 4
  assert "scaled_tier_batch_size" not in get_config("pipeline", "stats,smoke").data
  assert stats.model.map.image_head == "signature" and stats.train.map_type_weight == 1.0
  assert "image_head" not in former.model.map and former.train.map_type_weight == 0.0
  assert (stats.data.single_size, former.data.single_size) == (4, 0)
  assert get_config("pipeline", "full").data.single_size == 32
  assert get_config("pipeline", "smoke").data.single_size == 0
  assert former.model.scorer == stats.model.scorer and former.train.steps == stats.train.steps
  assert former.data.scaled_pristine == stats.data.scaled_pristine
  assert stats.eval.kadid_cells and not get_config("pipeline", "smoke").eval.kadid_cells


@pytest.mark.parametrize("size", ["", "smoke", "full"])
def test_default_scorer_is_the_deviation_scorer_on_certain_orders_only(size):
  """Issue 10: the default differs from "stats" in the scorer and its tiers, nothing else."""
  base, stats = get_config("pipeline", size), get_config("pipeline", f"stats,{size}" if size
                                                         else "stats")
  assert dict(base.model.scorer) == dict(backbone="deviation", depth=4, antisymmetric=False,
                                         feature_set="base", tolerance=1)
  assert (base.data.tier_mode, base.train.ranking_scope) == ("scaled", "tier")
  assert base.data.get("scaled_tier_batch_size", 0) == 0  # no mixed (nominal-severity) tiers
  for part, name in (("model", "map"), ("data", "batch_size"), ("data", "single_size"),
                     ("data", "crop_size"), ("data", "tier_batch_size"), ("data", "tier_size"),
                     ("train", "map_weight"), ("train", "map_type_weight")):
    assert base[part][name] == stats[part][name], (part, name)
  assert base.optim.learning_rate == stats.optim.learning_rate
  assert base.eval == stats.eval and base.engine == stats.engine
  assert stats.model.scorer.backbone == "stats" and stats.data.tier_mode == "mixed"
  # Per-model clipping: the map predictor trains as it would alone, whatever the scorer.
  assert base.optim.clip_per_model and "clip_per_model" not in stats.optim
  assert (base.train.steps, stats.train.steps) == ({"": 2400, "smoke": 3, "full": 100_000}[size],
                                                   {"": 1400, "smoke": 3, "full": 100_000}[size])


@pytest.mark.parametrize("size", ["", "smoke", "full"])
def test_aligned_nested_and_decisive_variants_change_one_thing_each(size):
  base = get_config("pipeline", size).to_dict()
  aligned = get_config("pipeline", f"aligned,{size}" if size else "aligned").to_dict()
  nested = get_config("pipeline", f"nested,{size}" if size else "nested").to_dict()
  assert aligned["model"]["scorer"].pop("tolerance") == 0
  assert base["model"]["scorer"].pop("tolerance") == 1
  assert aligned == base
  base["model"]["scorer"]["tolerance"] = 1
  assert (nested["data"].pop("nested_pairs"), nested["train"].pop("nested_weight")) == (True, 1.0)
  base["data"].pop("nested_pairs")
  base["train"].pop("nested_weight", None)
  assert nested == base
  decisive = get_config("pipeline", f"decisive,{size}" if size else "decisive").to_dict()
  assert decisive["model"]["scorer"].pop("residual") == 0.5
  assert decisive == get_config("pipeline", size).to_dict()


@pytest.mark.slow
@pytest.mark.parametrize("name", CONFIGS)
def test_smoke_run(name, tmp_path):
  c = get_config(name, "smoke")
  res = loop.train_and_evaluate(c, tmp_path, progress=False)
  assert int(res.state["step"]) == c.train.steps
  losses = [r["loss"] for r in res.history if r["split"] == "train"]
  assert len(losses) == c.train.steps and np.all(np.isfinite(losses))
  assert (tmp_path / "metrics.jsonl").is_file() and (tmp_path / "checkpoints").is_dir()
  jax.clear_caches()
