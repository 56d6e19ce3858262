"""Two-component PCA of both prompts' token activations in one block, with arrows between compared rows."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from optipfair_desktop.engine.bias.alignment import TokenAlignment, check_mode, comparison_rows, row_labels


@dataclass
class PcaView:
    """Token activations of both prompts projected on their first two principal components."""

    points_a: np.ndarray  # [tokens_a, 2]
    points_b: np.ndarray  # [tokens_b, 2]
    arrow_starts: np.ndarray  # [rows, 2] projected compared row of prompt A
    arrow_ends: np.ndarray  # [rows, 2] projected compared row of prompt B
    arrow_labels: list[str]
    explained_variance_ratio: tuple[float, float]
    mode: str


def project_pair(activations_a: np.ndarray, activations_b: np.ndarray, alignment: TokenAlignment, mode: str) -> PcaView:
    """Fit PCA on the tokens of both prompts ([tokens, dim] each) and project tokens and compared rows."""
    check_mode(mode)
    data = np.concatenate([activations_a, activations_b]).astype(np.float64)
    center = data.mean(axis=0)
    # Rows of vt are the principal directions; singular values give the variance per direction.
    _, singular_values, vt = np.linalg.svd(data - center, full_matrices=False)
    components = vt[:2]
    if components.shape[0] < 2:
        components = np.vstack([components, np.zeros((2 - components.shape[0], data.shape[1]))])
    variance = np.square(singular_values)
    total = variance.sum()
    ratios = [float(v / total) if total > 0 else 0.0 for v in variance[:2]] + [0.0, 0.0]

    def project(rows: np.ndarray) -> np.ndarray:
        return (rows.astype(np.float64) - center) @ components.T

    rows_a, rows_b = comparison_rows(activations_a, activations_b, alignment, mode)
    return PcaView(
        points_a=project(activations_a),
        points_b=project(activations_b),
        arrow_starts=project(rows_a),
        arrow_ends=project(rows_b),
        arrow_labels=row_labels(alignment, mode),
        explained_variance_ratio=(ratios[0], ratios[1]),
        mode=mode,
    )
