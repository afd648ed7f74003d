"""``--config configs/scorer.py[:arg]`` from a checkout: the config shipped as ``jiqa.configs.scorer``."""

from jiqa.configs.scorer import get_config  # noqa: F401
