"""``--config configs/pipeline.py[:arg]`` from a checkout: the config shipped as ``jiqa.configs.pipeline``."""

from jiqa.configs.pipeline import get_config  # noqa: F401
