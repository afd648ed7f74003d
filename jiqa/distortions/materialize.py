"""``materialize``: store an intermediate once instead of letting XLA:CPU recompute it.

Some ops read an intermediate many times (shifted windows, lifting steps,
gathers). XLA fuses a cheap producer into each consumer and recomputes it
there, which can cost far more than storing it. ``jax.lax.optimization_barrier``
prevents that on GPU and TPU, but XLA:CPU expands the barrier away before
fusion, so on the CPU backend :func:`materialize` passes the values through a
``lax.cond`` (the operands of a conditional are materialised), with a batching
rule so that ``vmap`` keeps one conditional for the batch. Hand-written: no
library offers it.

Example:
  >>> x = materialize(jnp.exp(jnp.arange(3.0)))
  >>> [round(float(v), 3) for v in x]
  [1.0, 2.718, 7.389]
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def materialize(tree, *, under_vmap: bool = True):
  """Returns ``tree``'s values, computed once into memory before their consumers run.

  On the CPU backend the values go through a ``lax.cond``. Its predicate, a
  value ``p`` of the tree compared with itself, is false only if ``p`` is NaN;
  that branch adds ``0 * p`` to every leaf, so NaN input gives NaN output
  either way, and the two branches differ, which stops XLA from folding the
  conditional away. Under ``vmap`` (a batch of images: the batched executor, a
  scaled tier) a plain ``cond`` on the batched predicate would become a
  ``select``, which stores nothing and adds a pass; a batching rule keeps one
  conditional for the whole batch instead, whose predicate is "no image's ``p``
  is NaN" and whose other branch adds each image's own ``0 * p`` to that image
  (an image is poisoned by its own NaN only, as without ``vmap``). Gradients
  pass through unchanged (the identity). Elsewhere than on the CPU it is
  ``jax.lax.optimization_barrier``.

  Args:
    tree: a pytree of arrays.
    under_vmap: static; ``False`` leaves the values to XLA under ``vmap`` (where
      storing a batch of large intermediates can cost more memory traffic than
      recomputing them, e.g. jitter's gather positions; measure both).

  Example:
    >>> image, noise = jnp.full((4, 4, 3), 0.5), jnp.full((4, 4, 3), 0.1)
    >>> noisy = materialize(jnp.clip(image + noise, 0, 1))  # read 25 times below
    >>> round(float(noisy[0, 0, 0]), 6)
    0.6
  """
  if jax.default_backend() != "cpu" or not jax.tree.leaves(tree):
    return jax.lax.optimization_barrier(tree)
  return (_stored if under_vmap else _stored_unbatched)(tree)


def _poison(tree, probe):
  """``leaf + 0 * probe`` for every leaf (NaN everywhere where ``probe`` is NaN)."""
  return jax.tree.map(lambda leaf: leaf + (0 * probe).astype(leaf.dtype), tree)


def _stored_tree(tree):
  """The unbatched form: one conditional whose other branch poisons with ``p``'s NaN."""
  probe = jnp.ravel(jax.tree.leaves(tree)[0])[0]
  return jax.lax.cond(probe == probe, lambda t: t, lambda t: _poison(t, probe), tree)


def _one_conditional(axis_size, in_batched, tree):
  """Batching rule: one conditional for the batch (leading axis ``axis_size``)."""
  leaves, treedef = jax.tree.flatten(tree)
  flags = jax.tree.leaves(in_batched)
  leaves = [x if b else jnp.broadcast_to(x, (axis_size,) + jnp.shape(x))
            for x, b in zip(leaves, flags)]
  probes = leaves[flags.index(True)].reshape(axis_size, -1)[:, 0]   # each image's p

  def poisoned(ls):
    return [x + (0 * probes).reshape((axis_size,) + (1,) * (x.ndim - 1)).astype(x.dtype)
            for x in ls]

  out = jax.lax.cond(jnp.all(probes == probes), lambda ls: list(ls), poisoned, leaves)
  return jax.tree.unflatten(treedef, out), jax.tree.unflatten(treedef, [True] * len(out))


def _as_is(axis_size, in_batched, tree):
  """Batching rule for ``under_vmap=False``: the values as they are (XLA may fuse them)."""
  del axis_size
  return tree, in_batched[0]


def _identity(batching_rule):
  """The identity on pytrees, stored by a conditional; ``batching_rule`` under ``vmap``,
  and tangents passed through unchanged (``custom_vmap`` has no autodiff of its own)."""
  batchable = jax.custom_batching.custom_vmap(_stored_tree)
  batchable.def_vmap(batching_rule)

  @jax.custom_jvp
  def stored(tree):
    return batchable(tree)

  @stored.defjvp
  def _jvp(primals, tangents):
    return stored(primals[0]), tangents[0]

  return stored


_stored = _identity(_one_conditional)
_stored_unbatched = _identity(_as_is)
