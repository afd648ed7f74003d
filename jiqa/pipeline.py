"""``jiqa run``: the README's main job — train the relational pipeline, evaluate it,
write a report folder.

  jiqa run --out DIR [--config pipeline[:smoke|:full] | FILE.py[:arg]] [--images DIR]

trains the map predictor and the scorer together (``jiqa/configs/pipeline.py``, the
CPU default unless told otherwise) on the photos bundled with scikit-image (or
``--images``), resuming if ``DIR`` already holds a checkpoint, then evaluates
on the held-out images for seen and held-out distortion types and writes:

  DIR/report.json         every figure (see jiqa.evaluation.evaluate)
  DIR/surfaces.png/.html  GMC surfaces (seen types); surfaces_heldout_types.*
  DIR/maps.png            predicted vs true maps (seen types); maps_heldout_types.png
  DIR/metrics.jsonl       training metrics, one JSON line per logged step
  DIR/tensorboard/        TensorBoard event files
  DIR/checkpoints/        orbax checkpoints (a rerun resumes from them)

and prints a summary table.

Example:
  $ jiqa run --out report --config pipeline:smoke
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from jiqa import configs
from jiqa.configs import load_config_file  # noqa: F401  (re-exported for older callers)

DEFAULT_CONFIG = configs.DEFAULT


def write_report(config, graphdef, state, images, out_dir: str, *, mesh, extra=None,
                 progress: bool = True) -> dict:
  """Evaluates, writes report.json, surfaces and map pictures into ``out_dir``; returns the report.

  Example:
    >>> report = write_report(cfg, graphdef, state, pool.heldout, "out", mesh=m)  # doctest: +SKIP
  """
  import jax

  from jiqa import distortions, evaluation

  os.makedirs(out_dir, exist_ok=True)
  t0 = time.perf_counter()
  with jax.set_mesh(mesh):
    report = evaluation.evaluate(config, graphdef, state, images, mesh=mesh, progress=progress)
  files = evaluation.save_surfaces(report, out_dir)
  for split, res in report.items():
    if "maps" in res.get("_preds", {}):
      stem = "maps" if split == "seen_types" else f"maps_{split}"
      files.append(evaluation.save_maps_png(
          res["_data"], res["_preds"], distortions.names(), os.path.join(out_dir, stem + ".png"),
          num=int(config.eval.num_pictures), title=f"held-out images, {split.replace('_', ' ')}"))
  out = {"config": json.loads(config.to_json()), **(extra or {}),
         "evaluation": evaluation.to_json_ready(report),
         "evaluation_seconds": time.perf_counter() - t0,
         "files": [os.path.basename(f) for f in files]}
  with open(os.path.join(out_dir, "report.json"), "w", encoding="utf-8") as f:
    json.dump(out, f, indent=2)
  return out


def summary_table(report: dict) -> str:
  """A plain-text table of the key figures of a report.

  Example:
    >>> print(summary_table(report))  # doctest: +SKIP
  """
  ev = report["evaluation"]
  lines = []
  splits = [s for s in ("seen_types", "heldout_types") if s in ev]
  head = f"{'predictor':<10}" + "".join(
      f"{s + ' pair-acc':>24}{'tau':>7}{'GMC-SRCC':>9}" for s in splits)
  lines += ["Tier ranking on held-out images (higher is better):", head]
  for name in ev[splits[0]]["tiers"]:
    row = f"{name:<10}"
    for s in splits:
      t = ev[s]["tiers"].get(name, {})
      g = ev[s]["gmc"].get(name, {}).get("SRCC")
      row += f"{t.get('pairwise_accuracy', float('nan')):>24.3f}{t.get('kendall_tau', float('nan')):>7.3f}"
      row += f"{g:>9.3f}" if g is not None else f"{'-':>9}"
    lines.append(row)
  if "tiers_scaled" in ev[splits[0]]:
    lines.append("Scaled tiers (one composition at growing strength; PSNR near-perfect by "
                 "construction), pair-acc: " + ", ".join(
                     f"{name} {t['pairwise_accuracy']:.3f}"
                     for name, t in ev[splits[0]]["tiers_scaled"].items()))
  for s in splits:
    m = ev[s].get("map")
    if m:
      sign = m["sign_accuracy"]
      lines.append(f"maps ({s}): MAE {m['map_mae']:.4f}, presence acc "
                   f"{m['presence_accuracy_mean']:.3f}, sign acc "
                   f"{'-' if sign is None else f'{sign:.3f}'} ({m['sign_pairs']} pairs), "
                   f"anti-symmetry error {m['antisymmetry_error']:.2e}")
  return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
  """Entry point of ``jiqa run``; returns the exit status."""
  parser = argparse.ArgumentParser(prog="jiqa run", description=__doc__.split("\n\n")[0])
  parser.add_argument("--out", required=True, help="report folder (also the training workdir)")
  parser.add_argument("--config", default=DEFAULT_CONFIG,
                      help="a shipped config NAME[:arg] (pipeline, map_predictor, scorer) or file.py[:arg]; "
                           "default: pipeline (e.g. pipeline:smoke)")
  parser.add_argument("--images", default=None,
                      help="folder of images to train on (default: scikit-image's photos)")
  parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
  args = parser.parse_args(sys.argv[1:] if argv is None else argv)

  from jiqa.training import loop
  try:
    config = load_config_file(args.config)
  except ValueError as e:
    parser.error(str(e))
  t0 = time.perf_counter()
  result = loop.train_and_evaluate(config, args.out, images=args.images,
                                   progress=not args.no_progress)
  train_rows = [r for r in result.history if r["split"] == "train"]
  extra = {"train": {"steps": int(config.train.steps), "seconds_this_call": result.seconds,
                     "final": train_rows[-1] if train_rows else None,
                     "devices": int(result.mesh.size),
                     "images": {"train": list(result.pool.train_names),
                                "heldout": list(result.pool.heldout_names)}}}
  report = write_report(config, result.graphdef, result.state, result.pool.heldout, args.out,
                        mesh=result.mesh, extra=extra, progress=not args.no_progress)
  report["total_seconds"] = time.perf_counter() - t0
  with open(os.path.join(args.out, "report.json"), "w", encoding="utf-8") as f:
    json.dump(report, f, indent=2)
  print(summary_table(report))
  print(f"report: {os.path.abspath(args.out)}/report.json  ({report['total_seconds']:.0f} s)")
  return 0


if __name__ == "__main__":
  sys.exit(main())
