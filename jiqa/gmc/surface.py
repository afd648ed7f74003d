"""GMC granularity modulator: weighted PLCC/SRCC/KRCC at (Q, Qd) sample points.

For a sample point (Q, Qd) every unordered pair i < j gets the weight
``w_i a_i(Q) w_j a_j(Q) exp(-(Qd - |y_i - y_j|)^2 / (2 (s_i^2 + s_j^2)))`` with
``a_i(Q) = exp(-(Q - y_i)^2 / (2 s_i^2))`` (y = MOS, s = std * std_scale,
w = regulator weights). PLCC is ``sum W dy dp / sqrt(sum W dy^2 sum W dp^2)``
over pair differences, SRCC the same on dense ranks, KRCC
``sum W sign(dy) sign(dp) / sum W`` (arXiv 2601.21738).

How it is computed (hand-written: no library evaluates pairwise kernel sums):
the pair weights do not depend on the predictions, so the N x N pair matrix is
cut into B x B blocks and only blocks on or above the diagonal are visited (a
``lax.scan`` over block pairs, strict upper triangle inside diagonal blocks);
with several devices (one per CPU core, or GPUs) the block pairs are dealt out
among them and each device computes all K points for its share. For each block
pair the pair values of all models and methods, a (B, C, B) array, are built in
one elementwise pass from two (C, N) tables (value c of pair (i, j) is
``(a_i - a_j)(b_i - b_j)``, or the product of the signs, or 1). Then R rows of the
block at a time (R K <= 512: 4 rows for 100 points) get the weights of all K
points, an (R, K, B) array (one exp per point and pair), contracted with those
rows' values in a batched matrix product; the row factors ``w_i a_i`` multiply the
(R, K, C) products and the sum over the rows is added to the accumulators with Kahan
compensation.

Precision (``pair_dtype``): by default the pair weights' exponentials, the pair
values and the within-row products over B pairs are float32 (relative error about
1e-7 per weight), while the row factors, the row sums and the accumulators are in
``dtype`` (float64 by default). Since every correlation is a ratio of weighted sums,
the per-weight rounding moves the correlations by about 1e-8: at most 1.5e-8 from the
published kadid10k (6 models) and livec (7 models) surfaces, which the tests check at
1e-6. XLA:CPU's float64 exponential is the bottleneck: the same kernel with float64
pair weights took 3.3x longer per pair and point (benchmarks/gmc.py).
``pair_dtype="float64"`` computes everything in float64 (agreement ~1e-11).
Per point, ``log(w_i a_i)`` is shifted by its maximum so no weight exceeds 1 (no
overflow; the common factor cancels in every ratio). Memory is O(C B^2 + K B + K N)
per device, independent of N^2.

The differentiable ``plcc_surface`` keeps a simpler row-by-row loop in the caller's
dtype (one (K, B) weight row per step), so that gradients are exact.

Rows with std 0: the Gaussian ``a_i`` tends to 0 for Q != y_i, so such rows
contribute nothing (their limit; the reference's published values behave so),
and 1 when Q == y_i exactly. Pair variances are clamped at 1e-30 so a pair of
two std-0 rows gives weight 0 instead of NaN.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import PartitionSpec as P

__all__ = ["METHODS", "pair_sums", "correlations_from_sums", "surface", "plcc_surface"]

METHODS = ("PLCC", "SRCC", "KRCC")
_BASE = 3  # columns: sum W, sum W dy^2, sum W dr^2
_PER_MODEL = 5  # columns: dy dp, dp^2, dr dq, dq^2, sign(dr) sign(dq)


def _log_row_factors(points: jax.Array, y: jax.Array, s: jax.Array, w: jax.Array) -> jax.Array:
  """(K, N) log(w_i a_i(Q_k)) shifted so that each point's maximum is 0."""
  q = points[:, :1]
  s2 = jnp.where(s > 0, s * s, 1.0)
  gauss = -((q - y[None, :]) ** 2) / (2.0 * s2[None, :])
  zero_std = jnp.where(q == y[None, :], 0.0, -jnp.inf)
  log_a = jnp.where(s[None, :] > 0, gauss, zero_std)
  log_w = jnp.where(w > 0, jnp.log(jnp.where(w > 0, w, 1.0)), -jnp.inf)
  logits = log_a + log_w[None, :]
  return logits - jnp.max(logits, axis=1, keepdims=True)


