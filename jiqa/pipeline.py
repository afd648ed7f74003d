"""``jiqa run``: the README's main job — train the relational pipeline, evaluate it,
write a report folder.

  jiqa run --out DIR [--config pipeline[:smoke|:full] | FILE.py[:arg]] [--images DIR]

trains the map predictor and the scorer together (jiqa/configs/pipeline.py,
the CPU default unless told otherwise) on the photos bundled with scikit-image
(or --images), resuming if DIR already holds a checkpoint, then evaluates on
the held-out images for seen and held-out distortion types and writes:

  DIR/report.json         every figure (see jiqa.evaluation.evaluate)
  DIR/surfaces.png/.html  GMC surfaces (seen types); surfaces_heldout_types.*
  DIR/maps.png            predicted vs true maps (seen types); maps_heldout_types.png
  DIR/metrics.jsonl       training metrics, one JSON line per logged step
  DIR/tensorboard/        TensorBoard event files
  DIR/checkpoints/        orbax checkpoints (a rerun resumes from them)
  DIR/config.json         the run's config, written once (a resume must match it)

and prints a summary table. The config, the images and DIR are checked before
training starts; a bad one is a one-line error with exit status 2.

Example:
  $ jiqa run --out report --config pipeline:smoke
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from jiqa import configs
from jiqa.configs import load_config_file

DEFAULT_CONFIG = configs.DEFAULT


# What jiqa run writes in --out besides the report files (and the folders it fills).
RUN_FILES = ("metrics.jsonl", "config.json")
RUN_FOLDERS = ("checkpoints", "tensorboard")


def _parser() -> argparse.ArgumentParser:
  parser = argparse.ArgumentParser(prog="jiqa run", description=__doc__.replace("``", ""),
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--out", required=True, help="report folder (also the training workdir)")
  parser.add_argument("--config", default=DEFAULT_CONFIG,
                      help="a shipped config NAME[:arg] (pipeline, map_predictor, scorer; arg "
                           "'', smoke or full) or file.py[:arg] (default: %(default)s)")
  parser.add_argument("--images", default=None,
                      help="folder of images to train on (default: scikit-image's photos)")
  parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
  return parser


def check_out(out: str) -> str:
  """Checks (and creates) the run's folder before any work; returns it made absolute.

  Raises:
    ValueError: if the folder cannot be created or written, or a file or
      folder that jiqa run writes there is in the way.
  """
  from jiqa.evaluation import report as report_lib

  out = report_lib.check_report_dir(out, files=report_lib.REPORT_FILES + RUN_FILES)
  for name in RUN_FOLDERS:
    path = os.path.join(out, name)
    if os.path.exists(path) and not os.path.isdir(path):
      raise ValueError(f"--out: {path!r} is a file; jiqa run keeps its {name} folder there.")
  return out


def run(args: argparse.Namespace) -> int:
  """Runs the job of parsed arguments (see :func:`main`)."""
  from jiqa.evaluation import report as report_lib
  from jiqa.training import loop, writers

  config = loop.with_images(load_config_file(args.config), args.images)
  loop.check_config(config, evaluation=True)
  out = check_out(args.out)
  t0 = time.perf_counter()
  result = loop.train_and_evaluate(config, out, progress=not args.no_progress)
  config = result.config
  extra = {"train": {
      "steps": int(config.train.steps), "resumed_from_step": int(result.start_step),
      "seconds_this_call": result.seconds,
      # From the file, so a rerun that had nothing left to train still reports it.
      "final": writers.last_row(os.path.join(out, writers.METRICS_FILE)),
      "devices": int(result.mesh.size),
      "images": {"folder": config.data.get("folder") or None,
                 "train": list(result.pool.train_names),
                 "heldout": list(result.pool.heldout_names)}}}
  report = report_lib.write_report(config, result.graphdef, result.state, result.pool.heldout,
                                   out, mesh=result.mesh, extra=extra,
                                   progress=not args.no_progress)
  report["total_seconds"] = time.perf_counter() - t0
  report_lib.write_json(os.path.join(out, report_lib.REPORT_FILE), report)
  print(report_lib.summary_table(report))
  print(f"report: {out}/{report_lib.REPORT_FILE}  ({report['total_seconds']:.0f} s)")
  return 0


def main(argv: list[str] | None = None) -> int:
  """Entry point of ``jiqa run``; returns the exit status.

  A bad config, image folder or output folder ends in one line on stderr
  (``jiqa run: error: ...``) and status 2, before training starts.

  Example:
    >>> main(["--out", "/tmp/r", "--config", "pipeline:huge"])
    2
  """
  args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
  try:
    return run(args)
  except (ValueError, OSError) as e:
    print(f"jiqa run: error: {e}", file=sys.stderr)
    return 2


if __name__ == "__main__":
  sys.exit(main())
