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
@pytest.mark.parametrize("arg", ["", "smoke", "full", "typehead", "typehead,full"])
def test_config_is_consistent(name, arg):
  if name == "scorer" and arg.startswith("typehead"):
    pytest.skip("typehead is a map-predictor variant (pipeline and map_predictor configs)")
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


@pytest.mark.parametrize("arg", ["huge", "typehead,huge", "smoke,typehead", "typehead,smoke,full"])
def test_unknown_arg_rejected(arg):
  with pytest.raises(ValueError, match="arg"):
    get_config("pipeline", arg)


def test_typehead_variant_changes_only_the_map_predictor_and_its_data():
  base, variant = get_config("pipeline", ""), get_config("pipeline", "typehead")
  assert (base.model.map.inputs, variant.model.map.inputs) == ("relational", "residual")
  assert variant.model.map.image_head == "signature" and variant.train.map_type_weight == 1.0
  assert (base.data.single_size, variant.data.single_size) == (0, 4)
  assert variant.model.scorer == base.model.scorer and variant.train.steps == base.train.steps


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
