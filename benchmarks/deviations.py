"""Cost of the displacement-tolerant deviations against the pixel-aligned ones, side by side.

  python benchmarks/deviations.py [--repeats 5]

Times :func:`jiqa.models.deviations.deviation_features` with ``tolerance=0``
and ``tolerance=1`` (block matching of both orderings, then the deviations of
each: :mod:`jiqa.models.registration`), jitted, after one warm-up call each,
alternating the two so that both see the same machine load, on the shapes the
main job and the KADID yardstick use: training tiers (64 images of 64x64), the
report's held-out tiers (40 of 176x176) and one KADID type's five cells at
384x512. Prints ms per call and the ratio tolerant / aligned (the figure to
compare across machines; absolute times on a shared machine are noisy).
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import jax  # noqa: E402
import numpy as np  # noqa: E402

from jiqa.models import deviations  # noqa: E402

SHAPES = {"training tiers, 64 x 64x64": (64, 64, 64), "held-out tiers, 40 x 176x176": (40, 176, 176),
          "KADID cells, 5 x 384x512": (5, 384, 512)}


def main():
  p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  p.add_argument("--repeats", type=int, default=5)
  a = p.parse_args()
  if a.repeats < 1:
    p.error(f"--repeats: expected >= 1; got {a.repeats}.")
  print(f"backend {jax.default_backend()}, {jax.device_count()} device(s)")
  print(f"{'shape':32s} {'aligned ms':>11s} {'tolerant ms':>12s} {'ratio':>6s}")
  rng = np.random.default_rng(0)
  for name, (n, h, w) in SHAPES.items():
    a_img = rng.uniform(size=(n, h, w, 3)).astype(np.float32)
    b_img = np.clip(a_img + rng.normal(0, 0.05, a_img.shape), 0, 1).astype(np.float32)
    fns = {t: jax.jit(lambda x, y, t=t: deviations.deviation_features(x, y, tolerance=t))
           for t in (0, 1)}
    for f in fns.values():
      jax.block_until_ready(f(a_img, b_img))
    times = {0: [], 1: []}
    for _ in range(a.repeats):
      for t, f in fns.items():
        t0 = time.perf_counter()
        jax.block_until_ready(f(a_img, b_img))
        times[t].append(time.perf_counter() - t0)
    ms = {t: 1e3 * float(np.median(v)) for t, v in times.items()}
    print(f"{name:32s} {ms[0]:11.1f} {ms[1]:12.1f} {ms[1] / ms[0]:6.2f}", flush=True)


if __name__ == "__main__":
  main()
