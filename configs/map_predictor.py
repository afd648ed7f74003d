"""``--config configs/map_predictor.py[:arg]`` from a checkout: the config shipped as ``jiqa.configs.map_predictor``."""

from jiqa.configs.map_predictor import get_config  # noqa: F401
