"""jiqa.hostmem: freed memory stays resident after keep_freed_memory (measured in subprocesses)."""

import subprocess
import sys

import pytest

from jiqa import hostmem

# Allocates one block of 80 MiB (above any mmap threshold glibc allows) and 24 of
# 4 MiB with libc's malloc, touches them, frees them, and prints how much of the
# 176 MiB is still resident (RSS after the frees minus before).
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
blocks = [libc.malloc(80 << 20)] + [libc.malloc(4 << 20) for _ in range(24)]
for b, n in zip(blocks, [80] + [4] * 24):
    ctypes.memset(b, 1, n << 20)
for b in reversed(blocks):
    libc.free(b)
print(ok, rss_mib() - before)
'''


def _retained(mode):
  out = subprocess.run([sys.executable, "-c", _PROBE, mode], capture_output=True, text=True,
                       check=True).stdout.split()
  return out[0], float(out[1])


@pytest.mark.skipif(not sys.platform.startswith("linux") or hostmem._libc() is None,
                    reason="glibc's mallopt")
def test_freed_blocks_stay_resident_only_with_keep_freed_memory():
  ok, kept = _retained("keep")
  assert ok == "True"
  assert kept > 150           # the 176 MiB are kept for the next allocations
  _, default = _retained("default")
  assert default < 40         # glibc's default gives them back


def test_bad_top_pad_raises():
  for bad in (-1, 2048, 1.5, True, "256"):
    with pytest.raises(ValueError, match="top_pad_mib"):
      hostmem.keep_freed_memory(top_pad_mib=bad)


def test_the_command_line_keeps_freed_memory_except_for_gmc(monkeypatch, capsys):
  from jiqa import cli
  calls = []
  monkeypatch.setattr(hostmem, "keep_freed_memory", lambda **kw: calls.append(kw) or True)
  for cmd in ("run", "gallery", "gmc"):
    with pytest.raises(SystemExit):
      cli.main([cmd, "--help"])
  capsys.readouterr()
  assert len(calls) == 2        # run and gallery, not gmc (numpy on small matrices)
