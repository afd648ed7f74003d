"""jiqa's distortion engine beside ARNIQA's PyTorch pipeline, measured in one run.

  python benchmarks/engine_vs_arniqa.py --peer-repo PEER --peer-python PY
      [--repeats 7] [--op-batch 8] [--op-repeats 3] [--threads 2]
      [--sizes 256x256x64,512x384x32] [--devices N] [--layouts dense,steps]
      [--hugepages] [--no-keep-freed-memory] [--skip-plain] [--skip-ops] [--skip-triplets]

``PEER`` is a checkout of ARNIQA (github.com/miccunifi/ARNIQA) and ``PY`` an
interpreter with what its ``utils/distortions.py`` imports: torch and
torchvision (PyPI's default wheels: its JPEG path uses torchvision's codec),
kornia, scipy, Pillow (with OpenJPEG), pyyaml, dotmap, numpy < 2.4 (on numpy
2.4 its ``brighten`` / ``darken`` fail: ``spline()`` writes an array into a
scalar slot). ARNIQA runs in a worker subprocess of ``PY`` (torch set to
``--threads`` threads); jiqa runs in this process. Neither is a dependency of
the other, and this is not a test.

What is timed, both sides on the same photos (scikit-image's bundled colour
photos, resized to the size, written once to a ``.npy`` the worker reads), the
same batch, interleaved call by call (jiqa's call, then ARNIQA's, repeated), so
a load that changes during the run falls on both:

* composed triplets: jiqa's :func:`jiqa.distortions.make_triplets` (default
  config: 1-4 distortions from distinct groups, continuous levels, 5 % pristine,
  spatial masks, maps) against ARNIQA's ``utils.utils_data.distort_images`` (its
  image degradation model: 1-4 distortions from distinct groups, random
  levels), called on each image of the batch in turn (a clone, since some of its
  ops write into their input), at 256x256 (batch 64) and 512x384 (batch 32).
  jiqa is timed in each of these forms, all in the same round:

  - ``plain``: ``make_triplets(key, images)`` with no mesh and the default
    dense ``(B, H, W, 25)`` maps, what a call gets with nothing else set up
    (with ``--devices 1`` the process has one CPU device, JAX's default);
  - with ``--devices N > 1``: the process gets ``N`` CPU devices (XLA's
    ``--xla_force_host_platform_device_count``, set before JAX starts, as
    ``jiqa gmc`` does), and for each layout of ``--layouts`` the batch is split
    over them the way the training loop does it: ``jiqa.training.mesh.make_mesh()``
    (one Auto ``"data"`` axis), the photos placed with ``batch_sharding``, and
    ``make_triplets(..., mesh=mesh, maps=layout)`` under ``jax.set_mesh(mesh)``;
  - with ``--devices 1``, each layout of ``--layouts`` other than ``dense``
    (``"steps"``: the compact map layout, each step's mask, type and value,
    the same maps without writing ``(B, H, W, 25)``; ``dense_maps`` expands it).

  ``--skip-plain`` leaves the plain call out of the rounds: its fresh dense
  ``(B, H, W, 25)`` buffers (420 MB at 256x256, batch 64) change the memory
  state the next call finds, and the mesh form timed right after it ran
  10-25% slower than alone (2026-12-06: 362-412 against 424-443 images/s at
  256x256, 105-130 against 132-140 at 512x384).

  Images/s are the batch over the wall time of one call; the median and the
  min-max over ``--repeats`` calls are printed, and the ratio of the medians.
  By default both processes keep freed memory (:func:`jiqa.hostmem.keep_freed_memory`
  in this one, and in the ARNIQA worker, which loads ``jiqa/hostmem.py`` by
  its path before torch; ``jiqa`` commands make the call too): glibc otherwise returns
  the large buffers XLA:CPU allocates afresh every call to the kernel, and the
  next call faults and zero-fills them again (2026-12-06, 21 calls, 256x256 /
  512x384: jiqa 498 / 175 images/s with it, 482 / 137 without; ARNIQA 102 / 39
  with it, 110 / 35 without). ``--no-keep-freed-memory`` leaves both at glibc's
  defaults.
  ``--hugepages`` runs both sides with ``GLIBC_TUNABLES=glibc.malloc.hugetlb=1``
  (the script starts itself again with it; the ARNIQA worker inherits it):
  glibc then asks for transparent huge pages for its large allocations. On a
  VM, first-touch page faults on the fresh output buffers XLA allocates each
  call are what writing the dense maps mostly costs (a (64, 256, 256, 25)
  float32 fill: 166 ms fresh, 24 ms into a reused buffer, 26-34 ms with the
  tunable, one core, here). It is opt-in: in runs with it (2026-12-06, loaded
  machine) the plain call's times spread widely (e.g. 32-344 images/s at
  256x256), likely the kernel compacting memory for huge pages on a fault. The
  configuration (devices, mesh, layout, the environment of both sides) is
  printed with the figures.
* per op: ms per image of each of jiqa's 25 types (``jit(vmap(op))`` on a batch
  of ``--op-batch``, level 0.6, signed types -0.6: KADID's level 3) and, where
  ARNIQA has the type, of its function on each image at its level 3 (the third
  value of its ``distortion_range``), interleaved op by op.

The worker protocol is one JSON line each way over the worker's stdin/stdout.
The load average (1 min) is printed with every figure: the ratio is fair under
load (both sides see it), the absolute rates are not.

On torch 2.x ARNIQA's ``impulse_noise`` indexes a tensor with a numpy array
where torch wants a tuple (``x[coords_salt]``); a checkout needs the one-line
patch ``x[tuple(coords_salt)] = 1`` / ``x[tuple(coords_pepper)] = 0`` in
``utils/distortions.py``. The script prints the checkout's commit and its
``git diff --stat``, and stops with this advice if the op fails.

Example:
  python benchmarks/engine_vs_arniqa.py --peer-repo /work/peer/ARNIQA \\
      --peer-python /work/peer/venv/bin/python --devices 2 --hugepages
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import jax
import jax.numpy as jnp
import numpy as np

from jiqa import distortions, hostmem, images

SIZES = ((256, 256, 64), (512, 384, 32))          # (height, width, batch)

# jiqa's type -> ARNIQA's name (its ``distortion_functions``); None: ARNIQA has no such op.
# ARNIQA's "quantization" is KADID's #22 (grey-level thresholds applied to every
# channel); it has no colour quantization (#6) and no denoise (#15).
PEER_NAMES = {
    "gaussian_blur": "gaublur", "lens_blur": "lensblur", "motion_blur": "motionblur",
    "color_diffusion": "colordiff", "color_shift": "colorshift", "color_quantization": None,
    "color_saturation_hsv": "colorsat1", "color_saturation_lab": "colorsat2",
    "jpeg2000": "jpeg2000", "jpeg": "jpeg", "white_noise": "whitenoise",
    "white_noise_color": "whitenoiseCC", "impulse_noise": "impulsenoise",
    "multiplicative_noise": "multnoise", "denoise": None, "brighten": "brighten",
    "darken": "darken", "mean_shift": "meanshift", "jitter": "jitter",
    "non_eccentricity_patch": "noneccpatch", "pixelate": "pixelate",
    "quantization": "quantization", "color_block": "colorblock", "high_sharpen": "highsharpen",
    "contrast_change": "lincontrchange",
}
PEER_ONLY = ("nonlincontrchange",)

WORKER = r'''
import importlib.util, json, random, sys, time
threads, top_pad, hostmem_path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
if top_pad >= 0:   # jiqa.hostmem.keep_freed_memory itself (loaded by path: no jax here), before torch
    spec = importlib.util.spec_from_file_location("jiqa_hostmem", hostmem_path)
    hostmem = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hostmem)
    kept = hostmem.keep_freed_memory(top_pad_mib=top_pad)
else:
    kept = False
import numpy as np
import torch
torch.set_num_threads(threads)
sys.path.insert(0, ".")
from utils import utils_data as U   # ARNIQA's own module (run with cwd = the checkout)
batch = None

def reply(obj):
    sys.stdout.write(json.dumps(obj) + "\n"); sys.stdout.flush()

for line in sys.stdin:
    msg = json.loads(line)
    cmd = msg["cmd"]
    if cmd == "versions":
        import PIL, kornia, torchvision
        reply({"torch": torch.__version__, "torchvision": torchvision.__version__,
               "numpy": np.__version__, "kornia": kornia.__version__, "Pillow": PIL.__version__,
               "python": sys.version.split()[0], "threads": torch.get_num_threads(),
               "keeps_freed_memory": kept})
    elif cmd == "load":
        arr = np.load(msg["path"])                           # (N, H, W, 3) float32 in [0, 1]
        batch = torch.from_numpy(np.ascontiguousarray(arr.transpose(0, 3, 1, 2)))
        reply({"shape": list(batch.shape)})
    elif cmd == "compose":                                 # ARNIQA's degradation model
        random.seed(msg["seed"]); np.random.seed(msg["seed"]); torch.manual_seed(msg["seed"])
        t0 = time.perf_counter()
        for img in batch:
            U.distort_images(img.clone())
        reply({"seconds": time.perf_counter() - t0})
    elif cmd == "op":
        fn = U.distortion_functions[msg["name"]]
        value = U.distortion_range[msg["name"]][msg["level_index"]]
        random.seed(0); np.random.seed(0); torch.manual_seed(0)
        try:
            t0 = time.perf_counter()
            for img in batch[:msg.get("count", len(batch))]:
                out = fn(img.clone(), value)
            reply({"seconds": time.perf_counter() - t0, "value": float(value)})
        except Exception as e:                             # reported, not fatal
            reply({"error": f"{type(e).__name__}: {e}"})
    elif cmd == "quit":
        break
'''


class Peer:
  """ARNIQA in a worker subprocess, one JSON line per request."""

  def __init__(self, repo, python, threads, top_pad_mib=-1):
    self.threads = threads
    self._src = tempfile.NamedTemporaryFile("w", suffix="_arniqa_worker.py", delete=False)
    self._src.write(WORKER)
    self._src.close()
    self._proc = subprocess.Popen([python, self._src.name, str(threads), str(top_pad_mib),
                                   hostmem.__file__], cwd=repo,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

  def ask(self, **msg):
    self._proc.stdin.write(json.dumps(msg) + "\n")
    self._proc.stdin.flush()
    line = self._proc.stdout.readline()
    if not line:
      raise RuntimeError("the ARNIQA worker exited (see its error above).")
    return json.loads(line)

  def close(self):
    try:
      self._proc.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
      self._proc.stdin.close()
      self._proc.wait(timeout=30)
    finally:
      os.unlink(self._src.name)


def _photos(h, w, batch):
  """scikit-image's bundled colour photos, resized (bilinear, antialiased) to ``h x w``."""
  from skimage.transform import resize
  photos = [resize(p, (h, w), order=1, anti_aliasing=True).astype(np.float32)
            for p in images.bundled_images(images.COLOR_PHOTOS).values()]
  return np.clip(np.stack([photos[i % len(photos)] for i in range(batch)]), 0.0, 1.0)


