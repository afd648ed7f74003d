"""Memory estimate of a GMC run, checked before any work so a run never dies half-way.

Two parts of ``jiqa.gmc.evaluate`` grow with the number of sample points K:
the surface holds the (K, N) per-point row factors (and their log) plus the
(4, K, B) weights of a few block rows, and the surface fit's leave-one-out objective holds
(K, K) kernel, difference, design and weighted-design arrays (about 11 K^2
float64 values at its peak) for each method. ``check`` refuses a run whose
estimate exceeds the memory the system reports available, with the estimate in
the message; it is a guard against runs that cannot finish (``--samples
100000`` asked for 149 GiB only after the surface), not an exact account.
"""

from __future__ import annotations

import os

__all__ = ["estimate_bytes", "available_bytes", "check"]

_FIT_ARRAYS = 11  # (K, K) float64 arrays alive at the fit's peak: kernel, 2 diffs, 3 design, 3 weighted, 2 scratch
_SURFACE_ARRAYS = 4  # (K, N) arrays: logits, shifted logits, factors, one temporary


def estimate_bytes(n: int, k: int, models: int, *, block: int = 128, dtype: str = "float64",
                   devices: int = 1) -> dict[str, int]:
  """{"surface", "fit", "peak"} bytes for N images, K points and M models.

  Example:
    >>> e = estimate_bytes(10_125, 100, 1)
    >>> e["peak"] < 2**30
    True
    >>> round(estimate_bytes(10_125, 100_000, 1)["fit"] / 2**30)
    820
  """
  item = 4 if dtype == "float32" else 8
  padded = -(-n // block) * block
  cols = 3 + 5 * models
  # Per device (each holds all K points and deals with its share of the block pairs): the
  # block's pair-value tables (three (B, C, B) temporaries in dtype, one in the pair dtype),
  # three (4, K, B) weight arrays of one loop step and the (K, C) accumulators.
  surface = (_SURFACE_ARRAYS * k * padded * item + devices * (cols * block * block * 4 * item
                                                             + 12 * k * block * item
                                                             + 4 * k * cols * item))
  fit = _FIT_ARRAYS * k * k * 8
  return {"surface": surface, "fit": fit, "peak": max(surface, fit)}


def available_bytes() -> int | None:
  """Memory available to a new allocation (``MemAvailable`` of /proc/meminfo), or None."""
  try:
    with open("/proc/meminfo") as f:
      for line in f:
        if line.startswith("MemAvailable:"):
          return int(line.split()[1]) * 1024
  except (OSError, ValueError, IndexError):
    pass
  try:
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
  except (ValueError, OSError, AttributeError):
    return None


def check(n: int, k: int, models: int, *, block: int = 128, dtype: str = "float64",
          devices: int = 1, available: int | None = None) -> None:
  """Raises ValueError when the run's estimated peak memory exceeds what is available.

  Example:
    >>> check(10_125, 100_000, 1, available=64 * 2**30)
    Traceback (most recent call last):
    ...
    ValueError: 100000 sample points need about 820 GiB (the surface fit's 100000 x 100000 arrays), more than the 64.0 GiB available; use fewer sample points (the reference uses 100).
  """
  est = estimate_bytes(n, k, models, block=block, dtype=dtype, devices=devices)
  available = available_bytes() if available is None else available
  if available is None or est["peak"] <= available:
    return
  what = (f"the surface fit's {k} x {k} arrays" if est["fit"] >= est["surface"]
          else f"the surface's {k} x {n} per-point factors")
  raise ValueError(f"{k} sample points need about {est['peak'] / 2**30:.0f} GiB ({what}), more than "
                   f"the {available / 2**30:.1f} GiB available; use fewer sample points "
                   "(the reference uses 100).")
