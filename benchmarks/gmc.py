"""GMC speed and memory: jiqa vs a numpy baseline with the reference's structure.

Prints, in one run:
  * the whole ``jiqa gmc`` process (start, import, compile, surface, fit, exit) on the full
    kadid10k surface of one model (DeepWSD) and of all six, each run twice in a fresh
    subprocess: first with an empty compilation cache (a fresh temporary
    ``JIQA_JAX_CACHE``), then with the cache the first run filled; wall and CPU seconds,
    side by side with the numpy baseline below and the ratio;
  * seconds for the full kadid10k surface of one model (100 points x PLCC/SRCC/KRCC)
    in float32 and float64 (float32 pair weights, the default) and float64 with float64
    pair weights, on one device and spread over all CPU cores (a mesh);
  * the same surface timed with a numpy baseline that has the reference implementation's
    structure (``baseline_point``: per point and per method, a Python loop over the N - 1
    diagonals of the pair matrix), timed on a few points and scaled to 100 points x 3
    methods, and the speed-up. With ``--reference-impl DIR --reference-python PY`` the
    reference's own ``GMC()`` (``DIR/GMC.py``, run by interpreter PY, e.g. one with numpy
    1.26, which the reference needs) is timed on the same points, alternating with the
    baseline point by point, to check that the baseline times like the reference;
  * peak resident memory of an N = 100,000 run (synthetic kadid-like MOS/std/predictions,
    2 sample points, float64) measured in a subprocess (VmHWM of /proc/self/status);
  * on a GPU: the kadid10k timings and an N = 23,200 synthetic run.

Usage: python benchmarks/gmc.py [--reference DIR] [--baseline-points 2] [--skip-100k]
                                [--cli-only] [--dtype float64]
                                [--reference-impl DIR --reference-python PY]
"""

import argparse
import os
import sys

if "--child-100k" not in sys.argv:  # one CPU device per core, so a mesh can use every core
  os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                             f" --xla_force_host_platform_device_count={os.cpu_count() or 1}").strip()
  # As `jiqa gmc` does (jiqa.gmc.cli.configure_jax): 512-bit vectors where the CPU has AVX-512.
  if os.path.exists("/proc/cpuinfo") and " avx512f" in open("/proc/cpuinfo").read():
    os.environ["XLA_FLAGS"] += " --xla_cpu_prefer_vector_width=512"

import pathlib  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

# jax, pandas and jiqa are imported inside the functions that use them, so that the numpy
# baseline can be imported and timed by another interpreter (e.g. one with numpy 1.26 next to
# the reference implementation).

REPO = pathlib.Path(__file__).resolve().parents[1]


def baseline_point(y, s, w, p, q, qd, method, scale=1.0):
  """One point and one method with the reference implementation's structure.

  Like the reference's per-point function: the inputs are (N, 1) columns; the dense ranks
  are recomputed on every call; a Python loop over the N - 1 diagonals k of the pair matrix
  (pairs (i, i + k)) first builds and sums every diagonal's regulator products w_i w_{i+k}
  (kept in a list); then one loop over the diagonals makes each pair weight from three
  exponentials and adds its products to the sums. KRCC keeps every diagonal's weights, adds
  them up, divides each by the total, and then loops again for the signs. std 0 divides by
  zero as in the reference (call under ``np.errstate(divide="ignore", invalid="ignore")``).
  """
  col = lambda a: np.asarray(a, np.float64).reshape(-1, 1)
  y, s, w, p = col(y), col(s), col(w), col(p)
  ry = np.unique(y, return_inverse=True)[1].reshape(-1, 1)
  rp = np.unique(p, return_inverse=True)[1].reshape(-1, 1)
  n = y.shape[0]
  regulator, total = [], 0.0
  for k in range(1, n):
    regulator.append(w[:n - k] * w[k:])
    total += np.sum(regulator[-1])

  def pair_weight(k):
    a, b = slice(0, n - k), slice(k, n)
    var_d = (s[a] * scale) ** 2 + (s[b] * scale) ** 2
    gauss_i = np.exp(-(q - y[a]) ** 2 / (2 * (s[a] * scale) ** 2))
    gauss_j = np.exp(-(q - y[b]) ** 2 / (2 * (s[b] * scale) ** 2))
    gauss_d = np.exp(-(qd - np.abs(y[a] - y[b])) ** 2 / (2 * var_d))
    return gauss_i * gauss_j * gauss_d * regulator[k - 1]

  if method == "KRCC":
    weight = [pair_weight(k) for k in range(1, n)]
    omega = 0.0
    for x in weight:
      omega += np.sum(x)
    weight = [x / omega for x in weight]
    tau = 0.0
    for k in range(1, n):
      tau += np.sum(weight[k - 1] * np.sign(p[:n - k] - p[k:]) * np.sign(y[:n - k] - y[k:]))
    return tau
  u_all, v_all = (y, p) if method == "PLCC" else (ry, rp)
  uv = uu = vv = 0.0
  for k in range(1, n):
    u, v = u_all[:n - k] - u_all[k:], v_all[:n - k] - v_all[k:]
    wk = pair_weight(k)
    uv += np.sum(wk * (u * v))
    uu += np.sum(wk * u ** 2)
    vv += np.sum(wk * v ** 2)
  return uv / (np.sqrt(uu) * np.sqrt(vv))


