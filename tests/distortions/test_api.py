"""The public API's shape, as dm-pix's api_test: every op takes the key first,
then the image and the level, and any static option keyword-only; the engine's
entry points take the key first as well."""

import inspect

import pytest

from jiqa import distortions


def _params(fn):
  return list(inspect.signature(fn).parameters.values())


@pytest.mark.parametrize("name", distortions.names())
def test_op_signature_key_image_level_then_keyword_only(name):
  params = _params(distortions.get(name).fn)
  positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
  assert [p.name for p in positional] == ["key", "image", "level"], (name, params)
  for p in params[3:]:
    assert p.kind == p.KEYWORD_ONLY, f"{name}: option {p.name!r} must be keyword-only"
    assert p.default is not p.empty, f"{name}: option {p.name!r} needs a default"


@pytest.mark.parametrize("fn", [distortions.apply, distortions.make_triplet, distortions.make_triplets,
                                distortions.make_tier, distortions.make_tiers,
                                distortions.sample_compositions, distortions.tier_factors])
def test_engine_functions_take_the_key_first(fn):
  names = [p.name for p in _params(fn)]
  key_at = 1 if fn is distortions.apply else 0
  assert names[key_at] == "key", (fn.__name__, names)


def test_public_names_exported_and_documented():
  for name in distortions.__all__:
    obj = getattr(distortions, name)
    if callable(obj) and not isinstance(obj, type):
      assert obj.__doc__ and "Example" in obj.__doc__, f"{name}: docstring needs an Example"
  for required in ("names", "apply", "make_triplet", "make_tier", "make_triplets", "make_tiers",
                   "EngineConfig", "default_config", "get", "specs", "signed_types"):
    assert required in distortions.__all__
