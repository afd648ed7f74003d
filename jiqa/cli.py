"""The ``jiqa`` command line: one subcommand per job, each defined in its own module.

  jiqa gmc ...       Granularity-Modulated Correlation of IQA predictions (jiqa.gmc.cli)
  jiqa gallery ...   every distortion at its five KADID levels (jiqa.gallery)
  jiqa run ...       train and evaluate the relational pipeline (jiqa.pipeline)
  jiqa compare ...   score one image pair and say which distortions it holds (jiqa.compare)
  jiqa score ...     score folders of image pairs matched by file name (jiqa.score_folders)
  jiqa --version     the installed version

Each subcommand module exposes ``main(argv: list[str]) -> int``.
"""

from __future__ import annotations

import importlib
import os
import sys

_COMMANDS = {
    "gmc": ("jiqa.gmc.cli", "Granularity-Modulated Correlation surfaces and scores."),
    "gallery": ("jiqa.gallery", "Picture of every distortion at its five levels."),
    "run": ("jiqa.pipeline", "Train and evaluate the relational pipeline, write a report."),
    "compare": ("jiqa.compare", "Score one image pair; name its distortions, where and how strong."),
    "score": ("jiqa.score_folders", "Score folders of image pairs (matched by file name) to CSV."),
}


def _usage() -> str:
  lines = ["usage: jiqa [--version] COMMAND [options]", "", "commands:"]
  lines += [f"  {name:<9} {doc}" for name, (_, doc) in _COMMANDS.items()]
  lines += ["", "Run 'jiqa COMMAND --help' for a command's options."]
  return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
  argv = sys.argv[1:] if argv is None else list(argv)
  if not argv or argv[0] in ("-h", "--help"):
    print(_usage())
    return 0 if argv else 2
  if argv[0] in ("-V", "--version"):
    from jiqa import __version__
    print(f"jiqa {__version__}")
    return 0
  cmd, rest = argv[0], argv[1:]
  if cmd not in _COMMANDS:
    print(f"jiqa: unknown command {cmd!r}.\n\n{_usage()}", file=sys.stderr)
    return 2
  if cmd == "gmc":
    # GMC's numpy work is on 100 x 100 matrices, where a multi-threaded BLAS only costs: the
    # surface fit took 0.3-0.4 s a method with OpenBLAS's threads against 0.04 s with one, on
    # the 2-core machine beside other jobs. Read when numpy loads, so set before the import.
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
      os.environ.setdefault(var, "1")
  else:
    # XLA:CPU allocates each call's buffers afresh: keep freed memory in the process
    # instead of faulting new pages in every call (see jiqa.hostmem; numerics unchanged).
    from jiqa import hostmem
    hostmem.keep_freed_memory()
  module = importlib.import_module(_COMMANDS[cmd][0])
  return int(module.main(rest) or 0)


if __name__ == "__main__":
  sys.exit(main())