def _load():
  return os.getloadavg()[0]


def _git(repo, *args):
  try:
    return subprocess.run(["git", "-C", repo, *args], capture_output=True, text=True,
                          check=True).stdout.strip()
  except (OSError, subprocess.CalledProcessError):
    return "(not a git checkout)"


def _summary(rates):
  return f"{statistics.median(rates):8.1f} /s (min {min(rates):.1f}, max {max(rates):.1f})"


def _variants(devices, layouts, plain=True):
  """``[(label, images -> images placed for it, call(key, images))]`` timed for jiqa."""
  cfg = distortions.EngineConfig()
  out = [("plain (no mesh, dense maps)", lambda x: x,
          lambda k, x: distortions.make_triplets(k, x, config=cfg))] if plain else []
  if devices > 1:
    from jiqa.training import mesh as mesh_lib
    mesh = mesh_lib.make_mesh()
    for layout in layouts:
      def call(k, x, layout=layout):
        with jax.set_mesh(mesh):
          return distortions.make_triplets(k, x, config=cfg, mesh=mesh, maps=layout)
      out.append((f"mesh of {mesh.size} CPU devices, maps={layout!r}",
                  lambda x: jax.device_put(x, mesh_lib.batch_sharding(mesh)), call))
  else:
    for layout in layouts:
      if layout != "dense":
        out.append((f"no mesh, maps={layout!r}", lambda x: x,
                     lambda k, x, layout=layout: distortions.make_triplets(k, x, config=cfg,
                                                                           maps=layout)))
  return out


