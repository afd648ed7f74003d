"""GMC pictures: a static PNG (matplotlib) and an interactive offline HTML (plotly).

Both take the result of ``jiqa.gmc.evaluate`` (or the CLI's JSON), refit each
model's surface on a grid from its stored bandwidth, and overlay all models
over (Q, Qd), one panel per method, with the GMC score in the legend.
"""

from __future__ import annotations

import pathlib

import numpy as np

from jiqa.gmc import fit

__all__ = ["save_png", "save_html", "surface_grid"]

_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
           "#17becf", "#bcbd22", "#7f7f7f")


def surface_grid(result: dict, model: str, method: str, *, size: int = 40
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """(Q, Qd, Z) mesh arrays of one model's fitted surface, from its stored bandwidth.

  Example:
    >>> # q, qd, z = surface_grid(result, "psnr", "PLCC")  # each (size, size)
  """
  entry = result["models"][model][method]
  pts = np.asarray(entry["points"], np.float64)
  lo, hi = result["mos_range"]
  z, _ = fit.fit_surface(pts[:, :2], pts[:, 2], (lo, hi), size=size, bandwidth=entry["bandwidth"])
  q, qd = fit.grid((lo, hi), size)
  qq, dd = np.meshgrid(q, qd)
  return qq, dd, z


def _methods(result: dict) -> list[str]:
  return [m for m in result.get("methods", ("PLCC", "SRCC", "KRCC"))
          if all(m in e for e in result["models"].values())]


def save_png(result: dict, path: str | pathlib.Path, *, size: int = 40, title: str | None = None) -> None:
  """Writes all models' fitted surfaces, one 3D panel per method, to a PNG.

  Example:
    >>> # save_png(jiqa.gmc.evaluate(mos, preds, std=std), "gmc.png")
  """
  import matplotlib

  matplotlib.use("Agg", force=False)
  import matplotlib.pyplot as plt
  from matplotlib.patches import Patch

  methods, models = _methods(result), list(result["models"])
  fig = plt.figure(figsize=(6.2 * len(methods), 6.4), dpi=110)
  for col, method in enumerate(methods):
    ax = fig.add_subplot(1, len(methods), col + 1, projection="3d")
    handles = []
    order = sorted(models, key=lambda m: result["models"][m][method]["gmc"])
    for name in order:
      color = _COLORS[models.index(name) % len(_COLORS)]
      qq, dd, z = surface_grid(result, name, method, size=size)
      ax.plot_surface(qq, dd, z, color=color, alpha=0.55, linewidth=0.2, edgecolor=color,
                      rstride=2, cstride=2, shade=True)
      handles.append(Patch(color=color, label=f"{name}  {result['models'][name][method]['gmc']:.3f}"))
    ax.set_xlabel("Q (quality level)")
    ax.set_ylabel("Qd (granularity)")
    ax.set_zlabel(method)
    ax.view_init(elev=22, azim=-128)
    ax.set_title(f"{method} surface", fontsize=13)
    ax.legend(handles=handles[::-1], title="model  GMC", loc="upper left", fontsize=8,
              title_fontsize=9, framealpha=0.85)
  fig.suptitle(title or f"Granularity-Modulated Correlation ({result.get('num_images', '?')} images, "
               f"{len(result['samples'])} sample points)", fontsize=14, y=1.03)
  fig.tight_layout()
  fig.savefig(path, bbox_inches="tight", format="png")  # exactly `path`, whatever its suffix
  plt.close(fig)


def save_html(result: dict, path: str | pathlib.Path, *, size: int = 40, title: str | None = None) -> None:
  """Writes interactive plotly surfaces (all models overlaid, one scene per method), offline.

  Example:
    >>> # save_html(jiqa.gmc.evaluate(mos, preds, std=std), "gmc.html")
  """
  import plotly.graph_objects as go
  from plotly.subplots import make_subplots

  methods, models = _methods(result), list(result["models"])
  fig = make_subplots(rows=1, cols=len(methods), specs=[[{"type": "scene"}] * len(methods)],
                      subplot_titles=[f"{m} surface" for m in methods], horizontal_spacing=0.02)
  for col, method in enumerate(methods):
    for k, name in enumerate(models):
      color = _COLORS[k % len(_COLORS)]
      qq, dd, z = surface_grid(result, name, method, size=size)
      gmc = result["models"][name][method]["gmc"]
      fig.add_trace(go.Surface(x=qq, y=dd, z=z, colorscale=[[0, color], [1, color]], showscale=False,
                               opacity=0.65, name=f"{name} (GMC {gmc:.3f})", legendgroup=name,
                               showlegend=col == 0,
                               hovertemplate=f"{name}<br>Q=%{{x:.3f}}<br>Qd=%{{y:.3f}}<br>{method}=%{{z:.4f}}<extra></extra>"),
                    row=1, col=col + 1)
      pts = np.asarray(result["models"][name][method]["points"])
      fig.add_trace(go.Scatter3d(x=pts[:, 0], y=pts[:, 1], z=pts[:, 2], mode="markers",
                                 marker=dict(size=2, color=color), name=f"{name} samples",
                                 legendgroup=name, showlegend=False, visible=True),
                    row=1, col=col + 1)
    scene = "scene" if col == 0 else f"scene{col + 1}"
    fig.layout[scene].update(xaxis_title="Q", yaxis_title="Qd", zaxis_title=method)
  fig.update_layout(title=title or f"GMC surfaces ({result.get('num_images', '?')} images)",
                    height=620, width=560 * len(methods), legend=dict(title="model (click to toggle)"))
  fig.write_html(str(path), include_plotlyjs=True, full_html=True)
