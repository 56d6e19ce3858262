"""The bias lab: prompt pairs, where their activations diverge, fairness-aware width cuts and before/after checks."""

from optipfair_desktop.gui.bias.panel import BiasPanel

__all__ = ["BiasPanel"]