def bench_triplets(peer, tmp, repeats, devices, layouts, plain=True):
  variants = _variants(devices, layouts, plain)
  print(f"\nComposed triplets, images/s, median (min-max) of {repeats} calls, interleaved call "
        "by call: jiqa make_triplets (default config, masks, maps) in each form below vs ARNIQA "
        "distort_images per image")
  for h, w, b in SIZES:
    path = os.path.join(tmp, f"photos_{h}x{w}.npy")
    np.save(path, _photos(h, w, b))
    peer.ask(cmd="load", path=path)
    placed = [place(jnp.asarray(np.load(path))) for _, place, _ in variants]
    keys = jax.random.split(jax.random.key(1), repeats + 1)
    firsts = []
    for (_, _, call), imgs in zip(variants, placed):
      t0 = time.perf_counter()
      jax.block_until_ready(call(keys[0], imgs))
      firsts.append(time.perf_counter() - t0)
    peer.ask(cmd="compose", seed=0)                              # the peer's warm-up
    ours, theirs, loads = [[] for _ in variants], [], []
    for r in range(repeats):
      loads.append(_load())
      for i, ((_, _, call), imgs) in enumerate(zip(variants, placed)):
        t0 = time.perf_counter()
        jax.block_until_ready(call(keys[r + 1], imgs))
        ours[i].append(b / (time.perf_counter() - t0))
      theirs.append(b / peer.ask(cmd="compose", seed=r + 1)["seconds"])
    if max(loads) > os.cpu_count():
      print(f"  warning: load average above the {os.cpu_count()} cores: torch's {peer.threads} "
            "threads then wait for each other far longer than XLA's do, and the ratio is "
            "inflated; rerun on a quieter machine.")
    print(f"  {h}x{w}, batch {b} (load avg {min(loads):.1f}-{max(loads):.1f}):  ARNIQA "
          f"{_summary(theirs)}", flush=True)
    for (label, _, _), rates, first in zip(variants, ours, firsts):
      ratio = statistics.median(rates) / statistics.median(theirs)
      print(f"    jiqa {label:38s} {_summary(rates)}   ratio {ratio:.2f}x  (per-call ratios "
            f"{min(o / t for o, t in zip(rates, theirs)):.2f}-"
            f"{max(o / t for o, t in zip(rates, theirs)):.2f}; first call {first:.1f} s incl. "
            "compile)", flush=True)


