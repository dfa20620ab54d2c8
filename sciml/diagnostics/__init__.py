"""Training diagnostics as trainer callbacks (they write into the run directory)."""

from sciml.diagnostics.grad_hist import GradientHistograms

__all__ = ["GradientHistograms"]
