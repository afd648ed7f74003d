"""The synthetic distortion engine: a bank of pure JAX ops, masks, composition,
triplets and tiers. See :mod:`jiqa.distortions.spec` for the op convention."""

from jiqa.distortions import colorspace
from jiqa.distortions.spec import AXES, GROUPS, KADID_LEVELS, DistortionSpec, blend_from_identity, kadid_param
