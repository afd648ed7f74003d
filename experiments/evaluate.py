"""Evaluates a trained run and writes the figures as JSON (plus pictures).

  python -m experiments.evaluate --workdir W [--images DIR] --json OUT [--report_dir D]

Without ``--images`` it uses the run's held-out images; with it, every image of
``DIR``. Figures for the seen and the held-out distortion types: map MAE,
presence and sign accuracy, anti-symmetry error, tier Kendall tau and pairwise
accuracy of the scorer beside PSNR, SSIM, MS-SSIM and GMSD, and GMC of each.
"""

import os

from absl import app
from absl import flags

FLAGS = flags.FLAGS
flags.DEFINE_string("workdir", None, "A training run's folder.")
flags.DEFINE_string("images", None, "Evaluate on every image of this folder instead.")
flags.DEFINE_string("json", None, "Where to write the figures (JSON).")
flags.DEFINE_string("report_dir", None, "Where to write pictures (default: beside --json).")
flags.mark_flags_as_required(["workdir", "json"])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Too many command-line arguments: {argv[1:]}")
  import jax

  from jiqa import outputs
  from jiqa.evaluation import report as report_lib
  from jiqa.training import data, loop

  report_dir = FLAGS.report_dir or os.path.dirname(os.path.abspath(FLAGS.json))
  json_path = os.path.abspath(FLAGS.json)
  try:  # every path, the run and the images checked before the evaluation starts
    report_lib.check_report_dir(report_dir, arg="--report_dir")
    outputs.check_output_file(json_path, flag="--json")
    config, graphdef, state, mesh = loop.restore(FLAGS.workdir)
    if FLAGS.images:
      images = data.load_pool(pool_size=config.data.pool_size, folder=FLAGS.images).train
    else:
      images = loop.load_pool(config).heldout
  except (ValueError, OSError) as e:
    raise app.UsageError(str(e)) from None
  if len(images) == 0:
    raise app.UsageError("No held-out images in this run; pass --images DIR.")
  report = report_lib.write_report(config, graphdef, state, images, report_dir, mesh=mesh,
                                   extra={"workdir": os.path.abspath(FLAGS.workdir),
                                          "step": int(jax.device_get(state["step"]))})
  report_lib.write_json(json_path, report)
  print(report_lib.summary_table(report))


if __name__ == "__main__":
  app.run(main)