def _kahan(carry, step):
  """Kahan-compensated ``total + step`` of a (total, compensation) pair."""
  total, comp = carry
  step = step - comp
  new = total + step
  return new, (new - total) - step


def _tile(carry, factors, qd, y, s2, preds, ry, rp, i, j, valid, *, block):
  """Kahan-add the (K, C) weighted pair sums of block pair (i, j) to carry, row by row.

  The differentiable path of ``plcc_surface``, in the inputs' dtype: the block's pair values
  (C, B, B) are built once, then the (K, B) weights of one row of block i at a time are
  contracted with that row's (C, B) values.
  """
  sl = lambda a, b: jax.lax.dynamic_slice_in_dim(a, b * block, block, axis=-1)
  yi, yj = sl(y, i), sl(y, j)
  dy = yi[:, None] - yj[None, :]
  dist = jnp.abs(dy)
  h = 0.5 / jnp.maximum(sl(s2, i)[:, None] + sl(s2, j)[None, :], 1e-30)
  upper = jnp.arange(block)[:, None] < jnp.arange(block)[None, :]
  mask = jnp.where(i == j, upper, True).astype(y.dtype) * valid
  dr = sl(ry, i)[:, None] - sl(ry, j)[None, :]
  dp = sl(preds, i)[:, :, None] - sl(preds, j)[:, None, :]  # (M, B, B)
  dq = sl(rp, i)[:, :, None] - sl(rp, j)[:, None, :]
  per_model = jnp.stack([dy * dp, dp * dp, dr * dq, dq * dq, jnp.sign(dr) * jnp.sign(dq)], axis=1)
  values = jnp.concatenate([jnp.stack([jnp.ones_like(dy), dy * dy, dr * dr]),
                            per_model.reshape(-1, block, block)]) * mask
  values = jnp.swapaxes(values, 0, 1)  # (B rows, C, B columns)
  fi, fj = sl(factors, i).T, sl(factors, j)  # (B, K), (K, B)

  def row(r, c):
    g = jnp.exp(-((qd[:, None] - dist[r][None, :]) ** 2) * h[r][None, :]) * fj * fi[r][:, None]
    return _kahan(c, jnp.dot(g, values[r].T, precision=jax.lax.Precision.HIGHEST))

  return jax.lax.fori_loop(0, block, row, carry)


def _scan_tiles(carry, factors, qd, y, s2, preds, ry, rp, tiles, *, block):
  """Kahan-compensated sum of _tile over the (T, 3) array of (i, j, valid) tiles."""
  body_tile = jax.checkpoint(functools.partial(_tile, block=block))

  def body(c, t):
    return body_tile(c, factors, qd, y, s2, preds, ry, rp, t[0], t[1], t[2].astype(y.dtype)), None

  return jax.lax.scan(body, carry, tiles)[0]


def _dense_ranks(x: np.ndarray) -> np.ndarray:
  """Dense ranks 0, 1, 2, ... (ties share a rank), as ``jiqa.metrics.dense_ranks``.

  Written here so that the surface does not import ``jiqa.metrics`` (and with it
  ``scipy.stats``, ~0.5 s of the CLI's start-up).
  """
  return np.unique(x, return_inverse=True)[1].reshape(-1).astype(np.float64)


def _pair_tables(y, ry, preds, rp):
  """(C, N) tables a, b: pair value c of (i, j) is (a_i - a_j)(b_i - b_j) (see _block_values)."""
  zero = np.zeros_like(y)
  a, b = [zero, y, ry], [zero, y, ry]
  for p, q in zip(preds, rp):
    a += [y, p, ry, q, ry]
    b += [p, p, q, q, q]
  return np.stack(a), np.stack(b)


