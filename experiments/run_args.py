"""What the scripts that read a finished run share: checking its folder, loading its map predictor.

``python -m experiments.strength_window`` and ``python -m experiments.map_bootstrap``
both take ``--workdir`` (a ``jiqa run --out`` folder) and ``--json``; both
need the run's trained :class:`jiqa.models.MapPredictor`. The checks run before
any JAX work and stop with a one-line argparse error naming the flag.

Example:
  >>> import argparse
  >>> p = argparse.ArgumentParser()
  >>> _ = p.add_argument("--workdir"), p.add_argument("--json")
  >>> try:
  ...   check_run_args(p, p.parse_args(["--workdir", "no/such/run"]))
  ... except SystemExit:
  ...   print("stopped: no checkpoints")
  stopped: no checkpoints
"""

from __future__ import annotations

import argparse
import os


def check_run_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
  """Stops (``parser.error``) unless ``args.workdir`` holds checkpoints and the folder of
  ``args.json`` (if given) exists."""
  if not os.path.isdir(os.path.join(args.workdir, "checkpoints")):
    parser.error(f"--workdir: {args.workdir} holds no checkpoints/ (a `jiqa run --out` folder).")
  if getattr(args, "json", None) and not os.path.isdir(
      os.path.dirname(os.path.abspath(args.json))):
    parser.error(f"--json: the folder of {args.json} does not exist.")


def restore_map_predictor(parser: argparse.ArgumentParser, workdir: str):
  """``(config, map_predictor)`` of the run in ``workdir``; stops if it has no map predictor."""
  from jiqa.training import loop
  from jiqa.training import state as state_lib

  config, graphdef, state, _ = loop.restore(workdir)
  model = state_lib.merge(graphdef, state).map_predictor
  if model is None:
    parser.error(f"--workdir: the run in {workdir} has no map predictor "
                 f"(task {config.task!r}).")
  return config, model
