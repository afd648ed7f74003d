"""Kill-and-resume: a run stopped mid-way and restarted equals an uninterrupted run, logs each
step once, and a resume with another config is refused before anything is written."""

import json

import jax
import ml_collections
import numpy as np
import pytest
from PIL import Image

from jiqa.training import checkpoints, loop


class Killed(Exception):
  pass


def _kill_at(step_to_die):
  def cb(step, metrics):
    if step == step_to_die:
      raise Killed
  return cb


@pytest.mark.slow  # compiles the engine + models: minutes on 2 shared cores
def test_kill_and_resume_reaches_same_parameters(tiny_config, tmp_path):
  full = loop.train_and_evaluate(tiny_config, tmp_path / "full", progress=False)
  with pytest.raises(Killed):  # dies after step 3; the newest checkpoint is step 2
    loop.train_and_evaluate(tiny_config, tmp_path / "resumed", progress=False,
                            callbacks=[_kill_at(3)])
  resumed = loop.train_and_evaluate(tiny_config, tmp_path / "resumed", progress=False)
  assert int(resumed.state["step"]) == 4
  for a, b in zip(jax.tree.leaves(jax.device_get(full.state["params"])),
                  jax.tree.leaves(jax.device_get(resumed.state["params"]))):
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
  rows = [json.loads(x) for x in (tmp_path / "resumed" / "metrics.jsonl").read_text().splitlines()]
  assert [r["step"] for r in rows] == [1, 2, 3, 4]  # step 3 was redone, and logged once
  _, _, restored, _ = loop.restore(tmp_path / "full")
  for a, b in zip(jax.tree.leaves(jax.device_get(full.state["params"])),
                  jax.tree.leaves(jax.device_get(restored["params"]))):
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("key, value, message", [
    ("train.steps", 0, "config.train.steps: expected an integer >= 1; got 0."),
    ("train.steps", 2.5, "config.train.steps: expected an integer >= 1; got 2.5."),
    ("train.steps", True, "config.train.steps: expected an integer >= 1; got True."),
    ("train.eval_every", -1, "config.train.eval_every: expected an integer >= 0; got -1."),
    ("data.tier_size", 1, "config.data.tier_size: expected an integer >= 2; got 1."),
    ("eval.gmc_samples", 1, "config.eval.gmc_samples: expected an integer >= 2; got 1."),
    ("data.crop_size", 64, "config.data.crop_size: expected at most data.pool_size (48); got 64."),
    ("optim.learning_rate", float("nan"), "config.optim.learning_rate: expected a finite number > 0"),
    ("task", "maps", "config.task: expected 'pipeline', 'map' or 'scorer'; got 'maps'."),
])
def test_check_config_names_the_bad_key(tiny_config, key, value, message):
  section, _, name = key.rpartition(".")
  d = tiny_config.to_dict()
  (d[section] if section else d)[name] = value
  c = ml_collections.ConfigDict(d)
  with pytest.raises(ValueError, match="^" + message.replace(".", r"\.").replace("(", r"\(")
                     .replace(")", r"\)")):
    loop.check_config(c, evaluation=key.startswith("eval."))


def test_check_config_accepts_the_tiny_config_and_checks_eval_only_when_asked(tiny_config):
  loop.check_config(tiny_config)  # eval.crop_size 176 > pool_size 48: it never evaluates
  with pytest.raises(ValueError, match=r"config\.eval\.crop_size: expected at most data\.pool"):
    loop.check_config(tiny_config, evaluation=True)


def test_config_differences_lists_changed_added_and_removed_keys(tiny_config):
  saved = json.loads(tiny_config.to_json())
  c = ml_collections.ConfigDict(tiny_config.to_dict())
  c.model.map.width = 6
  c.data.folder = "/photos"
  del c.train["max_to_keep"]
  c.train.extra = 1
  assert checkpoints.config_differences(saved, c) == {
      "data.folder": ("", "/photos"), "model.map.width": (4, 6),
      "train.extra": ("(absent)", 1), "train.max_to_keep": (2, "(absent)")}
  assert checkpoints.config_differences(saved, tiny_config) == {}


def test_resume_with_another_config_is_refused_before_anything_is_written(tiny_config, tmp_path,
                                                                          monkeypatch):
  monkeypatch.setattr(loop, "setup", lambda *a, **k: pytest.fail("work started"))
  loop.save_config(tiny_config, tmp_path)
  before = (tmp_path / "config.json").read_bytes()
  other = ml_collections.ConfigDict(tiny_config.to_dict())
  other.model.map.depth = 2
  other.seed = 7
  with pytest.raises(ValueError, match=r"model\.map\.depth: 1 saved, 2 now; seed: 0 saved, 7 now"):
    loop.train_and_evaluate(other, tmp_path, progress=False)
  assert (tmp_path / "config.json").read_bytes() == before
  assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json"]


def test_images_folder_is_recorded_in_config_json(tiny_config, tmp_path, monkeypatch):
  photos = tmp_path / "photos"
  photos.mkdir()
  rng = np.random.default_rng(0)
  for name in ("a.png", "b.png"):
    Image.fromarray(rng.integers(0, 256, (40, 52, 3), dtype=np.uint8)).save(photos / name)

  class Stop(Exception):
    pass

  def stop(*a, **k):
    raise Stop

  monkeypatch.setattr(loop, "setup", stop)  # everything before the models is done by now
  d = tiny_config.to_dict()
  d["data"]["holdout_images"] = 1
  c = ml_collections.ConfigDict(d)
  with pytest.raises(Stop):
    loop.train_and_evaluate(c, tmp_path / "run", images=str(photos), progress=False)
  saved = json.loads((tmp_path / "run" / "config.json").read_text())
  assert saved["data"]["folder"] == str(photos)
  assert tiny_config.data.folder == ""  # the caller's config is not changed
  assert loop.load_pool(loop.load_config(tmp_path / "run")).train_names == ("a.png",)


def test_restoring_a_checkpoint_of_other_models_is_one_line(tmp_path):
  with checkpoints.Checkpointer(tmp_path, enable_async=False) as ckpt:
    ckpt.save(1, {"params": {"a": jax.numpy.ones(2)}}, force=True)
  with checkpoints.Checkpointer(tmp_path, enable_async=False) as ckpt:
    with pytest.raises(ValueError) as info:
      ckpt.restore({"params": {"a": jax.numpy.ones(2), "b": jax.numpy.ones(3)}})
  message = str(info.value)
  assert message.startswith("checkpoint: step 1 in ") and "\n" not in message
  assert "params.b" in message
