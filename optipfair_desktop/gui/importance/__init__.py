"""Importance panel: block scores, neuron-pair scores and the choice of blocks to remove."""
