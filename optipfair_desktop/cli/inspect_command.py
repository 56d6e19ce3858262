"""``optipfair-desktop inspect MODEL``: print the block table without loading weights."""

from __future__ import annotations

import dataclasses
import json

from optipfair_desktop.cli.common import add_model_argument, open_model_source
from optipfair_desktop.engine.structure import read_structure


def register(subparsers) -> None:
    parser = subparsers.add_parser("inspect", help="print the block table of a model")
    add_model_argument(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object per block")
    parser.set_defaults(run=run)


def run(args) -> int:
    source = open_model_source(args.model, quiet=args.json)
    structure = read_structure(source.folder)
    if args.json:
        blocks = [
            {"index": b.block_idx, **{k: v for k, v in dataclasses.asdict(b).items() if k != "block_idx"}}
            for b in structure.blocks
        ]
        print(json.dumps(blocks, indent=2))
        return 0
    print(f"{source.name}: {structure.architecture}, {structure.num_blocks} blocks, hidden_size "
          f"{structure.hidden_size}, {structure.total_params / 1e6:.2f} M parameters, {structure.dtype}, "
          f"{structure.size_bytes / 1e6:.1f} MB")
    print(f"{'block':>5} {'params':>10} {'mlp width':>9} {'expansion':>9} {'heads':>7}  layer type")
    for b in structure.blocks:
        rate = f"{b.expansion_rate:.1f}%" if b.expansion_rate else "-"
        heads = f"{b.num_attention_heads}/{b.num_key_value_heads}"
        print(f"{b.block_idx:>5} {b.params:>10,} {b.intermediate_size or '-':>9} {rate:>9} {heads:>7}  {b.layer_type or ''}")
    return 0
