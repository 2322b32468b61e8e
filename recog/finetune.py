"""Initialise a model from another one (``recog train --init MODEL``).

Every parameter whose name and shape match is copied.  When the symbol tables differ the output
layer is re-initialised, except that rows of symbols both tables share are carried over.
"""

from __future__ import annotations

from pathlib import Path

import torch

from .checkpoint import load_file
from .tokens import SymbolTable


def load_encoder(model: torch.nn.Module, path: str | Path, symbols: SymbolTable, log=print) -> None:
    src = load_file(path)
    src_syms = SymbolTable(src["symbols"], src["unit"])
    state = model.state_dict()
    copied, skipped = 0, []
    for k, v in src["state_dict"].items():
        if k.startswith("output."):
            continue
        if k in state and state[k].shape == v.shape:
            state[k] = v.clone()
            copied += 1
        else:
            skipped.append(k)
    out_w, out_b = src["state_dict"]["output.weight"], src["state_dict"]["output.bias"]
    if src_syms == symbols and state["output.weight"].shape == out_w.shape:
        state["output.weight"], state["output.bias"] = out_w.clone(), out_b.clone()
        shared = len(symbols)
    else:
        shared = 0
        if state["output.weight"].shape[1] == out_w.shape[1]:
            for i, s in enumerate(symbols.symbols):
                j = src_syms.index.get(s)
                if j is not None:
                    state["output.weight"][i] = out_w[j]
                    state["output.bias"][i] = out_b[j]
                    shared += 1
    model.load_state_dict(state)
    log(f"initialised from {path}: {copied} tensors copied, {len(skipped)} skipped"
        f"{' (' + ', '.join(skipped[:5]) + ')' if skipped else ''}; output rows for {shared} of {len(symbols)} symbols kept")
