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
import math
import os
import pathlib
import sys
import threading
import warnings

__all__ = ["main", "build_parser", "configure_jax", "check_options", "check_outputs"]

CACHE_ENV = "JIQA_JAX_CACHE"  # a folder for the compilation cache; "" or "off" turns it off


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
  p.add_argument("--method", default="all", choices=("PLCC", "SRCC", "KRCC", "all"),
                 help="correlation(s) of the surface.")
  p.add_argument("--std-scale", type=float, default=1.0, help="factor on the std in pair weights.")
  p.add_argument("--phi", type=float, default=3.0, help="Beta-model precision for estimated std.")
  p.add_argument("--seed", type=int, default=0, help="seed of the Latin-hypercube points.")
  p.add_argument("--dtype", default="float64", choices=("float32", "float64"),
                 help="precision of the pairwise sums (float32: ~1e-6 of float64, faster).")
  p.add_argument("--pair-dtype", default="float32", choices=("float32", "float64"),
                 help="precision of each pair weight's exponential and of the products within a "
                      "block row (float32: ~1e-8 of float64 in the correlations, ~3x faster on CPU).")
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


def _backends_started() -> bool:
  """Whether this process's JAX backends are up (then XLA_FLAGS can no longer change them)."""
  try:
    from jax._src import xla_bridge  # no public API says this; assume started if it moved
    return bool(xla_bridge.backends_are_initialized())
  except (ImportError, AttributeError):
    return True


def _cpu_has_avx512() -> bool:
  """Whether this (Linux x86) machine's CPU reports AVX-512F; False where unknown."""
  try:
    with open("/proc/cpuinfo") as f:
      for line in f:
        if line.startswith("flags"):
          return "avx512f" in line.split()
  except OSError:
    pass
  return False


def configure_jax() -> None:
  """Process-wide JAX set-up for this CLI, done in ``main`` (never at import).

  * One CPU device per core (``--xla_force_host_platform_device_count``), so the surface's
    block pairs can be spread over all cores: XLA runs one CPU device's loop on one core. Only
    when this process's backends have not started yet and the user has not set the flag.
    (Importing ``jiqa.gmc`` imports JAX but starts no backend; the flag used to be skipped
    whenever JAX was imported, i.e. always, so the CLI ran on one device.)
  * On CPUs with AVX-512, ``--xla_cpu_prefer_vector_width=512`` (XLA:CPU's default is 256):
    the surface's float32 exponentials then run 16 to a vector; side by side on one core
    (kadid10k rows, 100 points) the surface kernel took 0.34 instead of 0.53 ns per pair and
    point. Same conditions as the device count (backends not started, flag not set by the
    user).
  * JAX's persistent compilation cache in ``$JIQA_JAX_CACHE`` (default
    ``$XDG_CACHE_HOME/jiqa/jax``, i.e. ``~/.cache/jiqa/jax``), with no minimum compile
    time or entry size, so a second run with the same shapes skips compiling. Left alone
    if the user configured a cache dir (``JAX_COMPILATION_CACHE_DIR``); ``JIQA_JAX_CACHE=off``
    (or empty) turns it off.
  """
  import jax

  if not _backends_started():
    # XLA reads the flags when the backend starts (first device query), not at `import jax`.
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_force_host_platform_device_count" not in flags:
      flags += f" --xla_force_host_platform_device_count={os.cpu_count() or 1}"
    if "xla_cpu_prefer_vector_width" not in flags and _cpu_has_avx512():
      flags += " --xla_cpu_prefer_vector_width=512"
    os.environ["XLA_FLAGS"] = flags.strip()

  cache = os.environ.get(CACHE_ENV)
  if cache is None:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    cache = os.path.join(base, "jiqa", "jax")
  if cache.strip().lower() in ("", "off", "0", "none") or jax.config.jax_compilation_cache_dir:
    return
  try:
    os.makedirs(cache, exist_ok=True)
  except OSError:
    return  # an unwritable cache only costs compile time
  jax.config.update("jax_compilation_cache_dir", cache)
  jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
  jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


def check_options(args: argparse.Namespace) -> None:
  """Bounds and conflicts of the options, before anything is read or computed."""
  if args.samples < 3:
    raise ValueError(f"--samples must be >= 3 (the surface fit needs 3 points), got {args.samples}.")
  if args.block < 1:
    raise ValueError(f"--block must be >= 1 (pairs per block side), got {args.block}.")
  if not math.isfinite(args.phi) or args.phi <= -1:
    raise ValueError(f"--phi must be a finite number > -1 (Beta-model precision), got {args.phi}.")
  if not math.isfinite(args.std_scale) or args.std_scale <= 0:
    raise ValueError(f"--std-scale must be a finite number > 0, got {args.std_scale}.")
  if args.no_std and (args.std_col or args.std_file):
    given = "--std-col" if args.std_col else "--std-file"
    raise ValueError(f"--no-std and {given} contradict each other; give one of them.")
  if args.std_col and args.std_file:
    raise ValueError("--std-col and --std-file both give the std; give one of them.")