def baseline_seconds(y, s, w, p, pts, k, values=None):
  """(wall, CPU) seconds per point and method of the reference-structured loop (first k points).

  ``values``, if a dict, receives {(point index, method): value} for checking.
  """
  t0, c0 = time.perf_counter(), time.process_time()
  with np.errstate(divide="ignore", invalid="ignore"):
    for i, (q, qd) in enumerate(pts[:k]):
      for method in ("PLCC", "SRCC", "KRCC"):
        v = baseline_point(y, s, w, p, q, qd, method)
        if values is not None:
          values[(i, method)] = float(v)
  return (time.perf_counter() - t0) / (3 * k), (time.process_time() - c0) / (3 * k)


_REFERENCE_DRIVER = """
import sys, time
import numpy as np
sys.path.insert(0, sys.argv[1])
from GMC import GMC
y, s, w, p = (np.loadtxt(sys.argv[2] + f) for f in ("/y.txt", "/s.txt", "/w.txt", "/p.txt"))
print("ready", np.__version__, flush=True)
with np.errstate(all="ignore"):
  for line in sys.stdin:
    q, qd, method = line.split()
    t0, c0 = time.perf_counter(), time.process_time()
    v = float(np.asarray(GMC(float(q), float(qd), p, y, s, w, 1, method)).ravel()[0])
    print(v, time.perf_counter() - t0, time.process_time() - c0, flush=True)
"""