def _block_values(ta, tb, i, j, valid, *, block, dtype):
  """(B rows, C, B columns) masked pair values of block pair (i, j), in one elementwise pass.

  Column 0 counts pairs (1), each model's last column is ``sign(dr) sign(dq)``, the others
  ``(a_i - a_j)(b_i - b_j)``. Built from the (C, N) tables without concatenating C arrays
  (XLA:CPU emits a concatenation as a per-element select, several times slower).
  """
  sl = lambda a, b: jax.lax.dynamic_slice_in_dim(a, b * block, block, axis=-1)
  da = sl(ta, i).T[:, :, None] - sl(ta, j)[None, :, :]
  db = sl(tb, i).T[:, :, None] - sl(tb, j)[None, :, :]
  c = jnp.arange(ta.shape[0])[None, :, None]
  sign_col = (c >= _BASE) & ((c - _BASE) % _PER_MODEL == _PER_MODEL - 1)
  values = jnp.where(sign_col, jnp.sign(da) * jnp.sign(db), da * db) + (c == 0)
  upper = jnp.arange(block)[:, None] < jnp.arange(block)[None, :]
  mask = jnp.where(i == j, upper, True).astype(ta.dtype) * valid
  return (values * mask[:, None, :]).astype(dtype)


def _fast_tile(carry, factors, qd, y, s2, ta, tb, i, j, valid, *, block, rows, pair_dtype):
  """Kahan-add the (K, C) weighted pair sums of block pair (i, j) for all K points to carry.

  ``rows`` rows of block i per loop step: their (R, K, B) weights (``pair_dtype``) times the
  column factors, a batched (R, K, B) x (R, C, B) product, then the row factors (``dtype`` of
  ``factors``) and the sum over the R rows.
  """
  sl = lambda a, b: jax.lax.dynamic_slice_in_dim(a, b * block, block, axis=-1)
  wd = jnp.dtype(pair_dtype)
  nr = block // rows
  dist = jnp.abs(sl(y, i)[:, None] - sl(y, j)[None, :]).astype(wd).reshape(nr, rows, block)
  h = (0.5 / jnp.maximum(sl(s2, i)[:, None] + sl(s2, j)[None, :], 1e-30)).astype(wd)
  h = h.reshape(nr, rows, block)
  values = _block_values(ta, tb, i, j, valid, block=block, dtype=wd)
  values = values.reshape(nr, rows, values.shape[1], block)
  fi = sl(factors, i).T.reshape(nr, rows, -1)  # (nr, R, K)
  fj = sl(factors, j).astype(wd)  # (K, B)
  q = qd.astype(wd)

  def step(r, c):
    t = q[None, :, None] - dist[r][:, None, :]
    g = jnp.exp(-(t * t) * h[r][:, None, :]) * fj[None]  # (R, K, B)
    part = jax.lax.dot_general(g, values[r], (((2,), (2,)), ((0,), (0,))),
                               precision=jax.lax.Precision.HIGHEST, preferred_element_type=wd)
    return _kahan(c, jnp.sum(part.astype(fi.dtype) * fi[r][:, :, None], axis=0))

  return jax.lax.fori_loop(0, nr, step, carry)


def _rows_per_step(block: int, k: int) -> int:
  """Block rows per loop step: the largest power of two dividing ``block`` with rows x K <= 512.

  About 4 x 100 weights per pair column keep a step's arrays in cache; with few points more
  rows per step keep the loop's per-step cost from dominating (2 points: 128 rows).
  """
  rows = 1
  while block % (2 * rows) == 0 and 2 * rows * max(k, 1) <= 512:
    rows *= 2
  return rows


