"""Parameter counts, weight bytes and checkpoint sizes of a model."""

from __future__ import annotations

from pathlib import Path

from torch import nn


def count_parameters(model: nn.Module) -> int:
    """Count parameters, a tied embedding and LM head once."""
    return sum(parameter.numel() for parameter in model.parameters())


def weight_bytes(model: nn.Module) -> int:
    """Bytes of all parameters at their current dtype, a tied embedding and LM head once."""
    return sum(parameter.numel() * parameter.element_size() for parameter in model.parameters())


def checkpoint_bytes(folder: str | Path) -> int:
    """Total size of the ``.safetensors`` files in a checkpoint folder."""
    folder = Path(folder)
    files = sorted(folder.glob("*.safetensors"))
    if not files:
        raise ValueError(f"{folder} has no .safetensors files, so its checkpoint size is unknown.")
    return sum(path.stat().st_size for path in files)


def _embedding_weights(model: nn.Module):
    input_embeddings = model.get_input_embeddings() if hasattr(model, "get_input_embeddings") else None
    output_embeddings = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    input_weight = getattr(input_embeddings, "weight", None)
    output_weight = getattr(output_embeddings, "weight", None)
    return input_weight, output_weight


def bytes_read_per_token(model: nn.Module) -> int:
    """Weight bytes that one batch-1 decode step reads.

    Every parameter is read in full once per token, except the input embedding: its lookup
    reads one row. The LM head multiplies by its whole matrix every token, so a head tied to
    the input embedding counts once, in full. Buffers (for example rotary frequencies) and
    the KV cache are left out.
    """
    total = weight_bytes(model)
    input_weight, output_weight = _embedding_weights(model)
    if input_weight is None:
        return total

    tied = output_weight is not None and output_weight.data_ptr() == input_weight.data_ptr()
    if tied:
        return total
    row_bytes = input_weight.shape[-1] * input_weight.element_size()
    return total - input_weight.numel() * input_weight.element_size() + row_bytes