def check_outputs(args: argparse.Namespace) -> None:
  """Every output path must be writable before the work starts (nothing is lost at the end)."""
  inputs = {pathlib.Path(p).resolve() for p in (args.pred_file, args.std_file, args.weights_file,
                                                  args.sample_file) if p}
  seen = {}
  for flag in ("json", "html", "png"):
    value = getattr(args, flag)
    if value is None:
      continue
    path = pathlib.Path(value)
    parent = path.resolve().parent
    if not value or value.endswith(("/", os.sep)) or path.is_dir():
      raise ValueError(f"--{flag} {value!r} is a directory; give a file path.")
    if not parent.is_dir():
      raise ValueError(f"--{flag} {value!r}: folder {str(parent)!r} does not exist.")
    if path.resolve() in inputs:
      raise ValueError(f"--{flag} {value!r} is one of the input files; it would be overwritten.")
    if path.resolve() in seen:
      raise ValueError(f"--{flag} and --{seen[path.resolve()]} are the same file {value!r}.")
    seen[path.resolve()] = flag
    if not os.access(path if path.exists() else parent, os.W_OK):
      raise ValueError(f"--{flag} {value!r} is not writable (permission denied).")


def _read_inputs(args: argparse.Namespace, io) -> dict:
  table = io.read_table(args.pred_file)
  std_col = args.std_col
  if std_col is None and not args.no_std and args.std_file is None and "std" in table.columns:
    std_col = "std"
  pred_cols = None
  if args.pred_cols:
    pred_cols = [c.strip() for arg in args.pred_cols for c in arg.split(",") if c.strip()]
  # A table column named "std" is never a model by default, also when --std-file or --no-std
  # replaces it (name it in --pred-cols to score it).
  exclude = ("std",)
  mos, std, preds = io.select_columns(table, mos_col=args.mos_col, std_col=std_col,
                                      pred_cols=pred_cols, exclude=exclude)
  if args.std_file:
    std = io.read_vector(args.std_file, "std")
  weights = io.read_vector(args.weights_file, "weights") if args.weights_file else None
  samples = io.read_samples(args.sample_file) if args.sample_file else None
  return dict(mos=mos, predictions=preds, std=std, weights=weights, samples=samples)


def _import_later_modules() -> threading.Thread:
  """Imports, in a daemon thread, the modules needed after the surface (global correlations:
  scipy.stats; surface fit: scipy.optimize), so that their ~1 s of import overlaps the
  surface's computation (XLA runs it without holding the GIL) instead of following it."""

  def work():
    try:
      import jiqa.metrics.correlation  # noqa: F401  (scipy.stats)
      import scipy.optimize  # noqa: F401
    except Exception:  # noqa: BLE001  the main thread imports again and reports any error
      pass

  thread = threading.Thread(target=work, name="jiqa-gmc-imports", daemon=True)
  thread.start()
  return thread


def main(argv: list[str] | None = None) -> int:
  args = build_parser().parse_args(argv)
  try:
    check_options(args)
    check_outputs(args)
  except ValueError as e:
    print(f"jiqa gmc: error: {e}", file=sys.stderr)
    return 2
  configure_jax()
  import jax

  from jiqa import gmc
  from jiqa.gmc import io

  _import_later_modules()

  devices = jax.devices()
  mesh = None if args.single_device or len(devices) == 1 else jax.make_mesh((len(devices),), ("data",))
  methods = ("PLCC", "SRCC", "KRCC") if args.method == "all" else (args.method,)
  try:
    inputs = _read_inputs(args, io)
    with warnings.catch_warnings():  # the clipping notes are printed below, once
      warnings.simplefilter("ignore", RuntimeWarning)
      result = gmc.evaluate(**inputs, num_samples=args.samples, seed=args.seed, methods=methods,
                            std_scale=args.std_scale, phi=args.phi, dtype=args.dtype,
                            pair_dtype=args.pair_dtype,
                            progress=not args.quiet, block=args.block, mesh=mesh)
  except ValueError as e:
    print(f"jiqa gmc: error: {e}", file=sys.stderr)
    return 2
  result["pred_file"] = str(args.pred_file)
  print(f"{result['num_images']} images, {len(result['samples'])} sample points, std: "
        f"{result['std_source']}, weights: {result['weights_source']}, {args.dtype} "
        f"(pair weights {args.pair_dtype}), "
        f"{1 if mesh is None else mesh.devices.size} device(s), "
        f"surface {result['seconds']['surface']:.1f} s, fit {result['seconds']['fit']:.1f} s")
  print(_table(result))
  for note in result.get("notes", []):
    print(f"note: {note}", file=sys.stderr)
  try:
    if args.json:
      pathlib.Path(args.json).write_text(json.dumps(result, indent=1))
      print(f"wrote {args.json}")
    if args.html or args.png:
      from jiqa.gmc import plots
      if args.html:
        plots.save_html(result, args.html)
        print(f"wrote {args.html}")
      if args.png:
        plots.save_png(result, args.png)
        print(f"wrote {args.png}")
  except OSError as e:
    print(f"jiqa gmc: error: could not write {e.filename or 'output'}: {e.strerror or e}", file=sys.stderr)
    return 1
  return 0


if __name__ == "__main__":
  sys.exit(main())
