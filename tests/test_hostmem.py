"""jiqa.hostmem: freed memory stays resident after keep_freed_memory (measured in subprocesses)."""

import subprocess
import sys

import pytest

from jiqa import hostmem

# Allocates 24 blocks of 4 MiB with libc's malloc, touches them, frees them, and
# prints how much of the 96 MiB is still resident (RSS after the frees minus before);
# then the same for one block of 80 MiB (above any mmap threshold glibc allows).
_PROBE = r'''
import ctypes, ctypes.util, sys
from jiqa import hostmem
ok = hostmem.keep_freed_memory() if sys.argv[1] == "keep" else None
libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
def rss_mib():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
before = rss_mib()
blocks = [libc.malloc(4 << 20) for _ in range(24)]
for b in blocks:
    ctypes.memset(b, 1, 4 << 20)
for b in reversed(blocks):
    libc.free(b)
small = rss_mib() - before
before = rss_mib()
big = libc.malloc(80 << 20)
ctypes.memset(big, 1, 80 << 20)
libc.free(big)
print(ok, small, rss_mib() - before)
'''


def _retained(mode):
  out = subprocess.run([sys.executable, "-c", _PROBE, mode], capture_output=True, text=True,
                       check=True).stdout.split()
  return out[0], float(out[1]), float(out[2])


@pytest.mark.skipif(not sys.platform.startswith("linux") or hostmem._libc() is None,
                    reason="glibc's mallopt")
def test_freed_blocks_stay_resident_only_with_keep_freed_memory():
  ok, kept, kept_big = _retained("keep")
  assert ok == "True"
  assert kept > 64 and kept_big > 64      # most of the 96 and the 80 MiB are kept for reuse
  _, default, default_big = _retained("default")
  assert default < 32 and default_big < 16  # glibc's default gives them back


def test_bad_top_pad_raises():
  for bad in (-1, 2048, 1.5, True, "256"):
    with pytest.raises(ValueError, match="top_pad_mib"):
      hostmem.keep_freed_memory(top_pad_mib=bad)
