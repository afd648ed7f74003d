"""Speed of the distortion engine: per-op milliseconds per image and composed triplets/s.

  python benchmarks/distortions.py [--ops a,b] [--batch 8] [--triplet-batch 64]
                                   [--repeats 5] [--skip-ops] [--skip-triplets]
                                   [--executors]

Every figure is measured here, batched and jitted, after a warm-up call, with
``block_until_ready``; the median of ``--repeats`` timed calls is reported. On a
GPU backend the same figures are taken on the GPU (``jax.default_backend()``).
No peer figure is printed: ``benchmarks/engine_vs_arniqa.py`` times ARNIQA's
own pipeline beside ``make_triplets`` in one run (interleaved, same photos and
batch). The triplet line times
``make_triplets`` as users call it (``executor="auto"``: per image on CPU,
batched on GPU/TPU); ``--executors`` adds the other executor, timed side by
side (interleaved calls, so the ratio is fair on a noisy machine).

Figures measured with it on the shared 2-core CPU (they used to sit in the
engine's docstrings): ``--executors``, interleaved calls: the per-image executor
made 172.5 against 121.7 triplets/s for the batched one at 256x256, batch 64
(1.42x), and 53.5 against 32.0 at 512x384, batch 32 (1.67x), compiling in
17-20 s instead of 72-73 s. The batched executor's former ``scan_steps=True``
form (one ``lax.scan`` over the steps; removed) made 49.3 against 55.2
triplets/s unrolled at 256x256 batch 64 and 15.4 against 14.6 at 512x384 batch
32, first call 46-49 s against 112-116 s.

Example:
  python benchmarks/distortions.py --ops jpeg,gaussian_blur --skip-triplets
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np

from jiqa import distortions, images

SIZES = ((256, 256), (512, 384))          # (height, width)


def _images(batch, h, w):
  photos = list(images.bundled_images(images.COLOR_PHOTOS[:4]).values())
  out = []
  for i in range(batch):
    p = photos[i % len(photos)]
    reps = (-(-h // p.shape[0]), -(-w // p.shape[1]), 1)
    p = np.tile(p, reps)  # the small photos are tiled up to the size
    out.append(p[:h, :w])
  return jnp.asarray(np.stack(out))


def _time(fn, *args, repeats):
  t0 = time.perf_counter()
  jax.block_until_ready(fn(*args))
  first = time.perf_counter() - t0
  times = []
  for _ in range(repeats):
    t0 = time.perf_counter()
    jax.block_until_ready(fn(*args))
    times.append(time.perf_counter() - t0)
  return statistics.median(times), first


def bench_ops(names, batch, repeats):
  print(f"\nPer-op time, ms per image (batch of {batch}, jit(vmap(op)), median of {repeats}; "
        "level 0.6 (signed ops -0.6)); first-call (compile) seconds in brackets")
  print(f"{'op':24s}" + "".join(f"{f'{h}x{w}':>22s}" for h, w in SIZES))
  totals = {s: [] for s in SIZES}
  for name in names:
    spec = distortions.get(name)
    f = jax.jit(jax.vmap(spec.fn))
    row = f"{name:24s}"
    for h, w in SIZES:
      imgs = _images(batch, h, w)
      keys = jax.random.split(jax.random.key(0), batch)
      lv = jnp.full((batch,), -0.6 if spec.signed_level else 0.6, jnp.float32)
      t, first = _time(f, keys, imgs, lv, repeats=repeats)
      ms = 1000 * t / batch
      totals[(h, w)].append(ms)
      row += f"{ms:12.2f} [{first:6.1f}s]"
    print(row, flush=True)
  print(f"{'mean over ops':24s}" + "".join(f"{np.mean(totals[s]):12.2f}{'':10s}" for s in SIZES))


def bench_triplets(batch_for, repeats, variants):
  """Times ``make_triplets`` for each ``(label, kwargs)`` variant, interleaved call by call."""
  cfg = distortions.EngineConfig()
  print("\nComposed triplets (make_triplets, default config: 1-4 distortions from distinct "
        "groups, 5 % pristine, masks, dense (H, W, 25) maps), batched; variants timed "
        "side by side (interleaved)")
  for (h, w) in SIZES:
    b = batch_for[(h, w)]
    imgs = _images(b, h, w)
    keys = iter(jax.random.split(jax.random.key(1), (repeats + 1) * len(variants)))
    fns, firsts, times = {}, {}, {label: [] for label, _ in variants}
    for label, kwargs in variants:
      fns[label] = functools.partial(distortions.make_triplets, config=cfg, **kwargs)
      t0 = time.perf_counter()
      jax.block_until_ready(fns[label](next(keys), imgs))
      firsts[label] = time.perf_counter() - t0
    for _ in range(repeats):
      for label, _ in variants:
        t0 = time.perf_counter()
        jax.block_until_ready(fns[label](next(keys), imgs))
        times[label].append(time.perf_counter() - t0)
    base = statistics.median(times[variants[0][0]])
    for label, _ in variants:
      t = statistics.median(times[label])
      per_s = b / t
      print(f"  {h}x{w}: batch {b}: {label:28s} {per_s:8.1f} triplets/s ({1000 * t / b:.2f} ms "
            f"each; first call {firsts[label]:.1f} s incl. compile; {base / t:.2f}x the first "
            f"line)",
            flush=True)


def main():
  p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  p.add_argument("--ops", default="", help="comma-separated subset (default: all)")
  p.add_argument("--batch", type=int, default=8, help="batch for the per-op timings")
  p.add_argument("--triplet-batch", type=int, default=64, help="batch at 256x256 (half at 512x384)")
  p.add_argument("--repeats", type=int, default=5)
  p.add_argument("--skip-ops", action="store_true")
  p.add_argument("--skip-triplets", action="store_true")
  p.add_argument("--executors", action="store_true",
                 help="also time the executor(s) that executor='auto' does not pick here")
  p.add_argument("--prng", default=None, help="jax_default_prng_impl, e.g. rbg or unsafe_rbg")
  args = p.parse_args()
  if args.prng:
    jax.config.update("jax_default_prng_impl", args.prng)
  dev = jax.devices()[0]
  print(f"jax {jax.__version__}, backend {jax.default_backend()}, device {dev.device_kind}, "
        f"{os.cpu_count()} CPU cores, PRNG {jax.config.jax_default_prng_impl}")
  if jax.default_backend() == "cpu":
    print("GPU: not measured (no GPU backend present)")
  names = tuple(n for n in args.ops.split(",") if n) or distortions.names()
  if not args.skip_ops:
    bench_ops(names, args.batch, args.repeats)
  if not args.skip_triplets:
    tb = args.triplet_batch
    sizes = {(256, 256): tb, (512, 384): max(1, tb // 2)}
    auto = distortions.execute.resolve_executor("auto")
    variants = [(f"executor=auto ({auto})", {})]
    if args.executors:
      variants += [(f"executor={e}", {"executor": e}) for e in ("per_image", "batched")
                   if e != auto]
    bench_triplets(sizes, args.repeats, variants)

if __name__ == "__main__":
  main()