def bench_ops(peer, tmp, batch, repeats):
  print(f"\nPer op, ms per image (batch {batch}, median of {repeats}, interleaved op by op): "
        "jiqa jit(vmap(op)) at level 0.6 (signed types -0.6); ARNIQA's function per image at "
        "its level 3 (the value in brackets)")
  print(f"{'jiqa type':24s}{'ARNIQA':14s}" + "".join(
      f"{f'{h}x{w} jiqa':>14s}{'ARNIQA':>18s}" for h, w, _ in SIZES) + f"{'load':>7s}")
  rows = {name: [] for name in distortions.names()}
  for h, w, _ in SIZES:
    path = os.path.join(tmp, f"ops_{h}x{w}.npy")
    np.save(path, _photos(h, w, batch))
    peer.ask(cmd="load", path=path)
    imgs = jnp.asarray(np.load(path))
    keys = jax.random.split(jax.random.key(0), batch)
    for name in distortions.names():
      spec = distortions.get(name)
      f = jax.jit(jax.vmap(spec.fn))
      lv = jnp.full((batch,), -0.6 if spec.signed_level else 0.6, jnp.float32)
      jax.block_until_ready(f(keys, imgs, lv))
      pname = PEER_NAMES[name]
      if pname:
        peer.ask(cmd="op", name=pname, level_index=2, count=1)    # warm-up
      ours, theirs, value = [], [], None
      for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(f(keys, imgs, lv))
        ours.append(1000 * (time.perf_counter() - t0) / batch)
        if pname:
          res = peer.ask(cmd="op", name=pname, level_index=2)
          if "error" in res:
            raise SystemExit(f"ARNIQA's {pname} failed: {res['error']} (for impulsenoise on "
                             "torch 2.x see the module docstring: x[tuple(coords_salt)]).")
          theirs.append(1000 * res["seconds"] / batch)
          value = res["value"]
      rows[name].append((statistics.median(ours), statistics.median(theirs) if theirs else None,
                         value, _load()))
    for pname in PEER_ONLY:
      res = peer.ask(cmd="op", name=pname, level_index=2, count=1)
      times = [1000 * peer.ask(cmd="op", name=pname, level_index=2)["seconds"] / batch
               for _ in range(repeats)]
      rows.setdefault(pname, []).append((None, statistics.median(times), res["value"], _load()))
  for name, cells in rows.items():
    pname = PEER_NAMES.get(name, name) or "-"
    line = f"{name if name in PEER_NAMES else '(ARNIQA only)':24s}{pname:14s}"
    for ours, theirs, value, _ in cells:
      line += f"{ours:14.2f}" if ours is not None else f"{'-':>14s}"
      line += f"{theirs:10.2f} [{value:5g}]" if theirs is not None else f"{'-':>18s}"
    print(line + f"{max(c[3] for c in cells):7.1f}")


