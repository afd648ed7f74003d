"""Thin absl entry points: ``python -m experiments.train`` and ``python -m experiments.evaluate``."""
