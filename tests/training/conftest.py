"""A tiny pipeline config for the mechanics tests (few cheap distortion types, so
the step compiles in seconds)."""

import importlib.util
import pathlib

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]


def load_config(name: str, arg: str = "smoke"):
  spec = importlib.util.spec_from_file_location(f"cfg_{name}", REPO / "configs" / f"{name}.py")
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config(arg)


@pytest.fixture
def tiny_config():
  c = load_config("pipeline")
  c.data.update(names=("astronaut", "camera"), holdout_images=("camera",), pool_size=48,
                crop_size=16, batch_size=8, tier_batch_size=8, tier_size=3)
  c.engine.types = ("gaussian_blur", "darken", "white_noise", "mean_shift")
  c.engine.max_distortions = 2
  c.eval.holdout_types = ("white_noise",)
  c.model.map.update(width=4, depth=1)
  c.model.scorer = dict(width=4, depth=1, hidden=8)
  c.train.update(steps=4, log_every=1, eval_every=0, checkpoint_every=2)
  return c