def _prepare(mos, predictions, std, weights, block, dtype):
  """Host-side padding, dense ranks, standardised predictions and pair-value tables."""
  y = np.asarray(mos, np.float64)
  preds = np.atleast_2d(np.asarray(predictions, np.float64))
  n = y.size
  padded = -(-n // block) * block
  pad = lambda a, v: np.concatenate([a, np.full(a.shape[:-1] + (padded - n,), v)], axis=-1)
  scaled = (preds - preds.mean(1, keepdims=True)) / preds.std(1, keepdims=True)
  ry = _dense_ranks(y)
  rp = np.stack([_dense_ranks(p) for p in preds])
  s = pad(np.asarray(std, np.float64), 1.0)
  ta, tb = _pair_tables(pad(y, 0.0), pad(ry, 0.0), pad(scaled, 0.0), pad(rp, 0.0))
  arrays = dict(y=pad(y, 0.0), s=s, s2=s * s, w=pad(np.asarray(weights, np.float64), 0.0), ta=ta, tb=tb)
  # Cast on the host: a device-side convert would be one more compiled program per run.
  return {k: jax.device_put(v.astype(dtype)) for k, v in arrays.items()}, padded // block


def _tile_list(num_blocks: int, chunk: int) -> np.ndarray:
  i, j = np.triu_indices(num_blocks)
  tiles = np.stack([i, j, np.ones_like(i)], axis=1).astype(np.int32)
  extra = -len(tiles) % chunk
  tiles = np.concatenate([tiles, np.zeros((extra, 3), np.int32)])
  return tiles.reshape(-1, chunk, 3)


def _device_tiles(num_blocks: int, devices: int, chunks: int) -> np.ndarray:
  """(chunks, devices, T, 3) block pairs (i, j, valid), dealt out to the devices in turn."""
  total = num_blocks * (num_blocks + 1) // 2
  per = -(-total // (devices * max(1, chunks)))  # tiles per device and chunk
  chunks = -(-total // (devices * per))
  tiles = _tile_list(num_blocks, devices * per * chunks).reshape(per * chunks, devices, 3)
  return np.ascontiguousarray(tiles.reshape(chunks, per, devices, 3).transpose(0, 2, 1, 3))


@jax.jit
def _row_factors(points, y, s, w):
  return jnp.exp(_log_row_factors(points, y, s, w))


@functools.partial(jax.jit, static_argnames=("block", "rows", "pair_dtype", "mesh"))
def _run_chunk(carry, factors, qd, y, s2, ta, tb, tiles, *, block, rows, pair_dtype, mesh):
  """Adds one chunk of block pairs to the (devices, K, C) accumulators (one row per device)."""
  tile = functools.partial(_fast_tile, block=block, rows=rows, pair_dtype=pair_dtype)

  def local(carry, factors, qd, y, s2, ta, tb, tiles):
    body = lambda c, t: (tile(c, factors, qd, y, s2, ta, tb, t[0], t[1], t[2].astype(y.dtype)), None)
    total, comp = jax.lax.scan(body, (carry[0][0], carry[1][0]), tiles[0])[0]
    return total[None], comp[None]

  if mesh is not None:
    ax = mesh.axis_names[0]
    local = jax.shard_map(local, mesh=mesh, in_specs=((P(ax), P(ax)),) + (P(),) * 6 + (P(ax),),
                          out_specs=(P(ax), P(ax)))
  return local(carry, factors, qd, y, s2, ta, tb, tiles)


def pair_sums(mos: jax.typing.ArrayLike, predictions: jax.typing.ArrayLike,
              points: jax.typing.ArrayLike, *, std: jax.typing.ArrayLike,
              weights: jax.typing.ArrayLike, block: int = 128, chunks: int = 16,
              mesh: jax.sharding.Mesh | None = None, progress: bool = False,
              dtype: str = "float64", pair_dtype: str = "float32") -> jax.Array:
  """(K, 3 + 5 M) weighted pair sums at K points for M prediction rows.

  Columns: sum W, sum W dy^2, sum W dr^2, then per model dy dp, dp^2, dr dq,
  dq^2, sign(dr) sign(dq) (r, q dense ranks of MOS and predictions; the
  predictions are standardised first, which no correlation notices).
  ``dtype`` is that of the row factors and accumulators, ``pair_dtype`` that of the
  pair weights and within-row products (module docstring); with a ``mesh`` the block
  pairs are spread over its first axis.

  Example:
    >>> y = np.linspace(1, 5, 20); s = np.full(20, 0.5)
    >>> pair_sums(y, y[None] ** 2, [[3.0, 1.0]], std=s, weights=np.ones(20)).shape
    (1, 8)
  """
  for name, value in (("dtype", dtype), ("pair_dtype", pair_dtype)):
    if value not in ("float32", "float64"):
      raise ValueError(f"{name} must be 'float32' or 'float64', got {value!r}.")
  with jax.enable_x64(dtype == "float64" or pair_dtype == "float64"):
    dt = jnp.dtype(dtype)
    arr, num_blocks = _prepare(mos, predictions, std, weights, block, dt)
    pts = np.asarray(points, np.float64).astype(dt)
    k = pts.shape[0]
    ndev = 1 if mesh is None else mesh.devices.size
    factors = _row_factors(jax.device_put(pts), arr["y"], arr["s"], arr["w"])
    groups = _device_tiles(num_blocks, ndev, chunks)
    cols = arr["ta"].shape[0]
    qd = jax.device_put(np.ascontiguousarray(pts[:, 1]))
    rest = (factors, qd, arr["y"], arr["s2"], arr["ta"], arr["tb"])
    put = jax.device_put
    if mesh is not None:  # block pairs (and one accumulator each) split over the mesh's first axis
      split = jax.sharding.NamedSharding(mesh, P(mesh.axis_names[0]))
      rest = jax.device_put(rest, jax.sharding.NamedSharding(mesh, P()))
      # Each device's rows put directly (device_put of a host array to a split sharding
      # compiles a slicing program).
      put = lambda a: jax.make_array_from_callback(a.shape, split, lambda idx: a[idx])
    carry = (put(np.zeros((ndev, k, cols), dt)), put(np.zeros((ndev, k, cols), dt)))
    it = groups
    if progress:
      from tqdm.auto import tqdm
      it = tqdm(groups, desc=f"GMC pairs (N={np.size(mos)}, {k} points)", unit="chunk")
    rows = _rows_per_step(block, k)
    for tiles in it:
      tiles = put(tiles)
      carry = _run_chunk(carry, *rest, tiles, block=block, rows=rows, pair_dtype=pair_dtype, mesh=mesh)
    # One device's row at a time: np.asarray of the whole sharded array would compile a gather.
    total, comp = (np.concatenate([np.asarray(s.data, np.float64) for s in c.addressable_shards])
                   for c in carry)
    return jax.device_put(np.sum(total - comp, axis=0).astype(dt))


def correlations_from_sums(sums: jax.typing.ArrayLike) -> dict[str, jax.Array]:
  """{'PLCC'|'SRCC'|'KRCC': (M, K)} from the (K, 3 + 5 M) output of ``pair_sums``.

  A numpy input is computed with numpy (numpy arrays out, no compiled program), anything
  else with ``jax.numpy`` (so it can be traced, as in ``plcc_surface``).

  Example:
    >>> sums = jnp.array([[2.0, 4.0, 4.0, 2.0, 1.0, 2.0, 1.0, 2.0]])
    >>> float(correlations_from_sums(sums)["PLCC"][0, 0])
    1.0
  """
  xp = np if isinstance(sums, np.ndarray) else jnp
  sums = xp.asarray(sums)
  per = sums[:, _BASE:].reshape(sums.shape[0], -1, _PER_MODEL)  # (K, M, 5)
  plcc = per[..., 0] / xp.sqrt(sums[:, 1:2] * per[..., 1])
  srcc = per[..., 2] / xp.sqrt(sums[:, 2:3] * per[..., 3])
  krcc = per[..., 4] / sums[:, 0:1]
  return {"PLCC": plcc.T, "SRCC": srcc.T, "KRCC": krcc.T}


def surface(mos: jax.typing.ArrayLike, predictions: Mapping[str, jax.typing.ArrayLike],
            points: jax.typing.ArrayLike, *, std: jax.typing.ArrayLike,
            weights: jax.typing.ArrayLike, methods: Sequence[str] = METHODS, **kwargs
            ) -> dict[str, dict[str, np.ndarray]]:
  """{model: {method: (K,) values}} of the weighted correlations at K points.

  Keyword arguments ``block``, ``chunks``, ``mesh``, ``progress``, ``dtype`` and
  ``pair_dtype`` go to ``pair_sums``.

  Example:
    >>> y = np.linspace(1, 5, 20); s = np.full(20, 0.5)
    >>> out = surface(y, {"sq": y ** 2}, [[3.0, 1.0]], std=s, weights=np.ones(20))
    >>> round(float(out["sq"]["KRCC"][0]), 6)
    1.0
  """
  names = list(predictions)
  stacked = np.stack([np.asarray(predictions[n], np.float64) for n in names])
  sums = pair_sums(mos, stacked, points, std=std, weights=weights, **kwargs)
  sums = np.asarray(sums)
  with np.errstate(divide="ignore", invalid="ignore"):  # zero-weight points: the error below
    corr = {m: np.asarray(v, np.float64) for m, v in correlations_from_sums(sums).items()}
  total = sums[:, 0]
  bad = ~np.isfinite(total) | (total <= 0)
  if np.any(bad):
    k = int(np.flatnonzero(bad)[0])
    raise ValueError(f"sample point {k} ({np.asarray(points)[k].tolist()}) has zero total pair "
                     "weight (no image has a non-zero std near that Q); choose points inside the data.")
  return {n: {m: corr[m][i] for m in methods} for i, n in enumerate(names)}


def plcc_surface(mos: jax.typing.ArrayLike, prediction: jax.typing.ArrayLike,
                 points: jax.typing.ArrayLike, *, std: jax.typing.ArrayLike,
                 weights: jax.typing.ArrayLike, block: int = 64) -> jax.Array:
  """(K,) weighted PLCC at K points; pure, jit-able and differentiable in ``prediction``.

  Usable as a training objective (maximise the mean). Runs in the caller's
  dtype (wrap in ``jax.enable_x64()`` for float64). N must be a multiple of
  ``block`` or is padded here with zero-weight rows.

  Example:
    >>> y = jnp.linspace(1.0, 5.0, 16); s = jnp.full(16, 0.5)
    >>> g = jax.grad(lambda p: plcc_surface(y, p, jnp.array([[3.0, 1.0]]), std=s,
    ...                                     weights=jnp.ones(16), block=8).mean())(y ** 2)
    >>> bool(jnp.all(jnp.isfinite(g)))
    True
  """
  y = jnp.asarray(mos)
  p = jnp.asarray(prediction, y.dtype)
  n = y.shape[0]
  padded = -(-n // block) * block
  pad = lambda a, v: jnp.concatenate([a, jnp.full((padded - n,), v, a.dtype)])
  y, s, w, p = pad(y, 0.0), pad(jnp.asarray(std, y.dtype), 1.0), pad(jnp.asarray(weights, y.dtype), 0.0), pad(p, 0.0)
  pts = jnp.asarray(points, y.dtype)
  factors = jnp.exp(_log_row_factors(pts, y, s, w))
  num_blocks = padded // block
  tiles = jnp.asarray(_tile_list(num_blocks, 1).reshape(-1, 3))
  zeros = jnp.zeros((pts.shape[0], _BASE + _PER_MODEL), y.dtype)
  ranks = jnp.zeros_like(y)
  sums, _ = _scan_tiles((zeros, zeros), factors, pts[:, 1], y, s * s, p[None], ranks, ranks[None],
                        tiles, block=block)
  return correlations_from_sums(sums)["PLCC"][0]
