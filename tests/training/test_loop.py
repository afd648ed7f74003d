"""Kill-and-resume: a run stopped mid-way and restarted equals an uninterrupted run."""

import json

import jax
import numpy as np
import pytest

from jiqa.training import loop


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
  assert [r["step"] for r in rows] == [1, 2, 3, 3, 4]  # step 3 was redone after the restart
  _, _, restored, _ = loop.restore(tmp_path / "full")
  for a, b in zip(jax.tree.leaves(jax.device_get(full.state["params"])),
                  jax.tree.leaves(jax.device_get(restored["params"]))):
    np.testing.assert_array_equal(a, b)
