"""Run a model as if some of its blocks were removed, without touching any weight."""

from __future__ import annotations

import contextlib
import logging
from typing import Iterable, Iterator

from torch import nn

from optipfair_desktop.engine.model_access import decoder_layers
from optipfair_desktop.engine.scoped_hooks import ScopedHooks

logger = logging.getLogger(__name__)


def _return_input(module: nn.Module, args: tuple, kwargs: dict, output):
    hidden_in = args[0] if args else kwargs["hidden_states"]
    if isinstance(output, tuple):
        return (hidden_in,) + tuple(output[1:])
    return hidden_in


@contextlib.contextmanager
def skip_blocks(model: nn.Module, block_indices: Iterable[int]) -> Iterator[nn.Module]:
    """Within the ``with`` body, forward passes of this thread skip the given blocks.

    A skipped block hands its input hidden states on unchanged, as if it had been removed: every
    other block keeps its weights, its position and its own attention type. Forward passes of
    other threads on the same model are not affected, and nothing is left behind on exit.
    Only a forward pass without a KV cache is supported inside the body.

    NOTE: a skipped block is still computed and its output dropped, which costs one block's time;
    swapping ``layers`` would avoid that but would show the shortened model to every thread.
    """
    layers = decoder_layers(model)
    skipped = sorted(set(int(index) for index in block_indices))
    num_blocks = len(layers)
    invalid = [index for index in skipped if not 0 <= index < num_blocks]
    if invalid:
        raise ValueError(f"block indices {invalid} are out of range; the model has blocks 0 to {num_blocks - 1}")
    if len(skipped) >= num_blocks:
        raise ValueError(f"cannot skip all {num_blocks} blocks; keep at least one")

    with ScopedHooks() as hooks:
        for index in skipped:
            hooks.add_forward(layers[index], _return_input, with_kwargs=True)
        yield model
