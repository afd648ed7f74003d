"""``jiqa score``: score folders of image pairs, matched by file name, into a CSV.

  jiqa score --reference-dir REF --distorted-dir DIST --csv OUT.csv [--model DIR]

Every image file of DIST is paired with the file of REF that has the same name
or, failing that, the same stem (``a.png`` with ``a.jpg``). Each pair gets a row
``name, reference, score, psnr, ssim, top_type, error``. A file that cannot be
read, or whose size differs from its reference, or that has no reference, is
reported in the ``error`` column (and on stderr) and the rest go on; the exit
status is 1 if any row failed, 0 otherwise. Progress is shown on stderr.

Example:
  $ jiqa score --reference-dir refs/ --distorted-dir outputs/ --csv scores.csv
"""

from __future__ import annotations

import argparse
import csv
import os
import sys

from jiqa import outputs

COLUMNS = ("name", "reference", "score", "psnr", "ssim", "top_type", "error")


def match_pairs(reference_dir: str, distorted_dir: str) -> list[tuple[str, str | None]]:
  """``(distorted file, reference file or None)`` for every image file of ``distorted_dir``.

  Raises:
    ValueError: if a folder does not exist or ``distorted_dir`` holds no image file.

  Example:
    >>> match_pairs("refs", "outs")  # doctest: +SKIP
    [('a.jpg', 'a.png'), ('b.png', None)]
  """
  from jiqa import images

  for flag, d in (("--reference-dir", reference_dir), ("--distorted-dir", distorted_dir)):
    if not os.path.isdir(d):
      raise ValueError(f"{flag}: {d!r} is not a folder.")

  def listing(d):
    return sorted(f for f in os.listdir(d)
                  if f.lower().endswith(images.IMAGE_SUFFIXES) and not f.startswith("."))

  refs = listing(reference_dir)
  by_stem = {}
  for f in refs:
    by_stem.setdefault(os.path.splitext(f)[0], f)
  dists = listing(distorted_dir)
  if not dists:
    raise ValueError(f"--distorted-dir: {distorted_dir!r} holds no image files "
                     f"({', '.join(images.IMAGE_SUFFIXES)}).")
  ref_set = set(refs)
  return [(f, f if f in ref_set else by_stem.get(os.path.splitext(f)[0])) for f in dists]


def score_pair(model, ref_path: str, dist_path: str) -> dict:
  """One row of the CSV for a pair of files; errors raise ``ValueError``/``OSError``."""
  from jiqa import images, metrics

  ref = images.load_image(ref_path)
  dist = images.load_image(dist_path)
  if ref.shape != dist.shape:
    raise ValueError(f"size {dist.shape[0]}x{dist.shape[1]} differs from the reference's "
                     f"{ref.shape[0]}x{ref.shape[1]}")
  row = {"score": model.score(dist, ref) if model.has_scorer else "",
         "psnr": float(metrics.psnr(dist, ref)), "ssim": float(metrics.ssim(dist, ref))}
  if model.has_maps:
    found = model.maps(ref, dist).findings
    row["top_type"] = found[0]["type"] if found else ""
  return row


def main(argv: list[str] | None = None) -> int:
  """Entry point of ``jiqa score``; returns the exit status."""
  parser = argparse.ArgumentParser(prog="jiqa score", description=__doc__.split("\n\n")[0])
  parser.add_argument("--reference-dir", required=True, help="folder of pristine images")
  parser.add_argument("--distorted-dir", required=True, help="folder of images to score")
  parser.add_argument("--csv", required=True, help="the CSV file to write")
  parser.add_argument("--model", default=None,
                      help="a run folder or exported weights (default: the shipped weights)")
  parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
  args = parser.parse_args(sys.argv[1:] if argv is None else argv)
  try:
    outputs.check_output_file(args.csv, flag="--csv", suffix=".csv")
    pairs = match_pairs(args.reference_dir, args.distorted_dir)
    from jiqa import api

    model = api.load(args.model)
  except (ValueError, OSError) as e:
    print(f"jiqa score: error: {e}", file=sys.stderr)
    return 2
  from tqdm import tqdm

  failed = 0
  with open(args.csv, "w", newline="", encoding="utf-8") as f:
    writer = csv.DictWriter(f, fieldnames=COLUMNS)
    writer.writeheader()
    for name, ref in tqdm(pairs, desc="jiqa score", unit="pair", disable=args.no_progress):
      row = {"name": name, "reference": ref or ""}
      try:
        if ref is None:
          raise ValueError("no reference with this name or stem")
        row.update(score_pair(model, os.path.join(args.reference_dir, ref),
                              os.path.join(args.distorted_dir, name)))
      except (ValueError, OSError) as e:
        failed += 1
        row["error"] = str(e).replace("\n", " ")
        print(f"jiqa score: {name}: {row['error']}", file=sys.stderr)
      writer.writerow(row)
      f.flush()
  print(f"wrote {args.csv}: {len(pairs) - failed} scored, {failed} failed")
  return 1 if failed else 0


if __name__ == "__main__":
  sys.exit(main())
