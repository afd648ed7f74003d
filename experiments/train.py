"""Trains a jiqa model from an ml-collections config.

  python -m experiments.train --config configs/pipeline.py[:smoke|:full] --workdir W

Resumes from the newest checkpoint in ``W``. On a TPU pod run the same command
on every worker (``--multihost`` calls ``jax.distributed.initialize``).
"""

from absl import app
from absl import flags
from ml_collections import config_flags

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file("config", None, "Training config file[:arg].", lock_config=True)
flags.DEFINE_string("workdir", None, "Folder for checkpoints, metrics and TensorBoard.")
flags.DEFINE_string("images", None, "A folder of images instead of the bundled photos.")
flags.DEFINE_bool("multihost", False, "Call jax.distributed.initialize() first (TPU pods).")
flags.mark_flags_as_required(["config", "workdir"])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Too many command-line arguments: {argv[1:]}")
  from jiqa.training import loop, mesh

  if FLAGS.multihost:
    mesh.initialize_distributed()
  try:
    result = loop.train_and_evaluate(FLAGS.config, FLAGS.workdir, images=FLAGS.images)
  except ValueError as e:  # a bad config, workdir or image folder: found before any step
    raise app.UsageError(str(e)) from None
  last = [r for r in result.history if r["split"] == "train"][-1:]
  print(f"trained to step {int(result.state['step'])} in {result.seconds:.1f} s; "
        f"last metrics: {last[0] if last else '-'}")


if __name__ == "__main__":
  app.run(main)
