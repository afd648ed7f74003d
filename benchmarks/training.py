"""Training throughput and the share of step time spent generating triplets/tiers.

  python benchmarks/training.py [--config pipeline:full | FILE.py:arg] [--steps 5] [--crop N]

On whatever backend is present (all its devices), times the jitted train step
and, separately, the jitted data generation alone (random crops + the engine's
make_triplets / make_tiers, the same code the step runs), after one warm-up
call each. Prints images per second (triplet pairs + tier images per step) and
generation time / step time, and per step the process's minor page faults and
CPU time (user and system): freshly faulted pages are what a memory allocator
that hands memory back to the kernel costs. ``--crop`` and ``--batch`` shrink
the full config for a CPU try. Timings taken while other work runs are noisy.

Scorer forms compared (measured earlier, quoted here from jiqa.models.scorer's
former docstring, not re-run by this script): on the same 64x64 mixed tiers (22
types, 400 steps, batch-wide pairwise loss), held-out pairwise accuracy was
0.876 for the reference-anchored stats scorer (the default then), 0.665 for
the anti-symmetric stats scorer and 0.571 for the U-Net encoder scorer (PSNR
0.738, SSIM 0.770 on those tiers).
"""

import argparse
import os
import resource
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import jax  # noqa: E402

from jiqa import hostmem, pipeline  # noqa: E402
from jiqa.training import loop, mesh as mesh_lib, steps  # noqa: E402


def timed(fn, *args, n):
  out = fn(*args)
  jax.block_until_ready(out)
  t0 = time.perf_counter()
  for _ in range(n):
    out = fn(*args)
  jax.block_until_ready(out)
  return (time.perf_counter() - t0) / n, out


def main():
  p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  p.add_argument("--config", default="pipeline:full")
  p.add_argument("--steps", type=int, default=5)
  p.add_argument("--crop", type=int, default=None, help="override data.crop_size")
  p.add_argument("--batch", type=int, default=None, help="override both batch sizes")
  p.add_argument("--glibc_defaults", action="store_true",
                 help="leave glibc's malloc as it is (by default it keeps freed memory, "
                      "jiqa.hostmem.keep_freed_memory, as the jiqa command does)")
  a = p.parse_args()
  if not a.glibc_defaults:
    hostmem.keep_freed_memory()
  if a.steps < 1:
    p.error(f"--steps: expected >= 1; got {a.steps}.")
  for name in ("crop", "batch"):
    if getattr(a, name) is not None and getattr(a, name) < 1:
      p.error(f"--{name}: expected >= 1; got {getattr(a, name)}.")
  try:
    c = pipeline.load_config_file(a.config)
  except ValueError as e:
    p.error(f"--config: {e}")
  if a.crop:
    c.data.crop_size = a.crop
  if a.batch:
    c.data.batch_size = c.data.tier_batch_size = a.batch
  m = mesh_lib.make_mesh()
  pool = loop.load_pool(c)
  with jax.set_mesh(m):
    graphdef, state, engine, tx = loop.setup(c, m)
    pool_dev = mesh_lib.replicate(pool.train, m)
    key = mesh_lib.replicate(jax.random.key(0), m)
    sizes = steps.batch_sizes(c)
    gen = jax.jit(lambda k, p: steps.make_batch(k, p, engine=engine, mesh=m, **sizes))
    step = steps.make_train_step(graphdef, c, engine, tx, mesh=m)
    t_gen, _ = timed(gen, key, pool_dev, n=a.steps)
    state, _ = step(state, pool_dev, key)  # warm-up (state is donated)
    jax.block_until_ready(state)
    r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    for _ in range(a.steps):
      state, metrics = step(state, pool_dev, key)
    jax.block_until_ready(state)
    t_step = (time.perf_counter() - t0) / a.steps
    r1 = resource.getrusage(resource.RUSAGE_SELF)
  per_step = (c.data.batch_size if c.task != "scorer" else 0) + (
      c.data.tier_batch_size * c.data.tier_size if c.task != "map" else 0)
  print(f"backend {jax.default_backend()} x{m.size} | config {a.config} crop {c.data.crop_size} "
        f"batch {c.data.batch_size}/{c.data.tier_batch_size}x{c.data.tier_size}")
  print(f"step {t_step * 1e3:.1f} ms | data generation {t_gen * 1e3:.1f} ms | "
        f"generation share {100 * t_gen / t_step:.1f}% | {per_step / t_step:.1f} images/s")
  print(f"per step: {(r1.ru_minflt - r0.ru_minflt) / a.steps:.0f} minor page faults, CPU "
        f"{(r1.ru_utime - r0.ru_utime) / a.steps * 1e3:.0f} ms user + "
        f"{(r1.ru_stime - r0.ru_stime) / a.steps * 1e3:.0f} ms system (the process's, "
        f"every thread)")


if __name__ == "__main__":
  main()
