"""Read a model's block stack from config.json and safetensors headers, without loading weights.

A safetensors file starts with an 8-byte little-endian header length and a JSON header that
lists every tensor's dtype and shape. Parameter counts and MLP widths are therefore known after
reading a few kilobytes, which is why opening the demo takes milliseconds.
"""

from __future__ import annotations

import json
import logging
import re
import struct
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)

# Model types whose decoder blocks live in ``model.layers`` with a gate/up/down MLP.
KNOWN_GLU_MODEL_TYPES = (
    "llama", "mistral", "qwen2", "qwen3", "gemma", "gemma2", "gemma3_text",
)
SUPPORTED_DESCRIPTION = "Llama, Mistral, Qwen2, Qwen3, Gemma, Gemma2, Gemma3 (text) and other models with " \
    "decoder blocks in model.layers and a gate_proj/up_proj/down_proj MLP"

DTYPE_BYTES = {
    "F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1,
    "F8_E4M3": 1, "F8_E5M2": 1,
}
SAFETENSORS_TO_TORCH_DTYPE = {"F32": "float32", "F16": "float16", "BF16": "bfloat16", "F64": "float64"}

_BLOCK_KEY = re.compile(r"^model\.layers\.(\d+)\.(.+)$")


@dataclass(frozen=True)
class TensorInfo:
    name: str
    dtype: str  # safetensors dtype code, for example "BF16"
    shape: tuple[int, ...]

    @property
    def numel(self) -> int:
        count = 1
        for size in self.shape:
            count *= size
        return count

    @property
    def nbytes(self) -> int:
        return self.numel * DTYPE_BYTES.get(self.dtype, 4)


@dataclass(frozen=True)
class BlockInfo:
    """One decoder block as the diagram shows it."""

    block_idx: int
    params: int
    attention_params: int
    mlp_params: int
    intermediate_size: int | None
    expansion_rate: float | None  # intermediate_size / hidden_size, in percent
    num_attention_heads: int | None
    num_key_value_heads: int | None
    layer_type: str | None


@dataclass(frozen=True)
class ModelStructure:
    """Everything the diagram and the plan checks need, read without loading weights."""

    folder: Path
    model_type: str
    architecture: str
    hidden_size: int
    vocab_size: int
    blocks: tuple[BlockInfo, ...]
    non_block_params: int
    tie_word_embeddings: bool
    dtype: str  # torch dtype name of the weights, for example "bfloat16"
    bytes_per_param: int
    has_glu_mlp: bool
    mlp_has_bias: bool
    config: dict = field(repr=False)

    @property
    def num_blocks(self) -> int:
        return len(self.blocks)

    @property
    def total_params(self) -> int:
        return self.non_block_params + sum(block.params for block in self.blocks)

    @property
    def size_bytes(self) -> int:
        return self.total_params * self.bytes_per_param

    def identity(self) -> dict:
        """Shape facts that a pruning plan must match before it may be applied."""
        return {
            "name": self.config.get("_name_or_path") or self.folder.name,
            "model_type": self.model_type,
            "num_hidden_layers": self.num_blocks,
            "hidden_size": self.hidden_size,
            "intermediate_sizes": sorted({b.intermediate_size for b in self.blocks if b.intermediate_size}),
            "vocab_size": self.vocab_size,
        }


def read_safetensors_header(path: Path) -> dict[str, TensorInfo]:
    with open(path, "rb") as handle:
        prefix = handle.read(8)
        if len(prefix) < 8:
            raise ValueError(f"{path} is shorter than 8 bytes, so it is not a valid safetensors file.")
        (length,) = struct.unpack("<Q", prefix)
        if length > 100 * 1024 * 1024:
            raise ValueError(f"{path} has a {length}-byte header, so it is not a valid safetensors file.")
        try:
            header = json.loads(handle.read(length))
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise ValueError(f"{path} has a damaged header ({error}); the file is truncated or not safetensors.") from error
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        tensors[name] = TensorInfo(name, entry["dtype"], tuple(entry["shape"]))
    return tensors


def read_tensor_index(folder: Path) -> dict[str, TensorInfo]:
    """Read every tensor's dtype and shape from the folder's safetensors files (sharded or not)."""
    files = sorted(folder.glob("*.safetensors"))
    if not files:
        raise ValueError(f"{folder} has no .safetensors files.")
    tensors: dict[str, TensorInfo] = {}
    for path in files:
        tensors.update(read_safetensors_header(path))
    return tensors


def _text_config(config: dict) -> dict:
    # Multimodal wrappers keep the language model's settings in text_config.
    if "text_config" in config and "num_hidden_layers" not in config:
        return config["text_config"]
    return config