def reference_side_by_side(impl, python, y, s, w, p, pts, k):
  """The reference's GMC() (run by ``python`` from ``impl``) and ``baseline_point``, alternating.

  Returns per point and method (reference wall, CPU), (baseline wall, CPU) and the largest
  difference between their values.
  """
  tmp = pathlib.Path(tempfile.mkdtemp(prefix="gmc-ref-"))
  try:
    for name, v in (("y", y), ("s", s), ("w", w), ("p", p)):
      np.savetxt(tmp / f"{name}.txt", v, fmt="%.17g")
    proc = subprocess.Popen([python, "-c", _REFERENCE_DRIVER, str(impl), str(tmp)], text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    ready = proc.stdout.readline().split()
    if not ready or ready[0] != "ready":
      raise RuntimeError(f"the reference driver did not start ({ready})")
    ref, base, diff = np.zeros(2), np.zeros(2), 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
      for i, (q, qd) in enumerate(pts[:k]):
        for j, method in enumerate(("PLCC", "SRCC", "KRCC")):
          order = ("ref", "base") if (i + j) % 2 == 0 else ("base", "ref")
          for who in order:
            if who == "ref":
              proc.stdin.write(f"{float(q)!r} {float(qd)!r} {method}\n")
              proc.stdin.flush()
              v_ref, wall, cpu = map(float, proc.stdout.readline().split())
              ref += (wall, cpu)
            else:
              t0, c0 = time.perf_counter(), time.process_time()
              v_base = float(baseline_point(y, s, w, p, q, qd, method))
              base += (time.perf_counter() - t0, time.process_time() - c0)
          diff = max(diff, abs(v_ref - v_base))
    proc.stdin.close()
    proc.wait()
    return ref / (3 * k), base / (3 * k), diff, ready[1]
  finally:
    shutil.rmtree(tmp, ignore_errors=True)


def cli_run(argv, cache):
  """(wall s, CPU s of the child, its stdout) of one whole `jiqa gmc` process."""
  env = dict(os.environ, JIQA_JAX_CACHE=str(cache))
  env.pop("XLA_FLAGS", None)  # the CLI sets one CPU device per core itself
  exe = shutil.which("jiqa") or os.path.join(os.path.dirname(sys.executable), "jiqa")
  before = resource.getrusage(resource.RUSAGE_CHILDREN)
  t0 = time.perf_counter()
  out = subprocess.run([exe, "gmc", *argv, "--quiet"], capture_output=True, text=True, env=env)
  wall = time.perf_counter() - t0
  after = resource.getrusage(resource.RUSAGE_CHILDREN)
  if out.returncode:
    raise RuntimeError(out.stderr[-2000:])
  cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
  return wall, cpu, out.stdout


def cli_benchmark(ref, per_point_method, cpu_per_point_method, dtype):
  """Whole-process CLI seconds, cold and cached, beside the baseline's seconds.

  Wall-clock ratios are the figure of merit on a quiet machine; the CPU-second ratio is
  printed too because it moves less when other processes share the cores.
  """
  import pandas as pd

  table = pd.read_csv(ref / "predictions.csv", nrows=1)
  models = [c for c in table.columns if c not in ("mos", "std")]
  pts = len(pd.read_csv(ref / "samples.csv"))
  print(f"whole `jiqa gmc` process, kadid10k, {pts} points x 3 methods, {dtype} "
        f"(baseline {per_point_method:.2f} s per point and method):")
  for label, cols in (("1 model (DeepWSD)", ["DeepWSD"]), (f"{len(models)} models", models)):
    argv = ["--pred-file", str(ref / "predictions.csv"), "--sample-file", str(ref / "samples.csv"),
            "--pred-cols", ",".join(cols), "--dtype", dtype]
    base = per_point_method * pts * 3 * len(cols)
    base_cpu = cpu_per_point_method * pts * 3 * len(cols)
    cache = pathlib.Path(tempfile.mkdtemp(prefix="jiqa-jax-cache-"))
    try:
      for run in ("first (cold cache)", "second (cached)"):
        wall, cpu, stdout = cli_run(argv, cache)
        inner = stdout.splitlines()[0].split(", ")[-2:]
        print(f"  {label:<18} {run:<19} {wall:6.1f} s wall, {cpu:5.1f} s CPU ({', '.join(inner)})"
              f" | baseline {base:6.0f} s wall, {base_cpu:6.0f} s CPU | {base / wall:4.0f}x wall, "
              f"{base_cpu / cpu:4.0f}x CPU | load {os.getloadavg()[0]:.1f}")
    finally:
      shutil.rmtree(cache, ignore_errors=True)


def synthetic(n, seed=0):
  """kadid-like data: MOS in [1, 5], std ~ 0.75 +- 0.2, a noisy monotone prediction."""
  rng = np.random.default_rng(seed)
  y = np.round(np.clip(rng.normal(3.2, 0.9, n), 1, 5), 2)
  s = np.round(np.clip(rng.normal(0.75, 0.2, n), 0.05, 1.6), 3)
  p = np.tanh(y - 3) + rng.normal(0, 0.3, n)
  return y, s, p


def time_surface(y, s, w, p, pts, dtype, mesh, pair_dtype="float32"):
  from jiqa.gmc import surface

  t0 = time.perf_counter()
  surface.surface(y, {"m": p}, pts, std=s, weights=w, dtype=dtype, mesh=mesh, pair_dtype=pair_dtype)
  return time.perf_counter() - t0


def child_100k():
  import jax

  from jiqa.gmc import surface, weights

  y, s, p = synthetic(100_000)
  with jax.enable_x64(True):
    w = np.asarray(weights.gaussian_weights(y, s))
  pts = np.array([[2.5, 1.0], [3.5, 0.5]])
  t0 = time.perf_counter()
  surface.surface(y, {"m": p}, pts, std=s, weights=w, dtype="float64")
  dt = time.perf_counter() - t0
  # VmHWM is this process image's peak RSS; ru_maxrss would also carry the parent's peak
  # (Linux keeps it across fork + exec, and the numpy baseline above uses several GiB).
  hwm = [l for l in pathlib.Path("/proc/self/status").read_text().splitlines() if l.startswith("VmHWM")]
  rss = (int(hwm[0].split()[1]) if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) / 1024**2
  print(f"N=100000, 2 points, 3 methods, float64, 1 device: {dt:.1f} s, peak RSS {rss:.2f} GiB")


def main():
  ap = argparse.ArgumentParser()
  ap.add_argument("--reference", default=os.environ.get("JIQA_GMC_REFERENCE", REPO.parent / "shared/gmc-reference"))
  ap.add_argument("--baseline-points", type=int, default=2)
  ap.add_argument("--skip-100k", action="store_true")
  ap.add_argument("--child-100k", action="store_true")
  ap.add_argument("--cli-only", action="store_true", help="only the baseline and the CLI runs")
  ap.add_argument("--dtype", default="float64", help="dtype of the CLI runs (its default)")
  ap.add_argument("--reference-impl", default=None,
                  help="folder with the reference implementation's GMC.py, timed beside the baseline")
  ap.add_argument("--reference-python", default=None,
                  help="interpreter for --reference-impl (the reference needs numpy 1.x)")
  args = ap.parse_args()
  if args.child_100k:
    return child_100k()
  import jax
  import pandas as pd

  from jiqa.gmc import weights
  ref = pathlib.Path(args.reference) / "kadid10k"
  table = pd.read_csv(ref / "predictions.csv")
  y, s, p = table["mos"].to_numpy(), table["std"].to_numpy(), table["DeepWSD"].to_numpy()
  w = np.loadtxt(ref / "weights.txt")
  pts = pd.read_csv(ref / "samples.csv")[["Q", "Qd"]].to_numpy()
  k = args.baseline_points
  if args.reference_impl:
    ref_t, base_t, diff, version = reference_side_by_side(
        args.reference_impl, args.reference_python or sys.executable, y, s, w, p, pts, k)
    print(f"reference GMC() (numpy {version}) beside the baseline, {k} points x 3 methods, "
          f"alternating: reference {ref_t[0]:.2f} s wall, {ref_t[1]:.2f} s CPU; baseline "
          f"{base_t[0]:.2f} s wall, {base_t[1]:.2f} s CPU per point and method; values differ by "
          f"at most {diff:.1e}; load average {os.getloadavg()[0]:.1f}")
  per, per_cpu = baseline_seconds(y, s, w, p, pts, k)
  print(f"numpy baseline (reference structure): {per:.2f} s wall, {per_cpu:.2f} s CPU per point and "
        f"method ({k} points x 3 methods timed; the reference takes about 1 s on 2 quiet cores); "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
  cli_benchmark(ref, per, per_cpu, args.dtype)
  if args.cli_only:
    return None
  devices = jax.devices()
  mesh = jax.make_mesh((len(devices),), ("data",)) if len(devices) > 1 else None
  print(f"backend {jax.default_backend()}, {len(devices)} device(s), {os.cpu_count()} CPU cores; "
        f"kadid10k N={len(y)}, model DeepWSD, {len(pts)} points x 3 methods (times include compilation)")
  results = {}
  for dtype, pair_dtype in (("float32", "float32"), ("float64", "float32"), ("float64", "float64")):
    for label, m in (("1 device", None), (f"mesh of {len(devices)}", mesh)):
      if m is None and label != "1 device":
        continue
      key = (f"{dtype} (pairs {pair_dtype})", label)
      results[key] = time_surface(y, s, w, p, pts, dtype, m, pair_dtype)
      print(f"  jiqa {key[0]:<24} {label:<12} {results[key]:8.1f} s")
  base = per * 3 * len(pts)
  print(f"  numpy baseline (reference structure), {k} points x 3 methods timed, scaled to "
        f"{len(pts)}: {base:.0f} s")
  for (dtype, label), t in results.items():
    print(f"  speed-up jiqa {dtype} {label} over numpy baseline: {base / t:.0f}x")
  if jax.default_backend() == "gpu":
    yy, ss, pp = synthetic(23_200)
    with jax.enable_x64(True):
      ww = np.asarray(weights.gaussian_weights(yy, ss))
    q = np.stack([np.linspace(1.2, 4.8, 100), np.linspace(0.1, 3.9, 100)[::-1]], axis=1)
    for dtype in ("float32", "float64"):
      print(f"  GPU N=23200 {dtype}: {time_surface(yy, ss, ww, pp, q, dtype, None):.1f} s")
  else:
    print("  GPU timings: not measured (no GPU on this machine)")
  if not args.skip_100k:
    env = dict(os.environ)
    env.pop("XLA_FLAGS", None)
    out = subprocess.run([sys.executable, __file__, "--child-100k"], capture_output=True, text=True, env=env)
    print("  " + (out.stdout.strip() or out.stderr.strip()[-2000:]))


if __name__ == "__main__":
  main()
