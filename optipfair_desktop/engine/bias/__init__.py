"""Bias analysis: where two prompts that differ only in a protected attribute diverge inside a model.

Modules, in the order the work flows:

* ``pairs``, ``pair_files``: prompt pairs, the template generator, CSV and JSON files,
* ``alignment``: token alignment and the comparison modes,
* ``capture``, ``metrics``, ``noise``: activations per block, their differences, the noise floor,
* ``analysis``: the long job over all pairs, and ``pca`` for one block,
* ``fairness``: per-neuron scores and the plan change, ``ablation``: generation preview,
* ``compare``: the same pairs on a pruned model (before vs after).
"""

from optipfair_desktop.engine.bias.ablation import AblationPreview, ablation_preview, zeroed_neurons
from optipfair_desktop.engine.bias.alignment import COMPARISON_MODES, AlignedPosition, TokenAlignment, align_tokens
from optipfair_desktop.engine.bias.analysis import BiasAnalysis, PairAnalysis, analyze_pairs
from optipfair_desktop.engine.bias.capture import COMPONENTS, capture_activations
from optipfair_desktop.engine.bias.compare import BiasComparison, compare_with_checkpoint, compare_with_pruned
from optipfair_desktop.engine.bias.fairness import (
    FairnessScores,
    fairness_scores,
    model_fairness_scores,
    neuron_bias_scores,
    neurons_to_prune,
    plan_with_fairness_cut,
)
from optipfair_desktop.engine.bias.noise import NoiseFloor
from optipfair_desktop.engine.bias.pair_files import load_pairs, save_pairs
from optipfair_desktop.engine.bias.pairs import PromptPair, attribute_categories, default_pairs, generate_pairs
from optipfair_desktop.engine.bias.pca import PcaView, project_pair

__all__ = [
    "AblationPreview",
    "AlignedPosition",
    "BiasAnalysis",
    "BiasComparison",
    "COMPARISON_MODES",
    "COMPONENTS",
    "FairnessScores",
    "NoiseFloor",
    "PairAnalysis",
    "PcaView",
    "PromptPair",
    "TokenAlignment",
    "ablation_preview",
    "align_tokens",
    "analyze_pairs",
    "attribute_categories",
    "capture_activations",
    "compare_with_checkpoint",
    "compare_with_pruned",
    "default_pairs",
    "fairness_scores",
    "generate_pairs",
    "load_pairs",
    "model_fairness_scores",
    "neuron_bias_scores",
    "neurons_to_prune",
    "plan_with_fairness_cut",
    "project_pair",
    "save_pairs",
    "zeroed_neurons",
]
