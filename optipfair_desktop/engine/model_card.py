"""Write the README model card of a saved checkpoint: where it came from and how it was cut."""

from __future__ import annotations

from pathlib import Path

from optipfair_desktop import __version__
from optipfair_desktop.engine.plan import PruningPlan


def _millions(count: int) -> str:
    return f"{count / 1e6:.2f} M"


def _megabytes(count: int) -> str:
    return f"{count / 1e6:.1f} MB"


def write_model_card(path: Path, plan: PruningPlan, facts: dict) -> None:
    """Write ``path`` from the plan and ``facts`` (source, params and bytes before and after)."""
    width_lines = []
    if plan.width is not None:
        width_lines.append(f"- Width target for all blocks: {plan.width.describe()}")
    for block_idx, target in sorted(plan.block_overrides.items()):
        width_lines.append(f"- Block {block_idx}: {target.describe()}")
    if plan.neuron_scores:
        width_lines.append(f"- Custom neuron scores (for example fairness-aware) for blocks {sorted(plan.neuron_scores)}")
    if not width_lines:
        width_lines.append("- No width pruning")

    width_method = ""
    if plan.has_width_cut:
        width_method = (
            f"- MLP width (intermediate_size): {facts.get('width_before', '?')} \u2192 {facts.get('width_after', '?')}\n"
            f"- Neuron-pair criterion: {plan.method}; width divisor: {plan.divisor or 'none'}\n"
        )
    padding = facts.get("padding_params", 0)
    padding_line = (
        f"\nBlocks were cut to different widths; narrower MLPs are padded with {_millions(padding)} zero "
        "parameters up to the widest, because transformers stores one `intermediate_size` for all "
        "blocks. The padding changes no output.\n" if padding else ""
    )
    removed = ", ".join(str(i) for i in plan.remove_blocks)
    depth_line = f"removed blocks {removed} (numbered as in the source model)" if removed else "no blocks removed"
    text = f"""---
library_name: transformers
tags:
- pruned
- optipfair-desktop
---

# {facts.get('output_name', 'Pruned model')}

Pruned from **{facts.get('source_name', 'unknown source')}** with OptiPFair Desktop {__version__}.

| | before | after |
|---|---|---|
| blocks | {facts.get('blocks_before')} | {facts.get('blocks_after')} |
| parameters | {_millions(facts.get('params_before', 0))} | {_millions(facts.get('params_after', 0))} |
| weight dtype | {facts.get('dtype', '?')} | {facts.get('dtype_after', facts.get('dtype', '?'))} |
| weights on disk | {_megabytes(facts.get('bytes_before', 0))} | {_megabytes(facts.get('bytes_after', 0))} |

## How it was made

- Depth pruning: {depth_line}
{chr(10).join(width_lines)}
{width_method}{padding_line}
The full plan is in `pruning_plan.json`; OptiPFair Desktop can apply it again to the source model.
After saving, the checkpoint was reloaded with `AutoModelForCausalLM.from_pretrained` and gave
the same logits as the pruned model in memory.

## Use

```python
from transformers import AutoModelForCausalLM, AutoTokenizer
model = AutoModelForCausalLM.from_pretrained("path/to/this/folder")
tokenizer = AutoTokenizer.from_pretrained("path/to/this/folder")
```

Pruned models usually lose quality; measure perplexity and task accuracy before shipping, and
consider a short recovery fine-tune or distillation.
"""
    path.write_text(text)