def _set_up_process(devices, hugepages):
  """Sets the CPU device count before JAX starts; restarts with the glibc tunable if asked."""
  if hugepages and "glibc.malloc.hugetlb" not in os.environ.get("GLIBC_TUNABLES", ""):
    env = dict(os.environ)
    env["GLIBC_TUNABLES"] = ":".join(
        s for s in (env.get("GLIBC_TUNABLES", ""), "glibc.malloc.hugetlb=1") if s)
    os.execve(sys.executable, sys.orig_argv, env)      # glibc reads it at start-up only
  if devices < 1:
    raise SystemExit(f"--devices: expected at least 1; got {devices}.")
  flags = os.environ.get("XLA_FLAGS", "")
  if devices > 1 and "xla_force_host_platform_device_count" not in flags:
    os.environ["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count={devices}".strip()


def main():
  p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  p.add_argument("--peer-repo", required=True, help="checkout of miccunifi/ARNIQA")
  p.add_argument("--peer-python", required=True, help="interpreter with torch etc. for it")
  p.add_argument("--repeats", type=int, default=7, help="timed calls per size (triplets)")
  p.add_argument("--op-batch", type=int, default=8)
  p.add_argument("--op-repeats", type=int, default=3)
  p.add_argument("--threads", type=int, default=2, help="torch threads of the ARNIQA worker")
  p.add_argument("--sizes", default="256x256x64,512x384x32",
                 help="comma-separated HxWxBATCH (the batch is for the triplets)")
  p.add_argument("--devices", type=int, default=1,
                 help="CPU devices of the jiqa process (set before JAX starts); above 1 the "
                      "batch is split over them with the training loop's mesh")
  p.add_argument("--layouts", default="dense,steps",
                 help="comma-separated map layouts timed beside the plain call")
  p.add_argument("--steps-layout", action="store_true",
                 help="kept for older commands: 'steps' is in --layouts by default")
  p.add_argument("--hugepages", action="store_true",
                 help="both sides with GLIBC_TUNABLES=glibc.malloc.hugetlb=1 (restarts itself)")
  p.add_argument("--skip-plain", action="store_true",
                 help="time only the --layouts forms, not the plain call: its fresh dense "
                      "(B, H, W, 25) buffers change the memory state the next call finds")
  p.add_argument("--no-keep-freed-memory", action="store_true",
                 help="leave glibc's malloc at its defaults on both sides (by default both "
                      "processes keep freed memory: jiqa.hostmem.keep_freed_memory, which the "
                      "ARNIQA worker loads by its file path)")
  p.add_argument("--skip-ops", action="store_true")
  p.add_argument("--skip-triplets", action="store_true")
  args = p.parse_args()
  _set_up_process(args.devices, args.hugepages)
  layouts = tuple(s for s in args.layouts.split(",") if s)
  if args.steps_layout and "steps" not in layouts:
    layouts += ("steps",)
  if not set(layouts) <= set(distortions.MAP_LAYOUTS):
    raise SystemExit(f"--layouts: expected names from {distortions.MAP_LAYOUTS}; got {layouts}.")
  if args.skip_plain and args.devices == 1 and not set(layouts) - {"dense"}:
    raise SystemExit("--skip-plain: with --devices 1 only layouts other than 'dense' are timed "
                     "besides the plain call; nothing would be left to time.")
  global SIZES
  SIZES = tuple(tuple(int(v) for v in s.split("x")) for s in args.sizes.split(","))
  keep = not args.no_keep_freed_memory and hostmem.keep_freed_memory()
  peer = Peer(args.peer_repo, args.peer_python, args.threads, 256 if keep else -1)
  try:
    v = peer.ask(cmd="versions")
    print(f"jiqa side: jax {jax.__version__}, numpy {np.__version__}, python "
          f"{sys.version.split()[0]}, backend {jax.default_backend()}, {os.cpu_count()} CPU cores")
    print(f"ARNIQA side: commit {_git(args.peer_repo, 'rev-parse', '--short', 'HEAD')}, torch "
          f"{v['torch']} ({v['threads']} threads), torchvision {v['torchvision']}, numpy "
          f"{v['numpy']}, kornia {v['kornia']}, Pillow {v['Pillow']}, python {v['python']}")
    diff = _git(args.peer_repo, "diff", "--stat")
    print("ARNIQA checkout changes (git diff --stat): " + (diff.replace("\n", "; ") or "none"))
    print(f"jiqa process: {jax.device_count()} CPU device(s), XLA_FLAGS="
          f"{os.environ.get('XLA_FLAGS', '')!r}; both sides GLIBC_TUNABLES="
          f"{os.environ.get('GLIBC_TUNABLES', '')!r}")
    if keep != v["keeps_freed_memory"]:
      raise SystemExit(f"keep_freed_memory: {keep} here but {v['keeps_freed_memory']} in the "
                       "ARNIQA worker; the two sides would not be comparable.")
    print("both sides: glibc malloc " + (
        "keeping freed memory (no mmap, trim threshold and top pad 256 MiB: "
        "jiqa.hostmem.keep_freed_memory)" if keep else "at its defaults"))
    print(f"load average at start: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as tmp:
      if not args.skip_triplets:
        bench_triplets(peer, tmp, args.repeats, args.devices, layouts, not args.skip_plain)
      if not args.skip_ops:
        bench_ops(peer, tmp, args.op_batch, args.op_repeats)
  finally:
    peer.close()


if __name__ == "__main__":
  main()
