"""``jiqa gmc``: GMC surfaces and scores of IQA predictions from a CSV/XLSX table.

Accepts the reference tool's inputs and options (--pred-file, --pred-cols,
--mos-col, --std-col, --std-file, --weights-file, --sample-file, --samples,
--method, --std-scale) plus --seed, --dtype, --phi and outputs --json, --html,
--png. Prints a table of models with global and GMC correlations.

Example:
  jiqa gmc --pred-file predictions.csv --std-col std --json gmc.json --png gmc.png
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys

# XLA runs one CPU device's loop on one core; when this CLI starts JAX itself, it asks for
# one CPU device per core so the sample points can be spread over all cores (a mesh).
if "jax" not in sys.modules and "xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", ""):
  os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                             f" --xla_force_host_platform_device_count={os.cpu_count() or 1}").strip()

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
  p = argparse.ArgumentParser(prog="jiqa gmc", description=__doc__.split("\n\n")[0],
                              formatter_class=argparse.ArgumentDefaultsHelpFormatter)
  p.add_argument("--pred-file", required=True, help="CSV or XLSX table: MOS, optional std, model columns.")
  p.add_argument("--pred-cols", nargs="+", default=None,
                 help="model columns (space- or comma-separated); default: all but MOS/std.")
  p.add_argument("--mos-col", default="mos", help="MOS column.")
  p.add_argument("--std-col", default=None,
                 help="per-image std column; default: a column named 'std' if present.")
  p.add_argument("--no-std", action="store_true", help="ignore any std column (LDS weights, Beta std).")
  p.add_argument("--std-file", default=None, help="per-image std, one per row (txt/csv).")
  p.add_argument("--weights-file", default=None, help="regulator weights, one per row (txt/csv).")
  p.add_argument("--sample-file", default=None, help="CSV of (Q, Qd) sample points.")
  p.add_argument("--samples", type=int, default=100, help="number of Latin-hypercube points.")
  p.add_argument("--method", default="all", choices=("PLCC", "SRCC", "KRCC", "all"))
  p.add_argument("--std-scale", type=float, default=1.0, help="factor on the std in pair weights.")
  p.add_argument("--phi", type=float, default=3.0, help="Beta-model precision for estimated std.")
  p.add_argument("--seed", type=int, default=0, help="seed of the Latin-hypercube points.")
  p.add_argument("--dtype", default="float64", choices=("float32", "float64"))
  p.add_argument("--block", type=int, default=128, help="pair-block size (memory vs speed).")
  p.add_argument("--json", default=None, help="write the results as JSON here.")
  p.add_argument("--html", default=None, help="write interactive plotly surfaces here.")
  p.add_argument("--png", default=None, help="write a static figure here.")
  p.add_argument("--single-device", action="store_true",
                 help="do not spread sample points over all devices (default: a mesh of all).")
  p.add_argument("--quiet", action="store_true", help="no progress bar.")
  return p


def _table(result: dict) -> str:
  methods = result["methods"]
  head = f"{'model':<16}" + "".join(f"{'global ' + m:>13}" for m in ("PLCC", "SRCC", "KRCC"))
  head += "".join(f"{'GMC ' + m:>11}" for m in methods)
  lines = [head, "-" * len(head)]
  for name, e in result["models"].items():
    row = f"{name[:16]:<16}" + "".join(f"{e['global'][m]:>13.4f}" for m in ("PLCC", "SRCC", "KRCC"))
    row += "".join(f"{e[m]['gmc']:>11.4f}" for m in methods)
    lines.append(row)
  return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
  args = build_parser().parse_args(argv)
  import jax

  from jiqa import gmc
  from jiqa.gmc import io

  devices = jax.devices()
  mesh = None if args.single_device or len(devices) == 1 else jax.make_mesh((len(devices),), ("data",))

  try:
    table = io.read_table(args.pred_file)
    std_col = args.std_col
    if std_col is None and not args.no_std and "std" in table.columns and args.std_file is None:
      std_col = "std"
    pred_cols = None
    if args.pred_cols:
      pred_cols = [c.strip() for arg in args.pred_cols for c in arg.split(",") if c.strip()]
    drop = [] if std_col is not None or not args.no_std else ["std"]
    if pred_cols is None and drop:
      pred_cols = [c for c in table.columns if c not in (args.mos_col, *drop)]
    mos, std, preds = io.select_columns(table, mos_col=args.mos_col, std_col=std_col,
                                        pred_cols=pred_cols)
    if args.std_file:
      std = io.read_vector(args.std_file, "std")
    weights = io.read_vector(args.weights_file, "weights") if args.weights_file else None
    samples = io.read_samples(args.sample_file) if args.sample_file else None
    methods = ("PLCC", "SRCC", "KRCC") if args.method == "all" else (args.method,)
    result = gmc.evaluate(mos, preds, std=std, weights=weights, samples=samples,
                          num_samples=args.samples, seed=args.seed, methods=methods,
                          std_scale=args.std_scale, phi=args.phi, dtype=args.dtype,
                          progress=not args.quiet, block=args.block, mesh=mesh)
  except ValueError as e:
    print(f"jiqa gmc: error: {e}", file=sys.stderr)
    return 2
  result["pred_file"] = str(args.pred_file)
  print(f"{result['num_images']} images, {len(result['samples'])} sample points, std: "
        f"{result['std_source']}, weights: {result['weights_source']}, {args.dtype}, "
        f"surface {result['seconds']['surface']:.1f} s, fit {result['seconds']['fit']:.1f} s")
  print(_table(result))
  if args.json:
    pathlib.Path(args.json).write_text(json.dumps(result, indent=1))
    print(f"wrote {args.json}")
  if args.html:
    gmc.save_html(result, args.html)
    print(f"wrote {args.html}")
  if args.png:
    gmc.save_png(result, args.png)
    print(f"wrote {args.png}")
  return 0


if __name__ == "__main__":
  sys.exit(main())
