"""OptiPFair Desktop: depth, width and bias pruning of small causal language models."""

__version__ = "0.1.0"
