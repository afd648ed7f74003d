"""Makes the weights shipped in the package (``jiqa/weights/``) and their model card.

  python -m experiments.make_pretrained [--workdir runs/pretrained] [--out jiqa/weights]
                                        [--config pipeline]

One command, fixed seed (the config's ``seed``, 0): it runs the README's main
job (``jiqa run --out WORKDIR --config CONFIG``: train on the photos bundled
with scikit-image, evaluate on the held-out photos and types) unless WORKDIR
already holds that run's ``report.json``, then exports the trained models as
``config.json`` + ``weights.npz`` (:func:`jiqa.pretrained.export`) and writes
``MODEL_CARD.md`` from the run's report: data, steps, wall time and every
figure of the report. Anyone can regenerate the shipped weights with it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _table(rows: list[list], head: list[str]) -> list[str]:
  out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
  out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
  return out


def _scope(cfg: dict) -> str:
  return "within each tier" if cfg["train"].get("ranking_scope") == "tier" else "over the batch"


def _fmt(v) -> str:
  return f"{v:.3f}" if isinstance(v, float) else "-" if v is None else str(v)


def kadid_yardstick(model, config, *, progress: bool = True) -> dict:
  """The KADID-10k cell yardstick on the run's held-out photos: the model's score beside
  PSNR, SSIM, MS-SSIM, GMSD and the same scorer untrained (its initialisation from
  ``config.seed``, ``"untrained"``: what training added), with the paired differences
  (:func:`jiqa.evaluation.kadid_cells.evaluate`; MOS only compared)."""
  import numpy as np

  from jiqa import distortions, images
  from jiqa.evaluation import kadid_cells, kadid_yardstick as ky
  from jiqa.training import state as state_lib

  photos = images.bundled_images(tuple(config.data.holdout_images))
  predictors = dict(kadid_cells.builtin_predictors())
  predictors["jiqa"] = lambda r, d: np.asarray(model.score(d, r), np.float64)
  untrained = state_lib.initial_models(config, num_types=len(distortions.names())).scorer
  if untrained is not None:
    predictors["untrained"] = ky.scorer_predictor(untrained)
  return kadid_cells.evaluate(photos, predictors, progress=progress,
                              compare_to=(*kadid_cells.builtin_predictors(), "untrained"))


def model_card(report: dict, *, command: str, kadid: dict | None = None) -> str:
  """The model card (markdown) of a run's ``report.json``.

  Example:
    >>> print(model_card(json.load(open("runs/pretrained/report.json")), command="..."))  # doctest: +SKIP
  """
  from jiqa.evaluation import report as report_lib

  cfg, train, ev = report["config"], report.get("train", {}), report["evaluation"]
  lines = ["# jiqa shipped model", "",
           f"Made by `{command}` (seed {cfg['seed']}; config `{cfg.get('task')}`, "
           "the CPU default of `jiqa/configs/pipeline.py`). No human label was used: training "
           "data are the engine's synthetic triplets and tiers on the photos bundled with "
           "scikit-image; KADID-10k's MOS only appears in the evaluation below.", "",
           "## Data and training", ""]
  imgs = train.get("images", {})
  lines += [f"- training photos ({len(imgs.get('train', []))}): "
            f"{', '.join(imgs.get('train', []))}",
            f"- held-out photos (evaluation only): {', '.join(imgs.get('heldout', []))}",
            f"- held-out distortion types: {', '.join(cfg['eval']['holdout_types'])}",
            f"- models: map predictor {cfg['model']['map']}, scorer {cfg['model']['scorer']}",
            f"- steps: {cfg['train']['steps']}, crops {cfg['data']['crop_size']} px, "
            f"batch {cfg['data']['batch_size']} triplets + {cfg['data']['tier_batch_size']} "
            f"{cfg['data'].get('tier_mode', 'mixed')} tiers of {cfg['data']['tier_size']} "
            f"(ranked {_scope(cfg)})"
            + (f" + {cfg['data']['scaled_tier_batch_size']} scaled tiers of "
               f"{cfg['data']['tier_size'] + bool(cfg['data'].get('scaled_pristine'))} "
               f"(weight {cfg['train'].get('scaled_weight', 1.0)})"
               if cfg['data'].get('scaled_tier_batch_size') else ""),
            f"- wall time: {_fmt(report.get('total_seconds'))} s in all "
            f"({_fmt(train.get('seconds_this_call'))} s training in the last call, "
            f"{_fmt(report.get('evaluation_seconds'))} s evaluation), on "
            f"{train.get('devices', '?')} device(s)", "",
           "## Figures on the held-out photos", "", "```",
           report_lib.summary_table(report), "```", ""]
  for split, res in ev.items():
    extra = {k: v for k, v in res.items() if k in ("kadid_cells",) and v}
    for name, block in extra.items():
      lines += [f"### {name} ({split})", "", "```json", json.dumps(block, indent=1)[:4000],
                "```", ""]
  if kadid is not None:
    from experiments import kadid_cells as kadid_cli

    lines += ["## KADID-10k cell yardstick (human MOS, evaluation only)", "",
              "KADID's 125 (type, level) cells applied by the engine to the held-out photos at "
              "512x384; each predictor's cell means against KADID-10k's cell-mean MOS "
              "(`python -m experiments.kadid_cells`). Nothing was fitted to the MOS.", "", "```",
              kadid_cli.tables(kadid), "```", ""]
  lines += ["## Use", "", "```python", "import jiqa", "model = jiqa.load()",
            "model.score(distorted, reference)        # higher is better, 0 = identical",
            "model.maps(reference, distorted).describe()", "```", ""]
  return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
  """Entry point; returns the exit status."""
  p = argparse.ArgumentParser(prog="python -m experiments.make_pretrained",
                              description=__doc__.split("\n\n")[0])
  p.add_argument("--workdir", default=os.path.join(REPO, "runs", "pretrained"))
  p.add_argument("--out", default=None, help="default: the package's jiqa/weights/")
  p.add_argument("--config", default="pipeline")
  p.add_argument("--skip-kadid", action="store_true",
                 help="leave the KADID cell yardstick (about 6 CPU-minutes) out of the card")
  a = p.parse_args(argv)
  from jiqa import pipeline, pretrained
  from jiqa.training import loop, state as state_lib

  out = a.out or pretrained.default_dir()
  report_path = os.path.join(a.workdir, "report.json")
  if not os.path.isfile(report_path):
    rc = pipeline.main(["--out", a.workdir, "--config", a.config])
    if rc:
      return rc
  with open(report_path, encoding="utf-8") as f:
    report = json.load(f)
  config, graphdef, state, _ = loop.restore(a.workdir)
  written = pretrained.export(state_lib.merge(graphdef, state), config, out)
  kadid = None
  if not a.skip_kadid:
    import jiqa

    kadid = kadid_yardstick(jiqa.load(out), config)
    kadid_path = os.path.join(a.workdir, "kadid_cells.json")
    with open(kadid_path, "w", encoding="utf-8") as f:
      json.dump({k: v for k, v in kadid.items() if k != "scores"}, f, indent=1)
    print(f"wrote {kadid_path}")
  card = os.path.join(out, "MODEL_CARD.md")
  with open(card, "w", encoding="utf-8") as f:
    f.write(model_card(report, command=f"python -m experiments.make_pretrained --config "
                       f"{a.config}", kadid=kadid))
  for path in written + [card]:
    print(f"wrote {path} ({os.path.getsize(path) / 1e3:.0f} kB)")
  return 0


if __name__ == "__main__":
  sys.exit(main())
