"""The report folder of an evaluated run: ``report.json``, GMC surfaces, map pictures,
and a plain-text summary table.

:func:`write_report` evaluates a run (:func:`jiqa.evaluation.evaluate`) and writes

  report.json              every figure, the config and what the caller adds
  surfaces.png / .html     GMC surfaces of the seen types; surfaces_heldout_types.*
  maps.png                 predicted vs true maps (seen types); maps_heldout_types.png

into one folder; with ``config.eval.kadid_cells`` report.json also gets the
KADID-10k cell yardstick of the scorer beside PSNR, SSIM, MS-SSIM, GMSD and the
same scorer untrained (its initialisation, ``"untrained"``) on the held-out
photos (``"kadid_cells"``, timed as ``"kadid_cells_seconds"``;
:func:`jiqa.evaluation.kadid_yardstick.run_yardstick`: the MOS is compared with,
never fitted to), and the summary table its lines. :func:`check_report_dir`
checks, before any work starts, that the folder can take these files, so a long
run never dies at its last line.
``jiqa run`` (:mod:`jiqa.pipeline`) and ``experiments/evaluate.py`` use both.

Example:
  >>> import tempfile
  >>> d = check_report_dir(tempfile.mkdtemp())
  >>> os.path.isdir(d)
  True
  >>> report = write_report(cfg, graphdef, state, pool.heldout, d, mesh=m)  # doctest: +SKIP
  >>> print(summary_table(report))  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import time

REPORT_FILE = "report.json"
# Every file name write_report (and jiqa run around it) may write in the folder.
REPORT_FILES = (REPORT_FILE, "surfaces.png", "surfaces.html", "surfaces_heldout_types.png",
                "surfaces_heldout_types.html", "maps.png", "maps_heldout_types.png")


def check_report_dir(out_dir: str | os.PathLike, *, arg: str = "--out",
                     files: tuple[str, ...] = REPORT_FILES) -> str:
  """Checks ``out_dir`` and the ``files`` to be written there, then creates the folder.

  The checks are :mod:`jiqa.outputs`' (a real write probe): the folder is, or
  can be created as, a writable folder, and none of ``files`` is there as a
  folder or a read-only file.

  Args:
    out_dir: the report folder.
    arg: the name of the argument, for the error message.
    files: the file names that will be written in the folder.

  Returns:
    The absolute path of the folder (created if it was missing).

  Raises:
    ValueError: naming ``arg`` and the problem.

  Example:
    >>> check_report_dir(__file__)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: --out: ... exists and is not a folder.
  """
  from jiqa import outputs

  path = os.path.abspath(outputs.check_output_dir(out_dir, flag=arg))
  try:
    os.makedirs(path, exist_ok=True)
  except OSError as e:
    raise ValueError(f"{arg}: cannot create {path!r} ({e.strerror or e}).") from None
  for name in files:
    outputs.check_output_file(os.path.join(path, name), flag=arg)
  return path


def write_json(path: str | os.PathLike, obj) -> None:
  """Writes ``obj`` as indented JSON, atomically (a temporary file, then a rename)."""
  path = os.fspath(path)
  tmp = f"{path}.tmp"
  with open(tmp, "w", encoding="utf-8") as f:
    json.dump(obj, f, indent=2)
  os.replace(tmp, path)


def write_report(config, graphdef, state, images, out_dir: str | os.PathLike, *, mesh,
                 extra: dict | None = None, progress: bool = True) -> dict:
  """Evaluates, writes report.json, surfaces and map pictures into ``out_dir``; returns the report.

  Args:
    config: the run's config.
    graphdef, state: the run's models (:func:`jiqa.training.restore`).
    images: ``(N, S, S, 3)`` images to evaluate on (e.g. the held-out pool).
    out_dir: the report folder (checked by :func:`check_report_dir` first).
    mesh: the mesh to evaluate under.
    extra: more entries for report.json (placed after ``config``).
    progress: show progress bars.

  Example:
    >>> report = write_report(cfg, graphdef, state, pool.heldout, "out", mesh=m)  # doctest: +SKIP
  """
  import jax

  from jiqa import distortions, evaluation

  out_dir = check_report_dir(out_dir)
  t0 = time.perf_counter()
  with jax.set_mesh(mesh):
    report = evaluation.evaluate(config, graphdef, state, images, mesh=mesh, progress=progress)
  files = evaluation.save_surfaces(report, out_dir)
  for split, res in report.items():
    if "maps" in res.get("_preds", {}):
      stem = "maps" if split == "seen_types" else f"maps_{split}"
      files.append(evaluation.save_maps_png(
          res["_data"], res["_preds"], distortions.names(), os.path.join(out_dir, stem + ".png"),
          num=int(config.eval.num_pictures), title=f"held-out images, {split.replace('_', ' ')}"))
  out = {"config": json.loads(config.to_json()), **(extra or {}),
         "evaluation": evaluation.to_json_ready(report),
         "evaluation_seconds": time.perf_counter() - t0,
         "files": [os.path.basename(f) for f in files]}
  if config.eval.get("kadid_cells", False):  # the human yardstick (MOS compared, never fitted)
    from jiqa.evaluation import kadid_yardstick
    from jiqa.training import state as state_lib

    scorer = state_lib.merge(graphdef, state).scorer
    if scorer is not None:
      t1 = time.perf_counter()
      # The same scorer at its initialisation: what training added, on the same cells.
      untrained = state_lib.initial_models(config, num_types=len(distortions.names())).scorer
      out["kadid_cells"] = kadid_yardstick.run_yardstick(config, scorer, mesh=mesh,
                                                         progress=progress, untrained=untrained)
      out["kadid_cells_seconds"] = time.perf_counter() - t1
  write_json(os.path.join(out_dir, REPORT_FILE), out)
  return out


def _fmt(value, width: int) -> str:
  return f"{'-':>{width}}" if value is None else f"{value:>{width}.3f}"


def map_line(split: str, m: dict) -> str:
  """One line of the map figures of :func:`jiqa.evaluation.maps.map_report`, each beside its baseline.

  Example:
    >>> m = {"type_identification": {"top1": 0.5, "top3": 0.75, "pairs": 8},
    ...      "presence_ap": {"mean_ap": 0.4, "mean_prevalence": 0.1},
    ...      "localisation": {"auc": 0.9, "auc_abs_diff": 0.8},
    ...      "sign": {"accuracy": 1.0, "majority_sign": 0.5, "pairs": 2},
    ...      "strength_spearman": {"signed": 0.6, "magnitude": 0.7, "magnitude_abs_diff": 0.65}}
    >>> print(map_line("seen_types", m))
    maps vs baselines (seen_types): type top-1/top-3 0.500/0.750 (chance 0.04/0.12, 8 pairs), presence AP 0.400 (prevalence 0.100), localisation AUC 0.900 (abs(B - A) 0.800), sign acc 1.000 (majority sign 0.500, 2 pairs), strength Spearman 0.600 signed, 0.700 magnitude (abs(B - A) 0.650)
  """
  f = lambda v: "-" if v is None else f"{v:.3f}"  # noqa: E731
  t, ap, loc = m["type_identification"], m["presence_ap"], m["localisation"]
  sign, st = m["sign"], m["strength_spearman"]
  types = (f"type top-1/top-3 {f(t['top1'])}/{f(t['top3'])} (chance 0.04/0.12, {t['pairs']} "
           f"pairs)")
  if split == "heldout_types":  # never trained: naming them is impossible by construction
    types = f"type top-1 among the 25 {f(t['top1'])} (types never trained)"
  return (f"maps vs baselines ({split}): {types}, presence AP {f(ap['mean_ap'])} (prevalence "
          f"{f(ap['mean_prevalence'])}), localisation AUC {f(loc['auc'])} (abs(B - A) "
          f"{f(loc['auc_abs_diff'])}), sign acc {f(sign['accuracy'])} (majority sign "
          f"{f(sign['majority_sign'])}, {sign['pairs']} pairs), strength Spearman "
          f"{f(st['signed'])} signed, {f(st['magnitude'])} magnitude (abs(B - A) "
          f"{f(st['magnitude_abs_diff'])})")


def summary_table(report: dict) -> str:
  """A plain-text table of the key figures of a report.

  Example:
    >>> ev = {"seen_types": {"tiers": {"psnr": {"pairwise_accuracy": 0.75, "kendall_tau": 0.5}},
    ...                      "gmc": {"psnr": {"SRCC": 0.25}}}}
    >>> print(summary_table({"evaluation": ev}))
    Tier ranking on held-out images (higher is better):
    predictor      seen_types pair-acc    tau GMC-SRCC
    psnr                         0.750  0.500    0.250
  """
  ev = report["evaluation"]
  splits = [s for s in ("seen_types", "heldout_types") if s in ev]
  head = f"{'predictor':<10}" + "".join(
      f"{s + ' pair-acc':>24}{'tau':>7}{'GMC-SRCC':>9}" for s in splits)
  lines = ["Tier ranking on held-out images (higher is better):", head]
  for name in ev[splits[0]]["tiers"]:
    row = f"{name:<10}"
    for s in splits:
      t = ev[s]["tiers"].get(name, {})
      row += _fmt(t.get("pairwise_accuracy"), 24) + _fmt(t.get("kendall_tau"), 7)
      row += _fmt(ev[s].get("gmc", {}).get(name, {}).get("SRCC"), 9)
    lines.append(row)
  if "tiers_scaled" in ev[splits[0]]:
    lines.append("Scaled tiers (one composition at growing strength; PSNR near-perfect by "
                 "construction), pair-acc: " + ", ".join(
                     f"{name} {t['pairwise_accuracy']:.3f}"
                     for name, t in ev[splits[0]]["tiers_scaled"].items()))
  if "nested" in ev[splits[0]]:
    for s in splits:
      nest = ev[s]["nested"]
      pairs = next(iter(nest.values()))["pairs"]
      lines.append(f"Nested pairs ({s}; x above B(x), a further distortion on top: a certain "
                   f"order; {pairs} pairs), acc: " + ", ".join(
                       f"{name} {t['accuracy']:.3f}" for name, t in nest.items()))
      diffs = ev[s].get("nested_differences")
      if diffs:
        lines.append("  scorer minus each (95% paired bootstrap over tiers): " + ", ".join(
            f"{o} {d['difference']:+.3f} [{d['low']:+.3f}, {d['high']:+.3f}]"
            for o, d in diffs.items()))
  for s in splits:
    m = ev[s].get("map")
    if m:
      sign = m["sign_accuracy"]
      lines.append(f"maps ({s}): MAE {m['map_mae']:.4f}, presence acc "
                   f"{m['presence_accuracy_mean']:.3f}, sign acc "
                   f"{'-' if sign is None else f'{sign:.3f}'} ({m['sign_pairs']} pairs), "
                   f"anti-symmetry error {m['antisymmetry_error']:.2e}"
                   + (f" ({m['antisymmetry_checked']} triplets)"
                      if "antisymmetry_checked" in m else ""))
  for s in splits:
    if ev[s].get("maps"):
      lines.append(map_line(s, ev[s]["maps"]))
  if "kadid_cells" in report:
    from jiqa.evaluation import kadid_yardstick

    lines += kadid_yardstick.summary_lines(report["kadid_cells"])
  return "\n".join(lines)
