"""Training: meshes and shardings, image pool, train state, jitted steps, loop,
orbax checkpoints and metric writers.

Example:
  >>> from jiqa import training
  >>> result = training.train_and_evaluate(config, "/tmp/run")  # doctest: +SKIP
"""

from jiqa.training.checkpoints import Checkpointer
from jiqa.training.data import ImagePool, example_keys, load_pool, random_crop, random_crops
from jiqa.training.loop import TrainResult, load_config, restore, train_and_evaluate
from jiqa.training.mesh import (batch_sharding, initialize_distributed, make_mesh, replicate,
                                replicated)
from jiqa.training.state import (Models, build_models, create, initial_models, make_optimizer,
                                 merge)
from jiqa.training.steps import (engine_config, make_batch, make_eval_step, make_train_step,
                                 train_step)
from jiqa.training.writers import MetricWriter, read_jsonl

__all__ = [
    "Checkpointer", "ImagePool", "MetricWriter", "Models", "TrainResult", "batch_sharding",
    "build_models", "create", "engine_config", "example_keys", "initial_models",
    "initialize_distributed",
    "load_config", "load_pool", "make_batch", "make_eval_step", "make_mesh", "make_optimizer",
    "make_train_step", "merge", "random_crop", "random_crops", "read_jsonl", "replicate",
    "replicated", "restore", "train_and_evaluate", "train_step",
]
