"""Find the decoder blocks and GLU MLPs inside a loaded transformers causal LM."""

from __future__ import annotations

from torch import nn

GLU_PROJECTIONS = ("gate_proj", "up_proj", "down_proj")


def decoder_model(model: nn.Module) -> nn.Module:
    """Return the base model that owns ``layers``, ``embed_tokens`` and ``norm``."""
    base = getattr(model, "model", None)
    if base is not None and isinstance(getattr(base, "layers", None), nn.ModuleList):
        return base
    if isinstance(getattr(model, "layers", None), nn.ModuleList):
        return model
    raise ValueError(
        f"{type(model).__name__} has no 'model.layers' list of decoder blocks; "
        "supported are Llama-style causal LMs (Llama, Mistral, Qwen2, Qwen3, Gemma, Gemma2, Gemma3)."
    )


def decoder_layers(model: nn.Module) -> nn.ModuleList:
    """Return the ``nn.ModuleList`` of decoder blocks, indexed by ``block_idx``."""
    return decoder_model(model).layers


def has_glu_mlp(block: nn.Module) -> bool:
    mlp = getattr(block, "mlp", None)
    return mlp is not None and all(isinstance(getattr(mlp, name, None), nn.Linear) for name in GLU_PROJECTIONS)


def glu_mlp(block: nn.Module) -> nn.Module:
    """Return the block's MLP after checking it has gate_proj, up_proj and down_proj."""
    if not has_glu_mlp(block):
        raise ValueError(
            f"{type(block).__name__} has no GLU MLP (gate_proj, up_proj, down_proj); width pruning needs one."
        )
    return block.mlp


def model_device(model: nn.Module):
    return next(model.parameters()).device
