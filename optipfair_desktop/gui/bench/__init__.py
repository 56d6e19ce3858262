"""Benchmark panel: speed, memory and perplexity of the original against pruned models."""
