"""Metrics: correlation statistics (and full-reference image metrics)."""

from jiqa.metrics.correlation import average_ranks, dense_ranks, krcc, plcc, srcc

__all__ = ["plcc", "srcc", "krcc", "average_ranks", "dense_ranks"]
from jiqa.metrics.full_reference import gmsd, ms_ssim, psnr, ssim
