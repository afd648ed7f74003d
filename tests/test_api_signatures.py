"""The public API's shape beyond the ops (as dm-pix's api_test): in ``metrics``, ``losses``,
``gmc.sampling``, ``training.data`` and the engine's entry points, a PRNG key comes first,
every option with a default is keyword-only, and metrics and losses take at most two
positional arrays (``(a, b)`` / ``(prediction, target)``)."""

import importlib
import inspect

import pytest

MODULES = ("jiqa.metrics", "jiqa.losses", "jiqa.gmc.sampling", "jiqa.training.data")
TWO_ARRAYS = ("jiqa.metrics", "jiqa.losses")


def _public_functions(module_name):
  module = importlib.import_module(module_name)
  names = getattr(module, "__all__", None) or [n for n in vars(module) if not n.startswith("_")]
  for name in names:
    obj = getattr(module, name)
    if inspect.isfunction(obj) and (hasattr(module, "__all__") or obj.__module__ == module_name):
      yield f"{module_name}.{name}", obj


CASES = [case for m in MODULES for case in _public_functions(m)]


def _positional(fn):
  return [p for p in inspect.signature(fn).parameters.values()
          if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]


def test_every_module_has_public_functions():
  for m in MODULES:
    assert any(name.startswith(m + ".") for name, _ in CASES), m


@pytest.mark.parametrize("name,fn", CASES, ids=[n for n, _ in CASES])
def test_key_first_and_options_keyword_only(name, fn):
  params = list(inspect.signature(fn).parameters.values())
  keys = [i for i, p in enumerate(params) if p.name == "key" or p.name.endswith("_key")]
  assert keys in ([], [0]), f"{name}: a PRNG key must be the first parameter; got {params}"
  for p in _positional(fn):
    assert p.default is p.empty, f"{name}: option {p.name!r} (has a default) must be keyword-only"
  if name.startswith(TWO_ARRAYS):
    assert len(_positional(fn)) <= 2, f"{name}: at most two positional arrays; got {params}"


@pytest.mark.parametrize("fn_name,static", [
    ("make_triplet", ("config",)), ("make_triplets", ("config", "executor", "mesh")),
    ("make_tier", ("n", "config", "mode", "executor")),
    ("make_tiers", ("n", "config", "mode", "executor", "mesh"))])
def test_engine_entry_points_take_config_and_n_keyword_only(fn_name, static):
  from jiqa import distortions

  params = inspect.signature(getattr(distortions, fn_name)).parameters
  assert list(params)[:2] in (["key", "image"], ["key", "images"])
  for s in static:
    assert params[s].kind == inspect.Parameter.KEYWORD_ONLY, (fn_name, s)


def test_executors_take_one_argument_shape():
  from jiqa.distortions import execute

  for fn in (execute.apply_per_image, execute.apply_compositions, execute.apply_shared,
             execute.run):
    params = inspect.signature(fn).parameters
    assert list(params)[:3] == ["images", "comp", "config"], fn.__name__
    assert params["config"].kind == inspect.Parameter.KEYWORD_ONLY
