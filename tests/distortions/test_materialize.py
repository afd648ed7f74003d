"""distortions.materialize: values unchanged, NaN kept, a boundary XLA:CPU keeps, also under vmap."""

import jax
import jax.numpy as jnp
import numpy as np

from jiqa.distortions.materialize import materialize


def test_values_dtypes_and_structure_are_unchanged():
  tree = {"a": jnp.linspace(-1.0, 1.0, 12).reshape(3, 4), "b": (jnp.arange(5), jnp.float32(2.5))}
  out = jax.jit(materialize)(tree)
  assert jax.tree.structure(out) == jax.tree.structure(tree)
  for got, want in zip(jax.tree.leaves(out), jax.tree.leaves(tree)):
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)
  assert materialize(()) == ()


def test_nan_input_gives_nan_output_not_zeros():
  x = jnp.array([jnp.nan, 1.0, 2.0])
  out = jax.jit(materialize)(x)
  assert np.isnan(np.asarray(out)).all()       # the poisoned branch: NaN everywhere, never silent
  y = jnp.array([1.0, jnp.nan])                # a NaN elsewhere passes through as it is
  np.testing.assert_array_equal(np.isnan(np.asarray(jax.jit(materialize)(y))), [False, True])


def test_gradients_and_vmap_pass_through():
  f = lambda x: jnp.sum(materialize(x * x))  # noqa: E731
  x = jnp.arange(4.0)
  np.testing.assert_allclose(jax.grad(f)(x), 2 * np.arange(4.0))
  np.testing.assert_array_equal(jax.vmap(materialize)(jnp.ones((3, 2))), np.ones((3, 2)))


def test_the_compiled_cpu_program_keeps_the_boundary():
  # Without the boundary XLA fuses the exp into both consumers; with it the
  # value is stored once, as the operand of a conditional XLA did not fold away.
  def f(x):
    e = materialize(jnp.exp(x))
    return e[1:] + e[:-1]
  text = jax.jit(f).lower(jnp.ones(64)).compile().as_text()
  assert " conditional(" in text
  plain = jax.jit(lambda x: jax.lax.optimization_barrier(jnp.exp(x))).lower(
      jnp.ones(64)).compile().as_text()
  assert " conditional(" not in plain


def test_under_vmap_nan_stays_per_image_and_passthrough_leaves_no_conditional():
  x = jnp.stack([jnp.array([jnp.nan, 1.0, 2.0]), jnp.array([1.0, 2.0, 3.0]),
                 jnp.array([4.0, jnp.nan, 6.0])])
  for passthrough in (False, True):
    out = np.asarray(jax.jit(jax.vmap(lambda r: materialize(r, vmap_passthrough=passthrough)))(x))
    if not passthrough:
      assert np.isnan(out[0]).all()                     # its own first value is NaN: poisoned
    np.testing.assert_array_equal(out[1], [1.0, 2.0, 3.0])  # the other images are untouched
    np.testing.assert_array_equal(np.isnan(out[2]), [False, True, False])

  def f(x, passthrough):
    e = materialize(jnp.exp(x), vmap_passthrough=passthrough)
    return e[1:] + e[:-1]

  x = jnp.ones((4, 64))
  # Unbatched, both forms store the values (a conditional); batched, the default is a
  # select and the pass-through has neither.
  for passthrough in (False, True):
    text = jax.jit(lambda r: f(r, passthrough)).lower(x[0]).compile().as_text()
    assert " conditional(" in text
  batched = jax.jit(jax.vmap(lambda r: f(r, True))).lower(x).compile().as_text()
  assert " conditional(" not in batched and " select(" not in batched
  np.testing.assert_array_equal(jax.jit(jax.vmap(lambda r: f(r, True)))(x),
                                jax.jit(jax.vmap(lambda r: f(r, False)))(x))
  g = jax.grad(lambda x: jnp.sum(jax.vmap(lambda r: f(r, True))(x) ** 2))(x * 0.1)
  want = jax.grad(lambda x: jnp.sum(jax.vmap(lambda r: jnp.exp(r)[1:] + jnp.exp(r)[:-1])(x) ** 2))(
      x * 0.1)
  np.testing.assert_allclose(g, want, rtol=1e-6)