def unsupported_reason(config: dict, tensors: dict[str, TensorInfo]) -> str | None:
    """Return why the model cannot be pruned here, or None when it can."""
    model_type = config.get("model_type", "unknown")
    if not any(_BLOCK_KEY.match(name) for name in tensors):
        glu_note = "It has no gate_proj/up_proj/down_proj MLP, so width pruning is not possible either." \
            if not any(name.endswith("mlp.gate_proj.weight") for name in tensors) else ""
        return (
            f"Model type '{model_type}' keeps its blocks outside model.layers (for example GPT-2 uses "
            f"transformer.h with a c_fc/c_proj MLP). Depth pruning is offered only for models whose "
            f"blocks are in model.layers, and width pruning needs a GLU MLP. {glu_note} "
            f"Supported: {SUPPORTED_DESCRIPTION}."
        ).strip()
    return None


def read_structure(folder: Path | str) -> ModelStructure:
    """Build the block table of the model in ``folder`` from its config and tensor headers."""
    folder = Path(folder)
    config_path = folder / "config.json"
    if not config_path.is_file():
        raise ValueError(f"{folder} has no config.json, so it is not a Hugging Face model folder.")
    try:
        config = _text_config(json.loads(config_path.read_text()))
    except json.JSONDecodeError as error:
        raise ValueError(f"{config_path} is not valid JSON ({error}); repair or replace the file.") from error
    tensors = read_tensor_index(folder)

    reason = unsupported_reason(config, tensors)
    if reason:
        raise ValueError(reason)

    hidden_size = int(config["hidden_size"])
    num_heads = config.get("num_attention_heads")
    num_kv_heads = config.get("num_key_value_heads", num_heads)
    layer_types = config.get("layer_types")

    per_block: dict[int, list[TensorInfo]] = {}
    non_block = 0
    for name, info in tensors.items():
        match = _BLOCK_KEY.match(name)
        if match:
            per_block.setdefault(int(match.group(1)), []).append(info)
        else:
            non_block += info.numel

    num_blocks = int(config.get("num_hidden_layers", len(per_block)))
    if sorted(per_block) != list(range(num_blocks)):
        raise ValueError(
            f"{folder}: config.json sets num_hidden_layers to {num_blocks} but the weights contain blocks "
            f"{sorted(per_block)[:8]}...; the checkpoint is inconsistent."
        )

    blocks = []
    all_glu = True
    mlp_bias = False
    for block_idx in range(num_blocks):
        infos = per_block[block_idx]
        by_suffix = {_BLOCK_KEY.match(info.name).group(2): info for info in infos}
        gate = by_suffix.get("mlp.gate_proj.weight")
        glu = gate is not None and "mlp.up_proj.weight" in by_suffix and "mlp.down_proj.weight" in by_suffix
        all_glu = all_glu and glu
        mlp_bias = mlp_bias or "mlp.gate_proj.bias" in by_suffix
        width = gate.shape[0] if glu else None
        attention = sum(i.numel for suffix, i in by_suffix.items() if suffix.startswith("self_attn."))
        mlp = sum(i.numel for suffix, i in by_suffix.items() if suffix.startswith("mlp."))
        blocks.append(BlockInfo(
            block_idx=block_idx,
            params=sum(i.numel for i in infos),
            attention_params=attention,
            mlp_params=mlp,
            intermediate_size=width,
            expansion_rate=100.0 * width / hidden_size if width else None,
            num_attention_heads=num_heads,
            num_key_value_heads=num_kv_heads,
            layer_type=layer_types[block_idx] if layer_types and block_idx < len(layer_types) else None,
        ))

    weight_dtypes = [info.dtype for info in tensors.values() if len(info.shape) == 2]
    main_dtype = max(set(weight_dtypes), key=weight_dtypes.count)
    architectures = config.get("architectures") or [config.get("model_type", "unknown")]
    return ModelStructure(
        folder=folder,
        model_type=config.get("model_type", "unknown"),
        architecture=architectures[0],
        hidden_size=hidden_size,
        vocab_size=int(config.get("vocab_size", 0)),
        blocks=tuple(blocks),
        non_block_params=non_block,
        tie_word_embeddings=bool(config.get("tie_word_embeddings", "lm_head.weight" not in tensors)),
        dtype=SAFETENSORS_TO_TORCH_DTYPE.get(main_dtype, main_dtype.lower()),
        bytes_per_param=DTYPE_BYTES.get(main_dtype, 4),
        has_glu_mlp=all_glu,
        mlp_has_bias=mlp_bias,
        config=config,
    )
